// The token endpoint benchmark's plan (issue 11 scenario 2): the plan every auth-server endpoint
// scenario follows (../auth-server/scenario.ts): peak, then 80 % of each target's own peak.
import {
  DEFAULT_ENDPOINT_PLAN,
  runEndpointScenario,
  type EndpointPlan,
  type EndpointResults,
} from '../auth-server/scenario';
import type { TokenTargets } from './targets';

export type TokenPlan = EndpointPlan;
export type TokenResults = EndpointResults;
export const DEFAULT_PLAN: TokenPlan = DEFAULT_ENDPOINT_PLAN;

export function runTokenBenchmark(
  started: TokenTargets,
  plan: TokenPlan,
  log: (line: string) => void,
  loadBefore: number,
): Promise<TokenResults> {
  return runEndpointScenario(started.targets, started.servers.peers, plan, log, loadBefore);
}
