// The machine and versions a result was measured on (issue 11: recorded with every result).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './processes';
import { describeServiceLaunch, serviceLaunch, type ServiceLaunch } from './service-runtime';

export interface MachineInfo {
  cores: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  platform: string;
  packages: Record<string, string>;
  /** How obip's services ran; absent in results measured before it was recorded (under tsx). */
  services?: ServiceLaunch;
}

/** Installed version of a package in the workspace's node_modules, or `not installed`. */
export function packageVersion(name: string): string {
  try {
    return (
      JSON.parse(readFileSync(join(repoRoot, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }
    ).version;
  } catch {
    return 'not installed';
  }
}

export function machineInfo(packages: readonly string[], services = serviceLaunch()): MachineInfo {
  let cpuModel = 'unknown';
  try {
    cpuModel = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? 'unknown';
  } catch {
    // not Linux
  }
  return {
    cores: availableParallelism(),
    cpuModel,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    packages: Object.fromEntries(packages.map((name) => [name, packageVersion(name)])),
    services,
  };
}

/**
 * The 1-minute load average (runnable and uninterruptible tasks, exponentially averaged), read
 * around every measured run: on a shared machine it shows whether other work competed for the
 * cores while a figure was taken.
 */
export function loadAverage1m(): number {
  return Math.round(loadavg()[0]! * 100) / 100;
}

/** The code a result was measured on: the commit, and files under `paths` changed since it. */
export interface SourceState {
  commit: string;
  /** Uncommitted changes (modified, added, deleted, untracked) under the measured code's paths. */
  uncommitted: string[];
}

/** Read-only git queries (`--no-optional-locks`: not even the index's stat cache is written). */
export function sourceState(paths: readonly string[]): SourceState | undefined {
  const git = (...args: string[]) =>
    execFileSync('git', ['--no-optional-locks', ...args], { cwd: repoRoot, encoding: 'utf8' }).trimEnd();
  try {
    return {
      commit: git('rev-parse', '--short=12', 'HEAD'),
      uncommitted: git('status', '--porcelain', '--', ...paths)
        .split('\n')
        .filter(Boolean)
        .map((line) => line.slice(3)),
    };
  } catch {
    return undefined;
  }
}

/** `Measured <date> on <machine>, Node …; <packages>; <how the services ran>. obip at commit …` */
export function measuredLine(machine: MachineInfo, source: SourceState | undefined, measuredAt: string): string {
  const packages = Object.entries(machine.packages)
    .map(([name, version]) => `${name} ${version}`)
    .join(', ');
  const sourceLine = source
    ? ` obip at commit \`${source.commit}\`${source.uncommitted.length > 0 ? ` with ${source.uncommitted.length} uncommitted changes in the measured code (work in progress in the tree when it was measured)` : ''}.`
    : '';
  return `Measured ${measuredAt} on ${machine.cores} cores (${machine.cpuModel}), ${machine.memoryGiB} GiB, ${machine.platform},
Node ${machine.node}; ${packages}; ${describeServiceLaunch(machine.services)}.${sourceLine}`;
}
