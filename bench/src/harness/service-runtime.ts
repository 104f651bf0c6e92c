// How the benchmarks run obip's services: as their container images and the chart do (the esbuild
// bundle, NODE_ENV=production, the chart's NODE_OPTIONS, MALLOC_ARENA_MAX and MALLOC_MMAP_THRESHOLD_),
// so that memory and start-up are production's. BENCH_SERVICE_RUNTIME=source runs them under tsx
// instead, as in development; BENCH_NODE_OPTIONS, BENCH_MALLOC_ARENA_MAX and
// BENCH_MALLOC_MMAP_THRESHOLD replace the chart's values (to measure another setting before
// proposing it).
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse } from 'yaml';
import type { ServiceRuntime } from '@obip/testing';

const CHART_VALUES = resolve(import.meta.dirname, '../../../charts/obip/values.yaml');

/** How a benchmark's service processes are started; recorded with every result. */
export interface ServiceLaunch {
  runtime: ServiceRuntime;
  /** The chart's `global.nodeOptions`, then any the benchmark adds (profiling). */
  nodeOptions: string;
  /** The chart's `global.mallocArenaMax`; 0 leaves glibc's default. */
  mallocArenaMax: number;
  /** The chart's `global.mallocMmapThreshold` in bytes; 0 leaves glibc's dynamic threshold. */
  mallocMmapThreshold: number;
}

type ChartServiceSettings = Omit<ServiceLaunch, 'runtime'>;

/** The memory settings the chart gives every service (`global` in values.yaml). */
export function chartServiceSettings(valuesFile = CHART_VALUES): ChartServiceSettings {
  const { global } = parse(readFileSync(valuesFile, 'utf8')) as {
    global?: { nodeOptions?: unknown; mallocArenaMax?: unknown; mallocMmapThreshold?: unknown };
  };
  if (
    typeof global?.nodeOptions !== 'string' ||
    !Number.isInteger(global.mallocArenaMax) ||
    !Number.isInteger(global.mallocMmapThreshold)
  )
    throw new Error(
      `${valuesFile} lacks global.nodeOptions (a string), global.mallocArenaMax or global.mallocMmapThreshold (integers)`,
    );
  return {
    nodeOptions: global.nodeOptions,
    mallocArenaMax: global.mallocArenaMax as number,
    mallocMmapThreshold: global.mallocMmapThreshold as number,
  };
}

/** An integer setting from the environment, or the chart's when unset. */
function integerSetting(env: NodeJS.ProcessEnv, name: string, chartValue: number): number {
  const text = env[name];
  if (!text) return chartValue;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be an integer ≥ 0, not ${text}`);
  return value;
}

/**
 * @example
 * const launch = serviceLaunch('--cpu-prof');
 * await startServiceProcess({ entry, runtime: launch.runtime, env: { ...serviceLaunchEnv(launch), … } });
 */
export function serviceLaunch(extraNodeOptions = '', env = process.env): ServiceLaunch {
  const runtime = env.BENCH_SERVICE_RUNTIME ?? 'bundle';
  if (runtime !== 'bundle' && runtime !== 'source')
    throw new Error(`BENCH_SERVICE_RUNTIME must be bundle or source, not ${runtime}`);
  const chart = chartServiceSettings();
  const nodeOptions = [env.BENCH_NODE_OPTIONS ?? chart.nodeOptions, extraNodeOptions].filter(Boolean).join(' ');
  return {
    runtime,
    nodeOptions,
    mallocArenaMax: integerSetting(env, 'BENCH_MALLOC_ARENA_MAX', chart.mallocArenaMax),
    mallocMmapThreshold: integerSetting(env, 'BENCH_MALLOC_MMAP_THRESHOLD', chart.mallocMmapThreshold),
  };
}

/** The environment variables a launch sets in the service's process. */
export function serviceLaunchEnv(launch: ServiceLaunch): Record<string, string> {
  return {
    NODE_OPTIONS: launch.nodeOptions,
    ...(launch.mallocArenaMax > 0 ? { MALLOC_ARENA_MAX: String(launch.mallocArenaMax) } : {}),
    ...(launch.mallocMmapThreshold > 0 ? { MALLOC_MMAP_THRESHOLD_: String(launch.mallocMmapThreshold) } : {}),
  };
}

/** How the services ran, in words, for the results' "measured on" line. */
export function describeServiceLaunch(launch: ServiceLaunch | undefined): string {
  if (!launch) return 'services under tsx';
  const how = launch.runtime === 'bundle' ? 'services as their images run them (esbuild bundle)' : 'services under tsx';
  const settings = [
    launch.nodeOptions && `NODE_OPTIONS=${launch.nodeOptions}`,
    launch.mallocArenaMax > 0 && `MALLOC_ARENA_MAX=${launch.mallocArenaMax}`,
    launch.mallocMmapThreshold > 0 && `MALLOC_MMAP_THRESHOLD_=${launch.mallocMmapThreshold}`,
  ].filter(Boolean);
  return settings.length > 0 ? `${how}, ${settings.join(', ')}` : how;
}
