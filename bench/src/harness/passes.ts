// Measured runs of HTTP targets, shared by every scenario: at peak (autocannon: a warm-up run,
// then the measured run) or at a fixed rate (the paced open-loop generator, its warm-up part of
// the same run), each with the server's peak RSS and the machine's load average around it,
// repeated and interleaved over the targets so drift hits every target alike.
import { runHttpLoad, type HttpLoadResult } from './http-load';
import { loadAverage1m } from './machine';
import { runPacedLoad } from './paced-load';
import { sampleRss } from './processes';
import { bodiesNeeded, withBodyCount, type RequestSpec } from './requests';
import { spread, type Spread } from './stats';
import { measureThreadCpu, type ThreadCpuPerRequest } from './thread-cpu';

export interface MeasurePlan {
  warmupSeconds: number;
  durationSeconds: number;
  repeats: number;
  connections: number;
}

/** Where a target listens and which process serves it. */
export interface MeasuredServer {
  url: string;
  pid: number;
}

/** The 1-minute load average just before and just after the measured window. */
export interface LoadAround {
  before: number;
  after: number;
}

export interface MeasuredRun extends HttpLoadResult {
  /** Paced runs: p99 of how late the generator sent requests (ms); see PacedLoadResult. */
  generatorLateP99?: number;
  /** Peak VmRSS of the server process during the measured run (MiB). */
  rssMiB: number | undefined;
  /** Absent in results measured before it was recorded. */
  loadAverage?: LoadAround;
  /** The server's CPU µs per request during the measured run, by thread (absent in older results). */
  cpuPerRequestUs?: ThreadCpuPerRequest;
}

export interface PassSummary {
  requestsPerSecond: Spread;
  p50: Spread;
  p99: Spread;
  rssMiB: Spread | undefined;
  /** Per thread group, over the runs that recorded it; undefined when none did. */
  cpuPerRequestUs?: Record<keyof ThreadCpuPerRequest, Spread>;
  /** Summed over the repeats: socket errors + timeouts, non-2xx answers, answers not as expected. */
  errors: number;
  non2xx: number;
  mismatches: number;
  /** The offered rate (paced passes only). */
  offeredRate?: number;
  runs: MeasuredRun[];
}

/** When bodies are generated and nothing is known yet: more than any target here answers. */
const FIRST_RATE_GUESS = 8_000;

/**
 * As fast as the server answers: a warm-up run, then the measured run. Generated bodies are
 * sized from `expectedRate` (a previous run's rate) or, for the warm-up of a first run, a
 * generous guess; the measured run's from half as much again as the warm-up reached, if more.
 */
export async function measurePeak(
  server: MeasuredServer,
  spec: RequestSpec,
  plan: MeasurePlan,
  expectedRate?: number,
): Promise<MeasuredRun> {
  const load = { url: server.url, connections: plan.connections };
  const warmup = await runHttpLoad({
    ...load,
    ...withBodyCount(spec, bodiesNeeded(expectedRate ?? FIRST_RATE_GUESS, plan.warmupSeconds)),
    durationSeconds: plan.warmupSeconds,
  });
  const rate = Math.max(warmup.requestsPerSecond * 1.5, expectedRate ?? 0);
  const measuredSpec = withBodyCount(spec, bodiesNeeded(rate, plan.durationSeconds));
  const before = loadAverage1m();
  const rss = sampleRss(server.pid);
  const cpu = measureThreadCpu(server.pid);
  const result = await runHttpLoad({ ...load, ...measuredSpec, durationSeconds: plan.durationSeconds });
  return withServerUsage(result, rss.stop(), cpu.stop(result.requests), { before, after: loadAverage1m() });
}

/** At `rate` requests per second, evenly spaced (the first warmupSeconds are not counted). */
export async function measureAtRate(
  server: MeasuredServer,
  spec: RequestSpec,
  plan: MeasurePlan,
  rate: number,
): Promise<MeasuredRun> {
  const before = loadAverage1m();
  const rss = sampleRss(server.pid);
  const cpu = measureThreadCpu(server.pid);
  const result = await runPacedLoad({
    url: server.url,
    connections: plan.connections,
    ...withBodyCount(spec, Math.ceil(rate * (plan.warmupSeconds + plan.durationSeconds)) + 100),
    rate,
    warmupSeconds: plan.warmupSeconds,
    durationSeconds: plan.durationSeconds,
  });
  // The paced generator's warm-up requests are not in result.requests, but the server's CPU for them is.
  const sent = result.requests + Math.round(rate * plan.warmupSeconds);
  return withServerUsage(result, rss.stop(), cpu.stop(sent), { before, after: loadAverage1m() });
}

function withServerUsage(
  result: Omit<MeasuredRun, 'rssMiB' | 'loadAverage' | 'cpuPerRequestUs'>,
  rssMiB: number | undefined,
  cpuPerRequestUs: ThreadCpuPerRequest | undefined,
  loadAverage: LoadAround,
): MeasuredRun {
  return { ...result, rssMiB, loadAverage, ...(cpuPerRequestUs ? { cpuPerRequestUs } : {}) };
}

export function summarisePass(runs: MeasuredRun[], offeredRate?: number): PassSummary {
  const rss = runs.map((run) => run.rssMiB).filter((value): value is number => value !== undefined);
  return {
    requestsPerSecond: spread(runs.map((run) => run.requestsPerSecond)),
    p50: spread(runs.map((run) => run.p50)),
    p99: spread(runs.map((run) => run.p99)),
    rssMiB: rss.length > 0 ? spread(rss) : undefined,
    ...cpuSpread(runs),
    errors: runs.reduce((sum, run) => sum + run.errors + run.timeouts, 0),
    non2xx: runs.reduce((sum, run) => sum + run.non2xx, 0),
    mismatches: runs.reduce((sum, run) => sum + run.mismatches, 0),
    ...(offeredRate ? { offeredRate } : {}),
    runs,
  };
}

function cpuSpread(runs: readonly MeasuredRun[]): Pick<PassSummary, 'cpuPerRequestUs'> {
  const recorded = runs.flatMap((run) => (run.cpuPerRequestUs ? [run.cpuPerRequestUs] : []));
  if (recorded.length === 0) return {};
  const of = (group: keyof ThreadCpuPerRequest) => spread(recorded.map((cpu) => cpu[group]));
  return {
    cpuPerRequestUs: {
      main: of('main'),
      v8Workers: of('v8Workers'),
      libuvPool: of('libuvPool'),
      other: of('other'),
      total: of('total'),
    },
  };
}

/** One log line per run. */
export function describeRun(run: {
  requestsPerSecond: number;
  p50: number;
  p99: number;
  rssMiB: number | undefined;
  loadAverage?: LoadAround;
  bodiesReused?: number;
}): string {
  const load = run.loadAverage ? `, load ${run.loadAverage.before} → ${run.loadAverage.after}` : '';
  const reused = run.bodiesReused ? `, ${run.bodiesReused} BODIES REUSED` : '';
  return `${Math.round(run.requestsPerSecond)} req/s, p50 ${run.p50.toFixed(2)} ms, p99 ${run.p99.toFixed(2)} ms, RSS ${run.rssMiB?.toFixed(0) ?? '?'} MiB${load}${reused}`;
}

/**
 * Runs `measure` for every target in `order`, `repeats` times, interleaved (target a, b, c, then
 * a, b, c again), and returns the runs of each target.
 */
export async function interleaved<Name extends string>(
  order: readonly Name[],
  repeats: number,
  measure: (name: Name, repeat: number) => Promise<MeasuredRun>,
  log: (line: string) => void,
  label: string,
): Promise<Record<Name, MeasuredRun[]>> {
  const runs = Object.fromEntries(order.map((name) => [name, [] as MeasuredRun[]])) as Record<Name, MeasuredRun[]>;
  const width = Math.max(...order.map((name) => name.length));
  for (let repeat = 1; repeat <= repeats; repeat += 1) {
    for (const name of order) {
      const run = await measure(name, repeat);
      runs[name].push(run);
      log(`${label} ${repeat}/${repeats} ${name.padEnd(width)} ${describeRun(run)}`);
    }
  }
  return runs;
}

/** Summaries of every target's runs. */
export function summariseAll<Name extends string>(
  runs: Record<Name, MeasuredRun[]>,
  offeredRate?: (name: Name) => number,
): Record<Name, PassSummary> {
  return Object.fromEntries(
    (Object.entries(runs) as Array<[Name, MeasuredRun[]]>).map(([name, list]) => [
      name,
      summarisePass(list, offeredRate?.(name)),
    ]),
  ) as Record<Name, PassSummary>;
}

/**
 * The plan with BENCH_DURATION_SECONDS, BENCH_WARMUP_SECONDS and BENCH_REPEATS applied, for
 * trying a scenario out quickly; the published results use the defaults.
 */
export function planFromEnvironment<Plan extends MeasurePlan>(defaults: Plan, env = process.env): Plan {
  return {
    ...defaults,
    durationSeconds: Number(env.BENCH_DURATION_SECONDS ?? defaults.durationSeconds),
    warmupSeconds: Number(env.BENCH_WARMUP_SECONDS ?? defaults.warmupSeconds),
    repeats: Number(env.BENCH_REPEATS ?? defaults.repeats),
  };
}

/** A server with the requests each of its runs sends. */
export interface LoadTarget extends MeasuredServer {
  requests: RequestSpec;
}

export interface PeakAndPaced<Name extends string> {
  peak: Record<Name, PassSummary>;
  /** At `fraction` of each target's own median peak rate. */
  paced: Record<Name, PassSummary>;
}

/**
 * Every target at peak (interleaved repeats), then every target at `fraction` of its own median
 * peak rate with the paced generator (interleaved repeats).
 */
export async function measurePeakThenPaced<Name extends string>(
  targets: Record<Name, LoadTarget>,
  plan: MeasurePlan & { order: readonly Name[] },
  fraction: number,
  log: (line: string) => void,
  labels: { peak: string; paced: string } = { peak: 'peak', paced: 'paced' },
): Promise<PeakAndPaced<Name>> {
  const lastRate: Partial<Record<Name, number>> = {};
  const peak = summariseAll(
    await interleaved(
      plan.order,
      plan.repeats,
      async (name) => {
        const run = await measurePeak(targets[name], targets[name].requests, plan, lastRate[name]);
        lastRate[name] = run.requestsPerSecond;
        return run;
      },
      log,
      labels.peak,
    ),
  );
  const rate = (name: Name) => Math.max(1, Math.round(peak[name].requestsPerSecond.median * fraction));
  const paced = summariseAll(
    await interleaved(
      plan.order,
      plan.repeats,
      (name) => measureAtRate(targets[name], targets[name].requests, plan, rate(name)),
      log,
      labels.paced,
    ),
    rate,
  );
  return { peak, paced };
}
