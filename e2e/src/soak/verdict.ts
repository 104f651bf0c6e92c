// The soak's verdict (issue 12: "zero errors, flat p99, flat memory; a leak fails the run") as
// pure functions of the 10-second windows the run recorded, so the rules are written down once,
// unit-tested, and applied the same way by the CI test and the full run.

/** One operation's figures in a span of the run (a window, or a third of the soak). */
export interface OperationFigures {
  count: number;
  errors: number;
  /** Milliseconds from when the operation was due (its journey's slot) or started, see soak.ts. */
  p50: number;
  p99: number;
}

/** One service process at one sample. */
export interface MemorySample {
  /** VmRSS of /proc/<pid>/status. */
  rssMiB: number;
  /** prom-client's nodejs_heap_size_used_bytes from the service's ops port. */
  heapUsedMiB: number;
}

/**
 * A service's memory in one window: the sample at its end, the lowest RSS of the samples taken
 * every few seconds within it, and the heap used right after a full garbage collection that the
 * soak asked for at its end (collect-on-signal.ts; the lower of two, 300 ms apart). Without that,
 * heap used is a sawtooth whose old-space garbage piles up for minutes between major
 * collections; after one, it is what a leak grows.
 */
export interface WindowMemory extends MemorySample {
  rssFloorMiB: number;
  heapAfterGcMiB: number;
}

/** What was sampled in one 10-second window of the soak. */
export interface SoakWindow {
  /** Seconds since the soak (the paced phase) began, at the window's end. */
  atSeconds: number;
  /** Warm-up windows are reported but judged by nothing. */
  warmUp: boolean;
  /** Operations completed in this window, by operation. */
  operations: Record<string, OperationFigures>;
  memory: Record<string, WindowMemory>;
  /** The machine's 1-minute load average at the window's end: was the machine shared? */
  loadAverage: number;
}

/** The limits a run is judged by; the full run and the CI run state their own (see thresholds). */
export interface SoakThresholds {
  /** The last third's p99 may be at most this multiple of the first third's … */
  p99Factor: number;
  /** … plus this many milliseconds (scheduling noise of a shared 2-core machine). */
  p99SlackMs: number;
  /** Operations with fewer samples than this in either third are reported, not judged. */
  p99MinSamples: number;
  /** Least-squares slope of heap used after collection over the judged span, MiB per minute. */
  heapSlopeMiBPerMinute: number;
  /** The span of post-warm-up windows the heap slope is fitted to: the second half, or all. */
  heapSlopeSpan: 'second-half' | 'all';
  /** Median RSS floor of the last third minus that of the first third (after warm-up), MiB. */
  rssGrowthMiB: number;
}

export interface Check {
  name: string;
  limit: string;
  measured: string;
  passed: boolean;
}

export interface Verdict {
  passed: boolean;
  checks: Check[];
}

/**
 * The nearest-rank percentile (0 < p ≤ 100) of ascending samples, as bench/src/harness/stats.ts
 * computes it (e2e may not import bench, so the four lines live here too); 0 for no samples.
 *
 * @example
 * percentileOfSorted([1, 2, 3, 4], 50); // 2
 */
export function percentileOfSorted(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/** Figures of a set of latencies (ms) and an error count. */
export function figuresOf(latencies: readonly number[], errors: number): OperationFigures {
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    count: sorted.length,
    errors,
    p50: percentileOfSorted(sorted, 50),
    p99: percentileOfSorted(sorted, 99),
  };
}

/**
 * The ordinary least-squares slope of y over x; 0 for fewer than two points.
 *
 * @example
 * leastSquaresSlope([0, 1, 2], [5, 7, 9]); // 2
 */
export function leastSquaresSlope(xs: readonly number[], ys: readonly number[]): number {
  const n = Math.min(xs.length, ys.length);
  if (n < 2) return 0;
  const meanX = xs.slice(0, n).reduce((sum, x) => sum + x, 0) / n;
  const meanY = ys.slice(0, n).reduce((sum, y) => sum + y, 0) / n;
  let covariance = 0;
  let variance = 0;
  for (let i = 0; i < n; i += 1) {
    covariance += (xs[i]! - meanX) * (ys[i]! - meanY);
    variance += (xs[i]! - meanX) ** 2;
  }
  return variance === 0 ? 0 : covariance / variance;
}

const medianOf = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

/** The post-warm-up windows cut into first, middle and last thirds (the middle takes the rest). */
export function thirds<Item>(items: readonly Item[]): [Item[], Item[], Item[]] {
  const size = Math.max(1, Math.floor(items.length / 3));
  return [items.slice(0, size), items.slice(size, items.length - size), items.slice(items.length - size)];
}

/** Per-service memory trend over the judged windows (RSS floors, heap after collection). */
export interface MemoryTrend {
  heapSlopeMiBPerMinute: number;
  rssFirstThirdMiB: number;
  rssLastThirdMiB: number;
  heapFirstThirdMiB: number;
  heapLastThirdMiB: number;
}

export function memoryTrend(windows: readonly SoakWindow[], service: string, span: SoakThresholds['heapSlopeSpan']) {
  const judged = windows.filter((window) => !window.warmUp && window.memory[service]);
  const fitted = span === 'second-half' ? judged.slice(Math.floor(judged.length / 2)) : judged;
  const [first, , last] = thirds(judged);
  const of = (part: SoakWindow[], key: 'rssFloorMiB' | 'heapAfterGcMiB') =>
    medianOf(part.map((window) => window.memory[service]![key]));
  return {
    heapSlopeMiBPerMinute: leastSquaresSlope(
      fitted.map((window) => window.atSeconds / 60),
      fitted.map((window) => window.memory[service]!.heapAfterGcMiB),
    ),
    rssFirstThirdMiB: of(first, 'rssFloorMiB'),
    rssLastThirdMiB: of(last, 'rssFloorMiB'),
    heapFirstThirdMiB: of(first, 'heapAfterGcMiB'),
    heapLastThirdMiB: of(last, 'heapAfterGcMiB'),
  } satisfies MemoryTrend;
}

/**
 * Zero errors over the whole soak (warm-up included); for each operation with enough samples,
 * the last third's p99 within `p99Factor ×` the first third's plus `p99SlackMs`; for each
 * service, the heap's least-squares slope and the RSS growth between the first and last thirds
 * within their limits. `latencies` holds every completed operation's latency by window index
 * and operation, so a third's p99 is taken over its samples, not averaged from windows.
 */
export function judgeSoak(options: {
  windows: readonly SoakWindow[];
  latencies: ReadonlyArray<Record<string, number[]>>;
  services: readonly string[];
  thresholds: SoakThresholds;
}): Verdict & { p99ByThird: Record<string, [number, number, number]>; memory: Record<string, MemoryTrend> } {
  const { windows, latencies, services, thresholds } = options;
  const checks: Check[] = [];
  const errors = windows.reduce(
    (sum, window) => sum + Object.values(window.operations).reduce((inner, figures) => inner + figures.errors, 0),
    0,
  );
  const operations = windows.reduce((sum, window) => sum + (window.operations.journey?.count ?? 0), 0);
  checks.push({
    name: 'errors (every operation, warm-up included)',
    limit: 'none',
    measured: `${errors} in ${operations} journeys`,
    passed: errors === 0 && operations > 0,
  });

  const judgedIndexes = windows.flatMap((window, index) => (window.warmUp ? [] : [index]));
  const parts = thirds(judgedIndexes);
  const names = [...new Set(windows.flatMap((window) => Object.keys(window.operations)))].sort();
  const p99ByThird: Record<string, [number, number, number]> = {};
  for (const name of names) {
    const samples = parts.map((part) =>
      part.flatMap((index) => latencies[index]?.[name] ?? []).sort((a, b) => a - b),
    ) as [number[], number[], number[]];
    p99ByThird[name] = samples.map((sorted) => percentileOfSorted(sorted, 99)) as [number, number, number];
    const [first, , last] = samples;
    if (first.length < thresholds.p99MinSamples || last.length < thresholds.p99MinSamples) continue;
    const [firstP99, , lastP99] = p99ByThird[name];
    const limit = firstP99 * thresholds.p99Factor + thresholds.p99SlackMs;
    checks.push({
      name: `p99 flat: ${name}`,
      limit: `last third ≤ ${thresholds.p99Factor} × first + ${thresholds.p99SlackMs} ms = ${Math.round(limit)} ms`,
      measured: `${Math.round(firstP99)} → ${Math.round(lastP99)} ms`,
      passed: lastP99 <= limit,
    });
  }

  const memory: Record<string, MemoryTrend> = {};
  for (const service of services) {
    const trend = memoryTrend(windows, service, thresholds.heapSlopeSpan);
    memory[service] = trend;
    checks.push({
      name: `heap flat: ${service}`,
      limit: `slope ≤ ${thresholds.heapSlopeMiBPerMinute} MiB/min (${thresholds.heapSlopeSpan === 'second-half' ? 'second half' : 'after warm-up'})`,
      measured: `${trend.heapSlopeMiBPerMinute.toFixed(2)} MiB/min`,
      passed: trend.heapSlopeMiBPerMinute <= thresholds.heapSlopeMiBPerMinute,
    });
    const growth = trend.rssLastThirdMiB - trend.rssFirstThirdMiB;
    checks.push({
      name: `RSS flat: ${service}`,
      limit: `last third − first third ≤ ${thresholds.rssGrowthMiB} MiB`,
      measured: `${Math.round(trend.rssFirstThirdMiB)} → ${Math.round(trend.rssLastThirdMiB)} MiB (${growth >= 0 ? '+' : ''}${Math.round(growth)})`,
      passed: growth <= thresholds.rssGrowthMiB,
    });
  }
  return { passed: checks.every((check) => check.passed), checks, p99ByThird, memory };
}
