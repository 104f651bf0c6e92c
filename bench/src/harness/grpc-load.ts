// gRPC load: a bounded closed loop with `concurrency` calls in flight, in a separate process
// (ghz is not available here). Latencies are measured per call with the monotonic clock.
import { runJsonChild } from './processes';

export interface GrpcLoadOptions {
  /** e.g. `ipv4:///127.0.0.1:50054`. */
  target: string;
  concurrency: number;
  warmupSeconds: number;
  durationSeconds: number;
  tokens: string[];
}

export interface GrpcLoadResult {
  requests: number;
  durationSeconds: number;
  requestsPerSecond: number;
  p50: number;
  p99: number;
  max: number;
  errors: number;
  /** Answers that were not `active: true` (every pre-issued token is live). */
  inactive: number;
}

export const GRPC_LOAD_CHILD = 'bench/src/harness/grpc-load.child.ts';

export function runGrpcLoad(options: GrpcLoadOptions): Promise<GrpcLoadResult> {
  return runJsonChild<GrpcLoadResult>(
    GRPC_LOAD_CHILD,
    options,
    // The child waits up to 30 s for a first answer before its warm-up starts.
    (options.warmupSeconds + options.durationSeconds + 60) * 1000,
  );
}
