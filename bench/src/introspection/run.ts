// The introspection benchmark's plan (issue 6 / issue 11 scenario 1): for each target a
// warm-up, then measured runs at peak (repeated, interleaved so drift hits every target
// alike), then the same at half of each target's measured peak rate, then the gRPC path.
import { runGrpcLoad, type GrpcLoadResult } from '../harness/grpc-load';
import {
  describeRun,
  measurePeakThenPaced,
  type LoadTarget,
  type MeasurePlan,
  type PassSummary,
} from '../harness/passes';
import { sampleRss } from '../harness/processes';
import type { RequestSpec } from '../harness/requests';
import { spread, type Spread } from '../harness/stats';
import type { IntrospectionTargets, Target, TargetName } from './targets';

export type { MeasuredRun, PassSummary } from '../harness/passes';

export interface RunPlan extends MeasurePlan {
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

/** Every request of a target: its pre-issued tokens, each answer expected active. */
export function requestsOf(target: Target): RequestSpec {
  return { headers: target.headers, bodies: target.bodies(), expectBodyPrefix: '{"active":true' };
}

export async function runIntrospectionBenchmark(
  started: IntrospectionTargets,
  plan: RunPlan,
  log: Log,
): Promise<IntrospectionResults> {
  const { targets } = started;
  // At peak: autocannon, as fast as the server answers. At half: the paced open-loop generator.
  const loadTargets = Object.fromEntries(
    plan.order.map((name) => [
      name,
      { url: targets[name].url, pid: targets[name].pid, requests: requestsOf(targets[name]) },
    ]),
  ) as Record<TargetName, LoadTarget>;
  const { peak, paced: half } = await measurePeakThenPaced(loadTargets, plan, 0.5, log, {
    peak: 'peak',
    paced: 'half',
  });

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
