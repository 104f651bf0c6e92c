// Markdown tables every HTTP scenario's section shows, from PassSummary results: at peak with
// ratios to the baselines, at a paced rate, the load average around each run, and a plain
// statement of whether the machine was shared while it was measured.
import type { LoadAround, PassSummary } from './passes';
import { formatNumber, formatSpread, markdownTable, ratio } from './stats';

const outcome = (pass: PassSummary) => `${pass.errors} / ${pass.non2xx} / ${pass.mismatches}`;

/** Peak results, one row per target, with each target's throughput over the baselines'. */
export function peakTable<Name extends string>(
  order: readonly Name[],
  labels: Record<Name, string>,
  peak: Record<Name, PassSummary>,
  baselines: Partial<Record<'floor' | 'engine', Name>>,
  mismatchLabel = 'wrong answer',
): string {
  const over = (name: Name, baseline: Name | undefined) =>
    baseline
      ? [formatNumber(ratio(peak[name].requestsPerSecond.median, peak[baseline].requestsPerSecond.median), 2)]
      : [];
  return markdownTable(
    [
      'target',
      'req/s',
      'p50 ms',
      'p99 ms',
      'peak RSS MiB',
      `errors / non-2xx / ${mismatchLabel}`,
      ...(baselines.floor ? ['× floor'] : []),
      ...(baselines.engine ? ['× engine'] : []),
    ],
    order.map((name) => [
      labels[name],
      formatSpread(peak[name].requestsPerSecond, 0),
      formatSpread(peak[name].p50, 2),
      formatSpread(peak[name].p99, 2),
      formatSpread(peak[name].rssMiB, 0),
      outcome(peak[name]),
      ...over(name, baselines.floor),
      ...over(name, baselines.engine),
    ]),
  );
}

/**
 * Paced results: offered and achieved rate, latency, outcomes, RSS, and how late the generator
 * itself sent requests (the worst run's p99; – for runs measured before it was recorded).
 */
export function pacedTable<Name extends string>(
  order: readonly Name[],
  labels: Record<Name, string>,
  paced: Record<Name, PassSummary>,
  mismatchLabel = 'wrong answer',
): string {
  const late = (pass: PassSummary) => {
    const values = pass.runs.flatMap((run) => (run.generatorLateP99 === undefined ? [] : [run.generatorLateP99]));
    return values.length > 0 ? formatNumber(Math.max(...values), 1) : '–';
  };
  return markdownTable(
    [
      'target',
      'offered req/s',
      'achieved req/s',
      'p50 ms',
      'p99 ms',
      'peak RSS MiB',
      `errors / non-2xx / ${mismatchLabel}`,
      'generator late, p99 ms',
    ],
    order.map((name) => [
      labels[name],
      formatNumber(paced[name].offeredRate, 0),
      formatSpread(paced[name].requestsPerSecond, 0),
      formatSpread(paced[name].p50, 2),
      formatSpread(paced[name].p99, 2),
      formatSpread(paced[name].rssMiB, 0),
      outcome(paced[name]),
      late(paced[name]),
    ]),
  );
}

const around = (load: LoadAround | undefined) => (load ? `${load.before.toFixed(2)} → ${load.after.toFixed(2)}` : '–');

/** The 1-minute load average just before → just after each measured run, in run order. */
export function loadAverageTable<Name extends string>(
  order: readonly Name[],
  labels: Record<Name, string>,
  passes: ReadonlyArray<{ label: string; pass: Record<Name, PassSummary> }>,
): string {
  return markdownTable(
    ['target', ...passes.map(({ label }) => `${label}: run 1, 2, 3…`)],
    order.map((name) => [
      labels[name],
      ...passes.map(({ pass }) => pass[name].runs.map((run) => around(run.loadAverage)).join(', ')),
    ]),
  );
}

/** The highest 1-minute load average seen around any measured run. */
export function highestLoad(passes: ReadonlyArray<Record<string, PassSummary>>): number | undefined {
  const loads = passes.flatMap((pass) =>
    Object.values(pass).flatMap((summary) =>
      summary.runs.flatMap((run) => (run.loadAverage ? [run.loadAverage.before, run.loadAverage.after] : [])),
    ),
  );
  return loads.length > 0 ? Math.max(...loads) : undefined;
}

/**
 * What the load average says about the conditions: a closed-loop run keeps about one task per
 * core busy (server, load generator, Redis), so a 1-minute average around the runs well above
 * the core count means other work (builds, test suites) competed for the cores. The average
 * when the scenario started is reported but decides nothing: it still carries whatever ran
 * in the minutes before.
 */
export function machineLoadNote(options: {
  cores: number;
  /** Before anything was started, and after everything stopped. */
  scenario: LoadAround | undefined;
  highest: number | undefined;
}): string {
  const { cores, scenario, highest } = options;
  if (highest === undefined) return '';
  const threshold = cores + 1.5;
  const start = scenario
    ? ` (${scenario.before.toFixed(2)} before the first server started, ${scenario.after.toFixed(2)} after the last run)`
    : '';
  if (highest > threshold)
    return `**Measured on a shared machine.** The 1-minute load average reached ${highest.toFixed(2)} on ${cores} cores around the measured runs${start}; the benchmark alone keeps about ${cores}–${cores + 1} tasks runnable, so other work (another engineer's test suites) competed for the CPU during this run. Absolute figures are lower and noisier than on a quiet machine; the ratios compare targets measured interleaved, under the same conditions, and are what the targets are about.`;
  return `The 1-minute load average stayed at or below ${highest.toFixed(2)} on ${cores} cores around the measured runs${start}: about what the benchmark itself generates (server, load generator, Redis), so other work took little of the CPU during this run.`;
}

/**
 * The server's CPU per request at peak, by thread, one row per target that recorded it; an
 * empty string when none did (results measured before it was recorded). On shared cores,
 * throughput is the inverse of this total plus what the load generator and Redis spend.
 */
export function cpuPerRequestTable<Name extends string>(
  order: readonly Name[],
  labels: Record<Name, string>,
  peak: Record<Name, PassSummary>,
): string {
  const recorded = order.filter((name) => peak[name].cpuPerRequestUs !== undefined);
  if (recorded.length === 0) return '';
  return markdownTable(
    ['target', 'main thread µs', 'V8 workers (GC) µs', 'libuv pool µs', 'other threads µs', 'total µs'],
    recorded.map((name) => {
      const cpu = peak[name].cpuPerRequestUs!;
      return [
        labels[name],
        formatSpread(cpu.main, 0),
        formatSpread(cpu.v8Workers, 0),
        formatSpread(cpu.libuvPool, 0),
        formatSpread(cpu.other, 0),
        formatSpread(cpu.total, 0),
      ];
    }),
  );
}

/** {@link cpuPerRequestTable} under its heading, followed by a blank line; '' when nothing recorded it. */
export function cpuPerRequestSection<Name extends string>(
  order: readonly Name[],
  labels: Record<Name, string>,
  peak: Record<Name, PassSummary>,
): string {
  const table = cpuPerRequestTable(order, labels, peak);
  if (table === '') return '';
  return `### Server CPU per request at peak, by thread (µs; median, min–max of the runs)

${table}

`;
}
