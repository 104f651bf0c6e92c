import assert from 'node:assert/strict';

export interface AtLeastOnceDelivery {
  /** Calls the peer received for the one thing delivered. */
  calls: number;
  /** Attempts the sender saw fail meanwhile (logged, or counted by its outbox). */
  failedAttempts: number;
  /** What was delivered to whom, for the message, e.g. `RevokeByClient for client-1`. */
  what: string;
  /** The failures' messages, for the message. */
  failures?: readonly string[];
}

/**
 * Asserts an at-least-once delivery (a durable outbox's promise): the peer was called once, or
 * again only after an attempt the sender saw fail. A call that outlived its deadline on a busy
 * machine may still have reached the peer, so its retry is no defect; a repeat with no failure to
 * explain it is.
 *
 * @example
 * assertDeliveredAtLeastOnce({ calls: peer.revoked.length, failedAttempts: entry.attempts, what: `RevokeByConsent for ${consentId}` });
 */
export function assertDeliveredAtLeastOnce({ calls, failedAttempts, what, failures = [] }: AtLeastOnceDelivery): void {
  assert.ok(
    calls >= 1 && calls <= 1 + failedAttempts,
    `${calls} call(s): ${what}, after ${failedAttempts} failed attempt(s)` +
      (failures.length > 0 ? `: ${failures.join('; ')}` : ''),
  );
}
