// Open-loop HTTP load at a fixed arrival rate, for latency at a given load. autocannon's
// `overallRate` cannot be used for that: each connection sends as fast as it can until its
// per-second quota is spent and then waits for the next second, so a "half load" run is
// bursts at full load (measured here: p99 ≈ 90 ms at half rate even for the floor). This
// generator spaces requests evenly and times each one from when it was due, so time spent
// queued in the generator counts (no coordinated omission).
import { runJsonChild } from './processes';
import type { MonotonicWindow, RequestSpec } from './requests';

export interface PacedLoadOptions extends RequestSpec {
  url: string;
  connections: number;
  /** Requests per second, evenly spaced. */
  rate: number;
  warmupSeconds: number;
  durationSeconds: number;
}

/** Latencies in milliseconds, over the requests due in the measured window. */
export interface PacedLoadResult {
  requests: number;
  durationSeconds: number;
  requestsPerSecond: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  mismatches: number;
  /** Generated bodies sent a second time because too few were made (0 when none are generated). */
  bodiesReused?: number;
  /** When the load ran, on the monotonic clock in µs (what `--cpu-prof` sample times use). */
  window?: MonotonicWindow;
  /**
   * p99 of how late the generator itself sent a request after it was due (ms): beyond a few
   * milliseconds the generator, not the server, was short of CPU, and the latencies overstate the
   * server's.
   */
  generatorLateP99?: number;
}

export const PACED_LOAD_CHILD = 'bench/src/harness/paced-load.child.ts';

export function runPacedLoad(options: PacedLoadOptions): Promise<PacedLoadResult> {
  const generationSeconds = Math.ceil((options.generated?.count ?? 0) / 2_000);
  return runJsonChild<PacedLoadResult>(
    PACED_LOAD_CHILD,
    options,
    (options.warmupSeconds + options.durationSeconds + generationSeconds + 30) * 1000,
  );
}

/**
 * The due times (ms, relative to `start`) of every request between `from` and `to` at `rate`
 * per second: request i is due at start + i × 1000 / rate.
 */
export function dueTimes(rate: number, fromMs: number, toMs: number): number[] {
  const interval = 1000 / rate;
  const times: number[] = [];
  for (let i = Math.ceil(fromMs / interval); i * interval < toMs; i += 1) times.push(i * interval);
  return times;
}
