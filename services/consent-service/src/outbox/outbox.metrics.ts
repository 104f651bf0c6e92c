import { Counter, Gauge, type Registry } from 'prom-client';
import type { OutboxOutcome } from './outbox.service';

/**
 * Prometheus metrics of the service's outboxes, labelled by outbox (`revocation`, `decision`):
 * `consent_outbox_deliveries_total{outbox,outcome}` counts attempts (delivered, retried,
 * abandoned); `consent_outbox_pending_entries{outbox}` is read from MongoDB at each scrape, so
 * every replica reports the same backlog (alert on it growing, not on the sum across replicas).
 *
 * @example
 * const outboxes = createOutboxMetrics(metrics.registry);
 * outboxes.trackPending('decision', () => outbox.countPending());
 * createDecisionRelay({ ..., onOutcome: outboxes.outcomesOf('decision') });
 */
export function createOutboxMetrics(registry: Registry) {
  const pendingCounters = new Map<string, () => Promise<number>>();
  const deliveries = new Counter({
    name: 'consent_outbox_deliveries_total',
    help: 'Delivery attempts of outbox entries to auth-server, by outbox and outcome (delivered, retried, abandoned)',
    labelNames: ['outbox', 'outcome'] as const,
    registers: [registry],
  });
  new Gauge({
    name: 'consent_outbox_pending_entries',
    help: 'Outbox entries still waiting for delivery to auth-server, by outbox (read from MongoDB at scrape time)',
    labelNames: ['outbox'] as const,
    registers: [registry],
    async collect() {
      await Promise.all(
        [...pendingCounters].map(async ([outbox, countPending]) => {
          // A scrape must not fail while MongoDB is away (readiness reports that): the last value stays.
          const count = await countPending().catch(() => undefined);
          if (count !== undefined) this.set({ outbox }, count);
        }),
      );
    },
  });
  return {
    /** The `onOutcome` callback of a relay. */
    outcomesOf(outbox: string): (outcome: OutboxOutcome) => void {
      return (outcome) => deliveries.inc({ outbox, outcome });
    },
    trackPending(outbox: string, countPending: () => Promise<number>): void {
      pendingCounters.set(outbox, countPending);
    },
  };
}
