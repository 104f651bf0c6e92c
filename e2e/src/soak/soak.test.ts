// The soak in its bounded CI form (issue 12: "the suite runs in CI in a bounded form (short
// soak), and fully with one documented command"): the same platform, mix, peak search and
// verdict as `npx nx run bench:bench:soak`, with a 45-second soak and limits suited to it.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { attachServerLogsOnFailure } from '@obip/testing';
import { platformLogSources } from '../platform/platform';
import { FULL_PLAN, runSoak, startSoakPlatform, type SoakPlan, type SoakPlatform } from './soak';

/**
 * 40 s at half the peak after a 2 × 8 s peak search: 76–96 s with the platform's start on a
 * loaded 2-core machine. The judged span is 30 s (three windows), too short for the full run's
 * second-half heap fit, so the slope is fitted to every judged window, where a step of 1 MiB
 * reads as 2 MiB/min: healthy CI runs measured up to 2.2 MiB/min; the limit of 6 still fails a
 * leak of the size the full run's demonstration injected (32 KiB per request: 7.4 MiB/min at
 * 0.22 journeys/s, more at a higher rate; see bench/README.md). p99 thirds of 5–20 samples
 * are near their maxima, hence the wider factor and slack; RSS floors moved by ≤ 2 MiB.
 */
const CI_PLAN: SoakPlan = {
  ...FULL_PLAN,
  peakConcurrency: [1, 2],
  peakStepSeconds: 8,
  soakSeconds: 40,
  warmUpSeconds: 10,
  journeyTimeoutSeconds: 30,
  thresholds: {
    p99Factor: 3,
    p99SlackMs: 2_000,
    p99MinSamples: 5,
    heapSlopeMiBPerMinute: 6,
    heapSlopeSpan: 'all',
    rssGrowthMiB: 32,
  },
};

let started: SoakPlatform | undefined;
attachServerLogsOnFailure({ sources: [platformLogSources(() => started?.platform)] });

before(async () => {
  // token-introspection answers 503 when consent-service or dcr-service misses its 1 s production
  // deadline. CI runs this soak beside every other test file (load averages 9–17 on two cores),
  // where a healthy consent-service once did (DEADLINE_EXCEEDED after 1.013 s). This test judges
  // errors and steadiness, not latency; `bench:soak` runs with the production deadline.
  started = await startSoakPlatform('soak_ci', { 'token-introspection': { PEER_DEADLINE_MS: '10000' } });
});
after(async () => {
  await started?.stop();
});

// 73–80 s measured (load averages 9–17); the margin is for a CI runner shared with other test files.
test('a short soak through the edge: zero errors, flat p99, flat memory', { timeout: 180_000 }, async (t) => {
  const results = await runSoak(started!, CI_PLAN, (line) => t.diagnostic(line), t.signal);
  t.diagnostic(
    `peak ${results.peak.journeysPerSecond.toFixed(2)} journeys/s, soaked at ${results.rate.toFixed(2)} journeys/s`,
  );
  for (const check of results.checks)
    t.diagnostic(`${check.passed ? 'pass' : 'FAIL'} ${check.name}: ${check.measured} (${check.limit})`);

  // Every operation of the mix ran and was timed, windows were sampled for every service.
  for (const operation of ['cc-token', 'intent', 'par', 'login-consent', 'token', 'introspect', 'bank', 'journey'])
    assert.ok((results.totals[operation]?.count ?? 0) > 0, `no ${operation} completed in the soak`);
  assert.ok(results.windows.length >= 4, `${results.windows.length} windows`);
  for (const window of results.windows)
    for (const service of results.services) {
      assert.ok(window.memory[service]!.rssMiB > 0, `${service} RSS at ${window.atSeconds} s`);
      assert.ok(window.memory[service]!.heapUsedMiB > 0, `${service} heap at ${window.atSeconds} s`);
    }

  assert.deepEqual(results.errorSamples, [], 'no operation failed');
  const failed = results.checks.filter((check) => !check.passed);
  assert.deepEqual(
    failed.map((check) => `${check.name}: ${check.measured} (${check.limit})`),
    [],
    'every verdict check passed',
  );
  assert.equal(results.passed, true);
});
