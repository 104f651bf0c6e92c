// The plan of the auth-server endpoint scenarios that post one signed form per request (the
// token endpoint, PAR): every target at peak (interleaved repeats), then every target at 80 %
// of its own median peak rate (issue 11: "no errors at 80 % of peak"), with the 1-minute load
// average recorded around every run and around the whole scenario.
import { loadAverage1m } from '../harness/machine';
import {
  measurePeakThenPaced,
  type LoadAround,
  type LoadTarget,
  type MeasurePlan,
  type PassSummary,
} from '../harness/passes';
import type { AuthServerPeers } from './peers';

export type EndpointTargetName = 'obip' | 'engine' | 'floor';

export interface EndpointPlan extends MeasurePlan {
  order: EndpointTargetName[];
  /** The paced pass's rate, as a fraction of each target's own median peak rate. */
  pacedFraction: number;
}

export const DEFAULT_ENDPOINT_PLAN: EndpointPlan = {
  warmupSeconds: 3,
  durationSeconds: 10,
  repeats: 3,
  connections: 32,
  order: ['floor', 'engine', 'obip'],
  pacedFraction: 0.8,
};

export interface EndpointResults {
  plan: EndpointPlan;
  peak: Record<EndpointTargetName, PassSummary>;
  paced: Record<EndpointTargetName, PassSummary>;
  /** ClientRegistry.GetClient calls obip made during the whole run (its client cache at work). */
  peerCalls: { getClient: number };
  /** The 1-minute load average before the servers started and after the last run. */
  loadAverage: LoadAround;
}

export async function runEndpointScenario(
  targets: Record<EndpointTargetName, LoadTarget>,
  peers: AuthServerPeers,
  plan: EndpointPlan,
  log: (line: string) => void,
  loadBefore: number,
): Promise<EndpointResults> {
  const { peak, paced } = await measurePeakThenPaced(targets, plan, plan.pacedFraction, log, {
    peak: 'peak',
    paced: `${Math.round(plan.pacedFraction * 100)}%`,
  });
  return { plan, peak, paced, peerCalls: peers.calls(), loadAverage: { before: loadBefore, after: loadAverage1m() } };
}
