// HTTP load with autocannon, always in a separate process (issue 11), keep-alive connections.
import { runJsonChild } from './processes';

export interface HttpLoadOptions {
  url: string;
  connections: number;
  durationSeconds: number;
  /** Requests per second over all connections; unset: as fast as the server answers. */
  overallRate?: number;
  headers: Record<string, string>;
  /** Request bodies, cycled through by each connection (one per pre-issued token). */
  bodies: string[];
  /** Response bodies must start with this; others are counted as mismatches. */
  expectBodyPrefix?: string;
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
}

export const AUTOCANNON_CHILD = 'bench/src/harness/http-load.child.ts';

/** Runs autocannon in a child process and returns its summary; the child is killed if it overruns. */
export function runHttpLoad(options: HttpLoadOptions): Promise<HttpLoadResult> {
  return runJsonChild<HttpLoadResult>(AUTOCANNON_CHILD, options, (options.durationSeconds + 30) * 1000);
}
