// The PAR benchmark's plan (issue 11 scenario 3): the plan every auth-server endpoint scenario
// follows (../auth-server/scenario.ts): peak, then 80 % of each target's own peak.
import { DEFAULT_ENDPOINT_PLAN, runEndpointScenario, type EndpointResults } from '../auth-server/scenario';
import type { ParTargets } from './targets';

export type ParResults = EndpointResults;
export const DEFAULT_PLAN = DEFAULT_ENDPOINT_PLAN;

export function runParBenchmark(
  started: ParTargets,
  plan: typeof DEFAULT_PLAN,
  log: (line: string) => void,
  loadBefore: number,
): Promise<ParResults> {
  return runEndpointScenario(started.targets, started.servers.peers, plan, log, loadBefore);
}
