// The flow load process (see flow-load.ts): reads FlowLoadOptions from argv[2], signs every
// flow's JWTs before its clock starts, runs the flows, prints one JSON line (FlowLoadResult).
// One undici keep-alive pool to auth-server carries every flow; requests due while every
// connection is busy wait in its queue, and that wait counts.
import { Pool } from 'undici';
import { monotonicMicros } from '../harness/requests';
import { percentileOfSorted } from '../harness/stats';
import { FLOW_STEPS, FlowStepError, runFlow, signFlowCredentials, type FlowCredentials, type FlowStep } from './flow';
import type { FlowLoadOptions, FlowLoadResult, Percentiles } from './flow-load';

const options = JSON.parse(process.argv[2] ?? '{}') as FlowLoadOptions;
const { setup, mode } = options;
const seconds = options.warmupSeconds + options.durationSeconds;
// A closed-loop customer starts at most a few flows a second (each includes a scrypt login).
const expected = mode.kind === 'paced' ? mode.rate * seconds : mode.concurrency * seconds * 10;
const signed = signFlowCredentials(setup.signer, Math.ceil(expected) + 20);
let signedDuringRun = 0;
let next = 0;
const takeCredentials = (): FlowCredentials => {
  const credentials = signed[next++];
  if (credentials) return credentials;
  signedDuringRun += 1;
  return signFlowCredentials(setup.signer, 1)[0]!;
};

const pool = new Pool(setup.origin, { connections: options.connections, pipelining: 1 });
// The clock starts once the JWTs are signed.
const start = performance.now() + 50;
const measureFrom = start + options.warmupSeconds * 1000;
const end = measureFrom + options.durationSeconds * 1000;
const toMonotonic = (at: number) => monotonicMicros() + Math.round((at - performance.now()) * 1000);

const flowTimes: number[] = [];
const stepTimes = Object.fromEntries(FLOW_STEPS.map((step) => [step, [] as number[]])) as Record<FlowStep, number[]>;
const errorsByStep: FlowLoadResult['errorsByStep'] = {};
const errorSamples = new Set<string>();
const lateness: number[] = [];
let errors = 0;
let unfinished = 0;
const pending = new Set<Promise<void>>();

/** One flow, due at `due`; counted only when due in the measured window. */
async function flow(index: number, due: number): Promise<void> {
  const measured = due >= measureFrom && due < end;
  if (measured && mode.kind === 'paced') lateness.push(performance.now() - due);
  const customer = setup.customers[index % setup.customers.length]!;
  const run = runFlow(pool, setup, takeCredentials(), customer).then(
    (result) => {
      if (!measured) return;
      flowTimes.push(performance.now() - due);
      for (const step of FLOW_STEPS) stepTimes[step].push(result.steps[step]);
    },
    (error: unknown) => {
      if (!measured) return;
      errors += 1;
      // runFlow names the step of every failure; anything else broke before the first request.
      const step = error instanceof FlowStepError ? error.step : 'par';
      errorsByStep[step] = (errorsByStep[step] ?? 0) + 1;
      if (errorSamples.size < 10)
        errorSamples.add(String(error instanceof Error ? error.message : error).slice(0, 300));
    },
  );
  const tracked = run.finally(() => pending.delete(tracked));
  pending.add(tracked);
  await tracked;
}

let index = 0;
if (mode.kind === 'paced') {
  const interval = 1000 / mode.rate;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const now = performance.now();
      for (let due = start + index * interval; due <= now && due < end; due = start + index * interval) {
        void flow(index, due);
        index += 1;
      }
      if (start + index * interval >= end) {
        clearInterval(timer);
        resolve();
      }
    }, 1);
  });
} else {
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, start - performance.now())));
  const customer = async () => {
    while (performance.now() < end) await flow(index++, performance.now());
  };
  await Promise.all(Array.from({ length: mode.concurrency }, customer));
}
// Flows still running 30 s after the window are abandoned and counted as errors.
const inFlight = pending.size;
const settled = await Promise.race([
  Promise.allSettled([...pending]).then(() => true),
  new Promise<false>((resolve) => setTimeout(() => resolve(false), 30_000).unref()),
]);
if (!settled) {
  unfinished = pending.size;
  errors += unfinished;
  errorsByStep.unfinished = unfinished;
  errorSamples.add(`${unfinished} of ${inFlight} flows still running 30 s after the window`);
}
await pool.destroy();

const sorted = (values: number[]) => [...values].sort((a, b) => a - b);
const percentiles = (values: number[]): Percentiles => {
  const list = sorted(values);
  return list.length > 0
    ? { p50: percentileOfSorted(list, 50), p99: percentileOfSorted(list, 99) }
    : { p50: 0, p99: 0 };
};
const flows = sorted(flowTimes);
const late = sorted(lateness);
const result: FlowLoadResult = {
  flows: flows.length,
  durationSeconds: options.durationSeconds,
  flowsPerSecond: flows.length / options.durationSeconds,
  flowP50: flows.length > 0 ? percentileOfSorted(flows, 50) : 0,
  flowP99: flows.length > 0 ? percentileOfSorted(flows, 99) : 0,
  flowMax: flows.at(-1) ?? 0,
  steps: Object.fromEntries(FLOW_STEPS.map((step) => [step, percentiles(stepTimes[step])])) as Record<
    FlowStep,
    Percentiles
  >,
  errors,
  errorsByStep,
  errorSamples: [...errorSamples],
  ...(mode.kind === 'paced' ? { generatorLateP99: late.length > 0 ? percentileOfSorted(late, 99) : 0 } : {}),
  signedDuringRun,
  window: { fromMicros: toMonotonic(measureFrom), toMicros: toMonotonic(end) },
};
process.stdout.write(`${JSON.stringify(result)}\n`);
// Sockets of abandoned flows must not keep the process alive.
process.exit(0);
