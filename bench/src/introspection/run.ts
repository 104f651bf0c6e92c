// The introspection benchmark's plan (issue 6 / issue 11 scenario 1): for each target a
// warm-up, then measured runs at peak (repeated, interleaved so drift hits every target
// alike), then the same at half of each target's measured peak rate, then the gRPC path.
import { runGrpcLoad, type GrpcLoadResult } from '../harness/grpc-load';
import { runHttpLoad, type HttpLoadResult } from '../harness/http-load';
import { runPacedLoad } from '../harness/paced-load';
import { sampleRss } from '../harness/processes';
import { spread, type Spread } from '../harness/stats';
import type { IntrospectionTargets, Target, TargetName } from './targets';

export interface RunPlan {
  warmupSeconds: number;
  durationSeconds: number;
  repeats: number;
  connections: number;
  grpcConcurrency: number;
  order: TargetName[];
}

export const DEFAULT_PLAN: RunPlan = {
  warmupSeconds: 3,
  durationSeconds: 10,
  repeats: 3,
  connections: 32,
  grpcConcurrency: 32,
  order: ['floor', 'engine', 'obip'],
};

export interface MeasuredRun extends HttpLoadResult {
  /** Peak VmRSS of the server process during the measured run (MiB). */
  rssMiB: number | undefined;
}

export interface PassSummary {
  requestsPerSecond: Spread;
  p50: Spread;
  p99: Spread;
  rssMiB: Spread | undefined;
  /** Summed over the repeats: socket errors + timeouts, non-2xx answers, answers not `active: true`. */
  errors: number;
  non2xx: number;
  mismatches: number;
  /** The offered rate (half pass only). */
  offeredRate?: number;
  runs: MeasuredRun[];
}

export interface GrpcSummary {
  requestsPerSecond: Spread;
  p50: Spread;
  p99: Spread;
  rssMiB: Spread | undefined;
  errors: number;
  inactive: number;
  runs: Array<GrpcLoadResult & { rssMiB: number | undefined }>;
}

export interface IntrospectionResults {
  plan: RunPlan;
  peak: Record<TargetName, PassSummary>;
  half: Record<TargetName, PassSummary>;
  grpc: GrpcSummary;
  peerCalls: { getClient: number; getConsentStatus: number };
}

type Log = (line: string) => void;

/** At peak: autocannon, as fast as the server answers. At a rate: the paced open-loop generator. */
async function measure(target: Target, plan: RunPlan, rate: number | undefined): Promise<MeasuredRun> {
  const load = {
    url: target.url,
    connections: plan.connections,
    headers: target.headers,
    bodies: target.bodies(),
    expectBodyPrefix: '{"active":true',
  };
  if (rate !== undefined) {
    // The warm-up is part of the same paced run (the first warmupSeconds are not counted).
    const rss = sampleRss(target.pid);
    const result = await runPacedLoad({
      ...load,
      rate,
      warmupSeconds: plan.warmupSeconds,
      durationSeconds: plan.durationSeconds,
    });
    return { ...result, rssMiB: rss.stop() };
  }
  await runHttpLoad({ ...load, durationSeconds: plan.warmupSeconds });
  const rss = sampleRss(target.pid);
  const result = await runHttpLoad({ ...load, durationSeconds: plan.durationSeconds });
  return { ...result, rssMiB: rss.stop() };
}

function summarise(runs: MeasuredRun[], offeredRate?: number): PassSummary {
  const rss = runs.map((run) => run.rssMiB).filter((value): value is number => value !== undefined);
  return {
    requestsPerSecond: spread(runs.map((run) => run.requestsPerSecond)),
    p50: spread(runs.map((run) => run.p50)),
    p99: spread(runs.map((run) => run.p99)),
    rssMiB: rss.length > 0 ? spread(rss) : undefined,
    errors: runs.reduce((sum, run) => sum + run.errors + run.timeouts, 0),
    non2xx: runs.reduce((sum, run) => sum + run.non2xx, 0),
    mismatches: runs.reduce((sum, run) => sum + run.mismatches, 0),
    ...(offeredRate ? { offeredRate } : {}),
    runs,
  };
}

const describeRun = (run: { requestsPerSecond: number; p50: number; p99: number; rssMiB: number | undefined }) =>
  `${Math.round(run.requestsPerSecond)} req/s, p50 ${run.p50.toFixed(2)} ms, p99 ${run.p99.toFixed(2)} ms, RSS ${run.rssMiB?.toFixed(0) ?? '?'} MiB`;

export async function runIntrospectionBenchmark(
  started: IntrospectionTargets,
  plan: RunPlan,
  log: Log,
): Promise<IntrospectionResults> {
  const { targets } = started;
  const pass = async (rateOf: (name: TargetName) => number | undefined, label: string) => {
    const runs = Object.fromEntries(plan.order.map((name) => [name, [] as MeasuredRun[]])) as Record<
      TargetName,
      MeasuredRun[]
    >;
    for (let repeat = 1; repeat <= plan.repeats; repeat += 1) {
      for (const name of plan.order) {
        const run = await measure(targets[name], plan, rateOf(name));
        runs[name].push(run);
        log(`${label} ${repeat}/${plan.repeats} ${name.padEnd(6)} ${describeRun(run)}`);
      }
    }
    return runs;
  };

  const peakRuns = await pass(() => undefined, 'peak');
  const peak = Object.fromEntries(plan.order.map((name) => [name, summarise(peakRuns[name])])) as Record<
    TargetName,
    PassSummary
  >;
  const halfRate = (name: TargetName) => Math.max(1, Math.round(peak[name].requestsPerSecond.median / 2));
  const halfRuns = await pass(halfRate, 'half');
  const half = Object.fromEntries(
    plan.order.map((name) => [name, summarise(halfRuns[name], halfRate(name))]),
  ) as Record<TargetName, PassSummary>;

  const grpcRuns: GrpcSummary['runs'] = [];
  for (let repeat = 1; repeat <= plan.repeats; repeat += 1) {
    const rss = sampleRss(targets.obip.pid);
    const result = await runGrpcLoad({
      target: started.grpcTarget,
      concurrency: plan.grpcConcurrency,
      warmupSeconds: plan.warmupSeconds,
      durationSeconds: plan.durationSeconds,
      tokens: targets.obip.tokens,
    });
    const run = { ...result, rssMiB: rss.stop() };
    grpcRuns.push(run);
    log(`grpc ${repeat}/${plan.repeats} obip   ${describeRun(run)}`);
  }
  const grpcRss = grpcRuns.map((run) => run.rssMiB).filter((value): value is number => value !== undefined);
  const grpc: GrpcSummary = {
    requestsPerSecond: spread(grpcRuns.map((run) => run.requestsPerSecond)),
    p50: spread(grpcRuns.map((run) => run.p50)),
    p99: spread(grpcRuns.map((run) => run.p99)),
    rssMiB: grpcRss.length > 0 ? spread(grpcRss) : undefined,
    errors: grpcRuns.reduce((sum, run) => sum + run.errors, 0),
    inactive: grpcRuns.reduce((sum, run) => sum + run.inactive, 0),
    runs: grpcRuns,
  };
  return { plan, peak, half, grpc, peerCalls: started.peers.calls() };
}
