// The plan of the DCR registration benchmark: every target at peak (interleaved repeats), then
// every target at 80 % of its own median peak rate (issue 11: "no errors at 80 % of peak"), the
// 1-minute load average around every run, and the documents each target wrote to MongoDB over
// the whole scenario beside the registrations its measured runs were answered 201 for.
import { loadAverage1m } from '../harness/machine';
import { measurePeakThenPaced, type LoadAround, type MeasurePlan, type PassSummary } from '../harness/passes';
import { countDocuments, DOCUMENT_COLLECTIONS, type DcrTargetName, type DcrTargets } from './targets';

export interface DcrPlan extends MeasurePlan {
  order: DcrTargetName[];
  /** The paced pass's rate, as a fraction of each target's own median peak rate. */
  pacedFraction: number;
}

export const DEFAULT_DCR_PLAN: DcrPlan = {
  warmupSeconds: 3,
  durationSeconds: 10,
  repeats: 3,
  connections: 32,
  order: ['floor', 'engine', 'obip'],
  pacedFraction: 0.8,
};

/** What each target stored: documents written over the whole scenario (checks and warm-ups included). */
export interface DcrDocuments {
  /** Documents in the target's registration collections at the end. */
  written: number;
  /** Documents each registration writes (obip: client and audit entry). */
  perRegistration: number;
  /** Registrations answered 201 in the measured runs (peak and paced, warm-ups not counted). */
  answered201: number;
}

export interface DcrResults {
  plan: DcrPlan;
  peak: Record<DcrTargetName, PassSummary>;
  paced: Record<DcrTargetName, PassSummary>;
  documents: Record<DcrTargetName, DcrDocuments>;
  /** Which MongoDB-compatible server held the databases (FerretDB here unless mongod is installed). */
  mongoKind: DcrTargets['mongoKind'];
  /** The 1-minute load average before the servers started and after the last run. */
  loadAverage: LoadAround;
}

const answered201 = (pass: PassSummary) =>
  pass.runs.reduce((sum, run) => sum + run.requests - run.non2xx - run.mismatches, 0);

export async function runDcrBenchmark(
  started: DcrTargets,
  plan: DcrPlan,
  log: (line: string) => void,
  loadBefore: number,
): Promise<DcrResults> {
  const { peak, paced } = await measurePeakThenPaced(started.targets, plan, plan.pacedFraction, log, {
    peak: 'peak',
    paced: `${Math.round(plan.pacedFraction * 100)}%`,
  });
  const written = await countDocuments(started.mongoUrls);
  const documents = Object.fromEntries(
    plan.order.map((name) => [
      name,
      {
        written: written[name],
        perRegistration: DOCUMENT_COLLECTIONS[name].length,
        answered201: answered201(peak[name]) + answered201(paced[name]),
      },
    ]),
  ) as Record<DcrTargetName, DcrDocuments>;
  return {
    plan,
    peak,
    paced,
    documents,
    mongoKind: started.mongoKind,
    loadAverage: { before: loadBefore, after: loadAverage1m() },
  };
}
