// The discovery and JWKS benchmark's plan (issue 11 scenario 6): for each document, every
// target at peak (interleaved repeats), then at 80 % of its own median peak rate, with the
// 1-minute load average around every run and the scenario.
import { loadAverage1m } from '../harness/machine';
import { measurePeakThenPaced, type LoadAround, type MeasurePlan, type PeakAndPaced } from '../harness/passes';
import { fetchDocument, type DiscoveryTargetName, type DiscoveryTargets, type DocumentName } from './targets';

export interface DiscoveryPlan extends MeasurePlan {
  order: DiscoveryTargetName[];
  pacedFraction: number;
}

export const DEFAULT_PLAN: DiscoveryPlan = {
  warmupSeconds: 3,
  durationSeconds: 10,
  repeats: 3,
  connections: 32,
  order: ['floor', 'engine', 'obip'],
  pacedFraction: 0.8,
};

export interface DiscoveryResults {
  plan: DiscoveryPlan;
  documents: Record<DocumentName, PeakAndPaced<DiscoveryTargetName>>;
  /** Size of each target's answer, bytes. */
  bytes: Record<DocumentName, Record<DiscoveryTargetName, number>>;
  loadAverage: LoadAround;
}

export const DOCUMENTS: DocumentName[] = ['discovery', 'jwks'];

export async function runDiscoveryBenchmark(
  started: DiscoveryTargets,
  plan: DiscoveryPlan,
  log: (line: string) => void,
  loadBefore: number,
): Promise<DiscoveryResults> {
  const bytes = {} as DiscoveryResults['bytes'];
  const documents = {} as DiscoveryResults['documents'];
  for (const document of DOCUMENTS) {
    const targets = started.targets[document];
    bytes[document] = {} as Record<DiscoveryTargetName, number>;
    for (const name of plan.order) bytes[document][name] = (await fetchDocument(targets[name])).bytes;
    documents[document] = await measurePeakThenPaced(targets, plan, plan.pacedFraction, log, {
      peak: `${document} peak`,
      paced: `${document} ${Math.round(plan.pacedFraction * 100)}%`,
    });
  }
  return { plan, documents, bytes, loadAverage: { before: loadBefore, after: loadAverage1m() } };
}
