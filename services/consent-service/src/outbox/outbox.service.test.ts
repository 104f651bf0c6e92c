import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { createOutboxMetrics } from './outbox.metrics';
import { relayBackoffMs } from './outbox.service';

// The relays themselves run against the real server and a real gRPC peer in
// revocation.service.test.ts and ciba.delivery.service.test.ts.
describe('the outbox relay’s backoff and metrics', () => {
  test('backs off exponentially up to the maximum, with jitter in the upper half', () => {
    for (let attempt = 1; attempt <= 10; attempt += 1) {
      const delay = relayBackoffMs(attempt, 100, 1_000);
      const base = Math.min(100 * 2 ** (attempt - 1), 1_000);
      assert.ok(delay >= base / 2 && delay <= base, `attempt ${attempt}: ${delay}`);
    }
  });

  test('counts outcomes per outbox and reads the backlog at scrape time', async () => {
    const registry = new Registry();
    const metrics = createOutboxMetrics(registry);
    let pending = 3;
    metrics.trackPending('decision', async () => pending);
    metrics.trackPending('revocation', () => Promise.reject(new Error('MongoDB is away')));
    metrics.outcomesOf('decision')('retried');
    metrics.outcomesOf('decision')('delivered');
    metrics.outcomesOf('revocation')('abandoned');

    let text = await registry.metrics();
    assert.match(text, /consent_outbox_pending_entries\{outbox="decision"\} 3/);
    assert.doesNotMatch(text, /consent_outbox_pending_entries\{outbox="revocation"\}/, 'no value is made up');
    assert.match(text, /consent_outbox_deliveries_total\{outbox="decision",outcome="retried"\} 1/);
    assert.match(text, /consent_outbox_deliveries_total\{outbox="decision",outcome="delivered"\} 1/);
    assert.match(text, /consent_outbox_deliveries_total\{outbox="revocation",outcome="abandoned"\} 1/);

    pending = 0;
    text = await registry.metrics();
    assert.match(text, /consent_outbox_pending_entries\{outbox="decision"\} 0/);
  });
});
