// HTTP load with autocannon, always in a separate process (issue 11), keep-alive connections.
import { runJsonChild } from './processes';
import type { MonotonicWindow, RequestSpec } from './requests';

export interface HttpLoadOptions extends RequestSpec {
  url: string;
  connections: number;
  durationSeconds: number;
  /**
   * Stops once this many requests are answered instead of after `durationSeconds` (autocannon's
   * `amount`), so that a smoke run's length does not depend on how busy the machine is;
   * `durationSeconds` then only sizes the time limit of the run.
   */
  amount?: number;
  /** Requests per second over all connections; unset: as fast as the server answers. */
  overallRate?: number;
  /** For an `https:` url: the client certificate to present (PEM); the server's is not verified. */
  tls?: { cert?: string; key?: string };
}

/** What one run measured; latencies in milliseconds. */
export interface HttpLoadResult {
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
}

export const AUTOCANNON_CHILD = 'bench/src/harness/http-load.child.ts';

/** Runs autocannon in a child process and returns its summary; the child is killed if it overruns. */
export function runHttpLoad(options: HttpLoadOptions): Promise<HttpLoadResult> {
  // Generating bodies (e.g. signing client assertions) happens in the child before the load.
  const generationSeconds = Math.ceil((options.generated?.count ?? 0) / 2_000);
  return runJsonChild<HttpLoadResult>(
    AUTOCANNON_CHILD,
    options,
    (options.durationSeconds + generationSeconds + 30) * 1000,
  );
}
