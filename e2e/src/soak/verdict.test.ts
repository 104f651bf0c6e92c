// The soak's verdict rules on made-up windows: a flat run passes; one error, a p99 that grows, a
// heap that climbs or an RSS that swells each fail it, and only that check.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { heapUsedMiBOf } from './memory';
import {
  judgeSoak,
  leastSquaresSlope,
  percentileOfSorted,
  thirds,
  type SoakThresholds,
  type SoakWindow,
} from './verdict';

const THRESHOLDS: SoakThresholds = {
  p99Factor: 2,
  p99SlackMs: 100,
  p99MinSamples: 20,
  heapSlopeMiBPerMinute: 1,
  heapSlopeSpan: 'second-half',
  rssGrowthMiB: 48,
};

/** 13 windows of 10 s (the first a warm-up), 30 journeys each, with these overrides. */
function run(
  options: {
    latency?: (window: number) => number;
    heap?: (window: number) => number;
    rss?: (window: number) => number;
    errorsIn?: number;
  } = {},
) {
  const windows: SoakWindow[] = [];
  const latencies: Array<Record<string, number[]>> = [];
  for (let i = 0; i < 13; i += 1) {
    const base = options.latency?.(i) ?? 800;
    const samples = Array.from({ length: 30 }, (_, k) => base + (k % 10) * 10);
    // Floors that wobble by a few MiB, as they do between collections.
    const rss = options.rss?.(i) ?? 300 + (i % 3) * 8;
    const heap = options.heap?.(i) ?? 80 + ((i * 7) % 3) * 3 - 3;
    latencies.push({ journey: samples });
    windows.push({
      atSeconds: (i + 1) * 10,
      warmUp: i === 0,
      operations: { journey: { count: 30, errors: i === options.errorsIn ? 1 : 0, p50: base, p99: base + 90 } },
      memory: {
        svc: {
          rssMiB: rss + 40,
          heapUsedMiB: heap + 30,
          rssFloorMiB: rss,
          heapAfterGcMiB: heap,
        },
      },
      loadAverage: 1,
    });
  }
  return judgeSoak({ windows, latencies, services: ['svc'], thresholds: THRESHOLDS });
}

const failedChecks = (verdict: ReturnType<typeof run>) =>
  verdict.checks.filter((check) => !check.passed).map((check) => check.name);

describe('the soak verdict', () => {
  test('a flat run with no errors passes every check', () => {
    const verdict = run();
    assert.deepEqual(failedChecks(verdict), []);
    assert.equal(verdict.passed, true);
    assert.deepEqual(
      verdict.checks.map((check) => check.name),
      ['errors (every operation, warm-up included)', 'p99 flat: journey', 'heap flat: svc', 'RSS flat: svc'],
    );
  });

  test('one error anywhere, even in the warm-up, fails the run', () => {
    assert.deepEqual(failedChecks(run({ errorsIn: 0 })), ['errors (every operation, warm-up included)']);
    assert.deepEqual(failedChecks(run({ errorsIn: 7 })), ['errors (every operation, warm-up included)']);
  });

  test('a p99 that more than doubles from the first third to the last fails', () => {
    const verdict = run({ latency: (window) => (window >= 9 ? 2_000 : 800) });
    assert.deepEqual(failedChecks(verdict), ['p99 flat: journey']);
    assert.deepEqual(verdict.p99ByThird.journey, [890, 890, 2_090]);
    // Within the factor and slack: a slower last third that is not a trend.
    assert.deepEqual(failedChecks(run({ latency: (window) => (window >= 9 ? 1_500 : 800) })), []);
  });

  test('a heap growing 2 MiB a minute fails; the warm-up climb before it does not count', () => {
    const leak = run({ heap: (window) => 80 + (window * 10 * 2) / 60 });
    assert.deepEqual(failedChecks(leak), ['heap flat: svc']);
    assert.ok(Math.abs(leak.memory.svc!.heapSlopeMiBPerMinute - 2) < 1e-9);
    assert.deepEqual(failedChecks(run({ heap: (window) => (window < 6 ? 40 + window * 8 : 80) })), []);
  });

  test('RSS that swells by more than the margin between the first and last thirds fails', () => {
    assert.deepEqual(failedChecks(run({ rss: (window) => 300 + window * 8 })), ['RSS flat: svc']);
    assert.deepEqual(failedChecks(run({ rss: (window) => 300 + window * 3 })), []);
  });
});

describe('the helpers', () => {
  test('nearest-rank percentile, least-squares slope, thirds', () => {
    assert.equal(percentileOfSorted([1, 2, 3, 4], 50), 2);
    assert.equal(percentileOfSorted([1, 2, 3, 4], 99), 4);
    assert.equal(percentileOfSorted([], 99), 0);
    assert.equal(leastSquaresSlope([0, 1, 2], [5, 7, 9]), 2);
    assert.equal(leastSquaresSlope([1], [5]), 0);
    assert.deepEqual(thirds([1, 2, 3, 4, 5, 6, 7]), [
      [1, 2],
      [3, 4, 5],
      [6, 7],
    ]);
  });

  test("the heap used from a service's Prometheus exposition", () => {
    const exposition = [
      '# HELP nodejs_heap_size_used_bytes Process heap size used from Node.js in bytes.',
      '# TYPE nodejs_heap_size_used_bytes gauge',
      'nodejs_heap_size_used_bytes{service="dcr-service"} 52428800',
      'nodejs_heap_size_total_bytes{service="dcr-service"} 104857600',
    ].join('\n');
    assert.equal(heapUsedMiBOf(exposition), 50);
    assert.throws(() => heapUsedMiBOf('process_cpu_seconds_total 1'), /no nodejs_heap_size_used_bytes/);
  });
});
