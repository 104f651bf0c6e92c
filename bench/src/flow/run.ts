// The plan and measured passes of the authorisation-code flow benchmark: the closed-loop peak
// (a few customers at once, as fast as the platform completes their flows), then paced runs at
// fixed fractions of that peak, the rates interleaved over the repeats so drift hits each alike.
// Every run samples the peak RSS of auth-server and consent-service and the load average around it.
import { loadAverage1m } from '../harness/machine';
import type { LoadAround, MeasurePlan } from '../harness/passes';
import { sampleRss } from '../harness/processes';
import { spread, type Spread } from '../harness/stats';
import { FLOW_STEPS, type FlowSetup, type FlowStep } from './flow';
import { runFlowLoad, type FlowLoadMode, type FlowLoadResult } from './flow-load';
import type { FlowProcessName } from './targets';

export interface FlowPlan extends MeasurePlan {
  /**
   * Customers running flows back to back in the closed-loop peak pass. Two, one per core: each
   * login is a CPU-bound scrypt in consent-service, so more at once adds no throughput, only
   * waiting, and in trials 4 at once on 2 busy cores pushed logins past the 2 s deadline.
   */
  peakConcurrency: number;
  /** The paced rates, as fractions of the median peak flows per second. */
  fractions: number[];
}

export const DEFAULT_FLOW_PLAN: FlowPlan = {
  warmupSeconds: 3,
  durationSeconds: 10,
  repeats: 3,
  connections: 32,
  peakConcurrency: 2,
  fractions: [0.25, 0.5, 0.8],
};

export interface FlowRun extends FlowLoadResult {
  /** Peak VmRSS of each process during the run (warm-up included), MiB. */
  rssMiB: Partial<Record<FlowProcessName, number>>;
  loadAverage: LoadAround;
}

export interface FlowPassSummary {
  /** e.g. `peak` or `50 %`. */
  label: string;
  /** Flows per second offered (paced passes only). */
  offeredRate?: number;
  flowsPerSecond: Spread;
  /** Latencies over the runs that completed any flow; undefined when none did. */
  flowP50: Spread | undefined;
  flowP99: Spread | undefined;
  steps: Record<FlowStep, { p50: Spread | undefined; p99: Spread | undefined }>;
  /** Completed flows, summed over the repeats. */
  flows: number;
  rssMiB: Partial<Record<FlowProcessName, Spread>>;
  /** Summed over the repeats. */
  errors: number;
  errorsByStep: Partial<Record<FlowStep | 'unfinished', number>>;
  runs: FlowRun[];
}

export interface FlowResults {
  plan: FlowPlan;
  peak: FlowPassSummary;
  paced: FlowPassSummary[];
  /** The 1-minute load average before the servers started and after the last run. */
  loadAverage: LoadAround;
}

/** One run with each process's RSS sampled and the load average read around it. */
export async function measureFlows(
  setup: FlowSetup,
  pids: Record<FlowProcessName, number>,
  plan: FlowPlan,
  mode: FlowLoadMode,
): Promise<FlowRun> {
  const before = loadAverage1m();
  const samplers = Object.entries(pids).map(([name, pid]) => [name, sampleRss(pid)] as const);
  const result = await runFlowLoad({
    setup,
    mode,
    connections: plan.connections,
    warmupSeconds: plan.warmupSeconds,
    durationSeconds: plan.durationSeconds,
  });
  const rssMiB = Object.fromEntries(samplers.map(([name, sampler]) => [name, sampler.stop()]));
  return { ...result, rssMiB, loadAverage: { before, after: loadAverage1m() } };
}

const defined = (values: Array<number | undefined>) => values.filter((value): value is number => value !== undefined);

export function summariseFlowPass(label: string, runs: FlowRun[], offeredRate?: number): FlowPassSummary {
  const errorsByStep: FlowPassSummary['errorsByStep'] = {};
  for (const run of runs)
    for (const [step, count] of Object.entries(run.errorsByStep) as Array<[FlowStep | 'unfinished', number]>)
      errorsByStep[step] = (errorsByStep[step] ?? 0) + count;
  const names = [...new Set(runs.flatMap((run) => Object.keys(run.rssMiB)))] as FlowProcessName[];
  const completing = runs.filter((run) => run.flows > 0);
  const latency = (of: (run: FlowRun) => number) => (completing.length > 0 ? spread(completing.map(of)) : undefined);
  return {
    label,
    ...(offeredRate === undefined ? {} : { offeredRate }),
    flowsPerSecond: spread(runs.map((run) => run.flowsPerSecond)),
    flowP50: latency((run) => run.flowP50),
    flowP99: latency((run) => run.flowP99),
    steps: Object.fromEntries(
      FLOW_STEPS.map((step) => [
        step,
        { p50: latency((run) => run.steps[step].p50), p99: latency((run) => run.steps[step].p99) },
      ]),
    ) as FlowPassSummary['steps'],
    flows: runs.reduce((sum, run) => sum + run.flows, 0),
    rssMiB: Object.fromEntries(
      names.flatMap((name) => {
        const values = defined(runs.map((run) => run.rssMiB[name]));
        return values.length > 0 ? [[name, spread(values)]] : [];
      }),
    ),
    errors: runs.reduce((sum, run) => sum + run.errors, 0),
    errorsByStep,
    runs,
  };
}

/** One log line per run. */
export function describeFlowRun(run: FlowRun): string {
  const rss = Object.entries(run.rssMiB)
    .map(([name, value]) => `${name} ${value?.toFixed(0) ?? '?'}`)
    .join(', ');
  const late = run.generatorLateP99 === undefined ? '' : `, generator late p99 ${run.generatorLateP99.toFixed(1)} ms`;
  return `${run.flowsPerSecond.toFixed(2)} flows/s, flow p50 ${run.flowP50.toFixed(0)} ms, p99 ${run.flowP99.toFixed(0)} ms, ${run.errors} errors; RSS MiB ${rss}; load ${run.loadAverage.before} → ${run.loadAverage.after}${late}`;
}

/** The paced rate for `fraction` of the peak, in flows per second (two decimals, at least 0.1). */
export const pacedRate = (peakFlowsPerSecond: number, fraction: number) =>
  Math.max(0.1, Math.round(peakFlowsPerSecond * fraction * 100) / 100);

/**
 * The closed-loop peak (`repeats` runs), then every paced rate `repeats` times, interleaved
 * (25 %, 50 %, 80 %, then again).
 */
export async function runFlowScenario(
  setup: FlowSetup,
  pids: Record<FlowProcessName, number>,
  plan: FlowPlan,
  log: (line: string) => void,
  loadBefore: number,
): Promise<FlowResults> {
  const peakRuns: FlowRun[] = [];
  for (let repeat = 1; repeat <= plan.repeats; repeat += 1) {
    const run = await measureFlows(setup, pids, plan, { kind: 'closed', concurrency: plan.peakConcurrency });
    peakRuns.push(run);
    log(`peak ${repeat}/${plan.repeats} (${plan.peakConcurrency} customers at once) ${describeFlowRun(run)}`);
  }
  const peak = summariseFlowPass('peak', peakRuns);
  const rates = plan.fractions.map((fraction) => pacedRate(peak.flowsPerSecond.median, fraction));
  const pacedRuns = rates.map(() => [] as FlowRun[]);
  for (let repeat = 1; repeat <= plan.repeats; repeat += 1) {
    for (const [index, rate] of rates.entries()) {
      const run = await measureFlows(setup, pids, plan, { kind: 'paced', rate });
      pacedRuns[index]!.push(run);
      log(`${percentOf(plan.fractions[index]!)} (${rate} flows/s) ${repeat}/${plan.repeats} ${describeFlowRun(run)}`);
    }
  }
  return {
    plan,
    peak,
    paced: rates.map((rate, index) => summariseFlowPass(percentOf(plan.fractions[index]!), pacedRuns[index]!, rate)),
    loadAverage: { before: loadBefore, after: loadAverage1m() },
  };
}

export const percentOf = (fraction: number) => `${Math.round(fraction * 100)} %`;
