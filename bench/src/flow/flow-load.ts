// Complete authorisation-code flows as load, from a child process of their own
// (flow-load.child.ts), like the other load generators (../harness/paced-load.ts): either paced
// (flow k due at start + k / rate whatever the server's state, timed from when it was due, so
// queueing counts: no coordinated omission) or closed-loop (a fixed number of customers each
// starting the next flow when the last ended, for the highest rate the platform sustains).
import { runJsonChild } from '../harness/processes';
import type { MonotonicWindow } from '../harness/requests';
import type { FlowSetup, FlowStep } from './flow';

export type FlowLoadMode = { kind: 'paced'; rate: number } | { kind: 'closed'; concurrency: number };

export interface FlowLoadOptions {
  setup: FlowSetup;
  mode: FlowLoadMode;
  /** Keep-alive connections to auth-server shared by every flow (browsers and TPP alike). */
  connections: number;
  warmupSeconds: number;
  durationSeconds: number;
}

/** p50 and p99 in milliseconds. */
export interface Percentiles {
  p50: number;
  p99: number;
}

/** Over the flows started in the measured window (paced: due in it). */
export interface FlowLoadResult {
  /** Flows that completed every step. */
  flows: number;
  durationSeconds: number;
  flowsPerSecond: number;
  /** A whole flow, from when it was due (paced) or started (closed loop), in ms. */
  flowP50: number;
  flowP99: number;
  flowMax: number;
  /** Each step from its first request to its checked answer, over the completed flows. */
  steps: Record<FlowStep, Percentiles>;
  /** Flows that broke (a wrong answer, a failed request) or had not finished 30 s after the window. */
  errors: number;
  /** Where the broken flows broke (`unfinished`: still running when the run was abandoned). */
  errorsByStep: Partial<Record<FlowStep | 'unfinished', number>>;
  /** The first few distinct failures, for whoever reads a failed run. */
  errorSamples: string[];
  /** Paced: p99 of how late the generator started a flow after it was due (its own lag), in ms. */
  generatorLateP99?: number;
  /** Flows whose JWTs had to be signed during the run because too few were signed before it. */
  signedDuringRun: number;
  /** When the measured window ran, on the monotonic clock in µs. */
  window: MonotonicWindow;
}

export const FLOW_LOAD_CHILD = 'bench/src/flow/flow-load.child.ts';

/**
 * Runs the flows in a child process and returns what it measured.
 *
 * @example
 * const result = await runFlowLoad({ setup, mode: { kind: 'paced', rate: 2 }, connections: 32, warmupSeconds: 3, durationSeconds: 10 });
 */
export function runFlowLoad(options: FlowLoadOptions): Promise<FlowLoadResult> {
  return runJsonChild<FlowLoadResult>(
    FLOW_LOAD_CHILD,
    options,
    (options.warmupSeconds + options.durationSeconds + 120) * 1000,
  );
}
