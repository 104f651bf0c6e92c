/**
 * The revocation relay: delivers every pending token cascade (written atomically with the
 * consent's revocation or expiry) to auth-server's tokens.v1 RevokeByConsent, retrying with
 * backoff until it is acknowledged (ARCHITECTURE: "a cascade that fails is retried from a
 * durable outbox, never dropped"). RevokeByConsent is idempotent, so an entry delivered twice
 * (two replicas, a crash after the call) is harmless; the outbox only has to make it rare.
 */
import {
  createOutboxRelay,
  type Outbox,
  type OutboxRelay,
  type OutboxTiming,
  type RelayLogger,
} from '../outbox/outbox.service';

/** One consent whose tokens are still to be revoked. */
export interface PendingCascade {
  consentId: string;
  reason: string;
  attempts: number;
}

/** The durable outbox (`revocation.mongo.ts`: the cascade field of each consent). */
export type RevocationOutbox = Outbox<PendingCascade>;

/** auth-server's tokens.v1 RevokeByConsent, as this service needs it (`tokens/tokens.grpc.ts`). */
export interface TokenRevoker {
  revokeByConsent(consentId: string, reason: string): Promise<number>;
}

export interface RevocationRelayOptions extends OutboxTiming {
  outbox: RevocationOutbox;
  revoker: TokenRevoker;
  logger: RelayLogger;
}

export type RevocationRelay = OutboxRelay;

/**
 * @example
 * const relay = createRevocationRelay({ outbox, revoker, logger, pollMs: 2000, initialBackoffMs: 500, maxBackoffMs: 300_000 });
 * relay.start();
 */
export function createRevocationRelay(options: RevocationRelayOptions): RevocationRelay {
  const { revoker, ...relay } = options;
  return createOutboxRelay({
    ...relay,
    label: 'token revocation',
    describe: (entry) => ({ consentId: entry.consentId }),
    // auth-server answers every revocation (revoked_count 0 when nothing was left): no refusal is final.
    async deliver(entry) {
      const revoked = await revoker.revokeByConsent(entry.consentId, entry.reason);
      return { outcome: 'delivered', details: { revoked } };
    },
  });
}
