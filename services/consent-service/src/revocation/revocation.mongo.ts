import type { Connection } from 'mongoose';
import { consentModelOf } from '../consents/consents.mongo';
import { createMongoOutbox } from '../outbox/outbox.mongo';
import type { RevocationOutbox } from './revocation.service';

/**
 * The revocation outbox in MongoDB: the `cascade` field of each consent, written by the same
 * single-document update that revokes or expires it, so no revocation can be recorded without
 * its outbox entry (no multi-document transaction needed).
 *
 * @example
 * const outbox = createMongoRevocationOutbox(connection);
 */
export function createMongoRevocationOutbox(connection: Connection): RevocationOutbox {
  return createMongoOutbox({
    model: consentModelOf(connection),
    path: 'cascade',
    toEntry: (consent) =>
      consent.cascade
        ? { consentId: consent._id, reason: consent.cascade.reason, attempts: consent.cascade.attempts }
        : undefined,
    idOf: (entry) => entry.consentId,
  });
}
