// Summaries of repeated benchmark runs (issue 11: median reported with min/max) and the small
// formatting helpers the markdown tables use. Pure functions, unit-tested.

/** Median with the range it came from. */
export interface Spread {
  median: number;
  min: number;
  max: number;
}

/** The median of the values (the mean of the two middle ones for an even count). Throws on an empty list. */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('median of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export function spread(values: readonly number[]): Spread {
  if (values.length === 0) throw new RangeError('spread of no values');
  return { median: median(values), min: Math.min(...values), max: Math.max(...values) };
}

/**
 * The nearest-rank percentile (0 < p ≤ 100) of samples that are already sorted ascending,
 * as HDR histograms and autocannon report it: the smallest sample with at least p% of the
 * samples at or below it.
 */
export function percentileOfSorted(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) throw new RangeError('percentile of no samples');
  if (!(p > 0 && p <= 100)) throw new RangeError('percentile must be in (0, 100]');
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/** `a / b`, or undefined when either side is missing or b is zero. */
export function ratio(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined || b === undefined || b === 0) return undefined;
  return a / b;
}

/** A number for a table cell: thousands grouped for large values, `digits` decimals for small ones. */
export function formatNumber(value: number | undefined, digits = 1): string {
  if (value === undefined || Number.isNaN(value)) return '–';
  if (Math.abs(value) >= 1000) return Math.round(value).toLocaleString('en-GB');
  return value.toFixed(digits);
}

/** `median (min–max)`. */
export function formatSpread(value: Spread | undefined, digits = 1): string {
  if (!value) return '–';
  return `${formatNumber(value.median, digits)} (${formatNumber(value.min, digits)}–${formatNumber(value.max, digits)})`;
}

/** A GitHub-flavoured markdown table; cells are escaped for `|`. */
export function markdownTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const escape = (cell: string) => cell.replace(/\|/g, '\\|');
  const line = (cells: readonly string[]) => `| ${cells.map(escape).join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}
