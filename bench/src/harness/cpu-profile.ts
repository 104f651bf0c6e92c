// Reads the .cpuprofile files `node --cpu-prof` wrote and lists the functions with the most
// self time: where a hot path spends its CPU, in a form that fits a README.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { repoRoot } from './processes';
import type { MonotonicWindow } from './requests';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  /** Monotonic clock, µs; sample i was taken at startTime + timeDeltas[0] + … + timeDeltas[i]. */
  startTime?: number;
  timeDeltas?: number[];
}

/** A profile narrowed to the samples taken within `window` (e.g. a load run's measured part). */
export function withinWindow(profile: CpuProfile, window: MonotonicWindow | undefined): CpuProfile {
  if (!window || profile.startTime === undefined || !profile.timeDeltas) return profile;
  let at = profile.startTime;
  const samples = profile.samples.filter((_, index) => {
    at += profile.timeDeltas![index] ?? 0;
    return at >= window.fromMicros && at <= window.toMicros;
  });
  return { nodes: profile.nodes, samples };
}

/** Self time by function (`name (file:line)`), as percentages of all samples, largest first. */
export function selfTimeByFunction(profile: CpuProfile): Array<{ frame: string; percent: number }> {
  const counts = new Map<number, number>();
  for (const sample of profile.samples) counts.set(sample, (counts.get(sample) ?? 0) + 1);
  const byFrame = new Map<string, number>();
  for (const node of profile.nodes) {
    const hits = counts.get(node.id) ?? 0;
    if (hits === 0) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const file = url.startsWith('file://') ? relative(repoRoot, new URL(url).pathname) : url || 'native';
    const frame = `${functionName || '(anonymous)'} (${file}:${lineNumber + 1})`;
    byFrame.set(frame, (byFrame.get(frame) ?? 0) + hits);
  }
  const total = profile.samples.length || 1;
  return [...byFrame.entries()]
    .map(([frame, hits]) => ({ frame, percent: (hits / total) * 100 }))
    .sort((a, b) => b.percent - a.percent);
}

/** Self time by file (node internals, one lib, one service…), largest first. */
export function selfTimeByFile(profile: CpuProfile): Array<{ frame: string; percent: number }> {
  const byFile = new Map<string, number>();
  for (const { frame, percent } of selfTimeByFunction(profile)) {
    const file = /\(([^()]+?)(?::\d+)?\)$/.exec(frame)?.[1] ?? frame;
    const group = file.startsWith('node_modules/') ? file.split('/').slice(0, 2).join('/') : file;
    byFile.set(group, (byFile.get(group) ?? 0) + percent);
  }
  return [...byFile.entries()].map(([frame, percent]) => ({ frame, percent })).sort((a, b) => b.percent - a.percent);
}

/**
 * The top `limit` self-time functions of the (largest) profile in `dir`, as printable lines;
 * with `window`, only the samples taken in it (the process's start-up and idle waits between
 * runs left out).
 */
export function summariseCpuProfile(dir: string, limit: number, window?: MonotonicWindow): string[] {
  const files = readdirSync(dir).filter((file) => file.endsWith('.cpuprofile'));
  if (files.length === 0) return [`no .cpuprofile in ${dir}`];
  const profiles = files.map((file) => JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile);
  const largest = withinWindow(profiles.sort((a, b) => b.samples.length - a.samples.length)[0]!, window);
  const line = ({ frame, percent }: { frame: string; percent: number }) =>
    `${percent.toFixed(1).padStart(5)} %  ${frame}`;
  return [
    `${largest.samples.length} samples${window ? ' in the measured window' : ''}`,
    'self time by function:',
    ...selfTimeByFunction(largest).slice(0, limit).map(line),
    'self time by file or package:',
    ...selfTimeByFile(largest).slice(0, limit).map(line),
  ];
}
