import { Schema, type Connection, type Model } from 'mongoose';
import { ensureExpiryIndex, isDuplicateKeyError, translateMongoError } from '@obip/mongo';
import { guard } from '../consents/consents.mongo';
import { createMongoOutbox } from '../outbox/outbox.mongo';
import type { PendingDecision, DecisionOutbox } from './ciba.delivery.service';
import type {
  AuthenticationDecision,
  DecisionDelivery,
  DecoupledAuthentication,
  RecordedAuthenticationStatus,
} from './ciba.model';
import type { DecoupledAuthenticationRepository } from './ciba.repository';

/** A request as stored in `obip_consent.decoupled_authentications`. */
interface AuthenticationDocument {
  _id: string;
  clientId: string;
  clientName: string;
  subject: string;
  scope: string;
  bindingMessage: string;
  intentId: string | null;
  status: RecordedAuthenticationStatus;
  consentId: string | null;
  createdAt: Date;
  expiresAt: Date;
  /** When the document may be removed (TTL index, or the purge sweep where there is none). */
  purgeAt: Date;
  decision: AuthenticationDecision | null;
  /** The decision outbox entry. */
  delivery: DecisionDelivery | null;
}

const decisionSchema = new Schema<AuthenticationDecision>(
  {
    approved: { type: Boolean, required: true },
    accountIds: { type: [String], default: [] },
    acr: { type: String, default: '' },
    amr: { type: [String], default: [] },
    actor: { type: String, required: true },
    at: { type: Date, required: true },
    consentStep: { type: String, required: true, enum: ['pending', 'done', 'failed'] },
    consentError: { type: String, default: '' },
  },
  { _id: false },
);

const deliverySchema = new Schema<DecisionDelivery>(
  {
    state: { type: String, required: true, enum: ['pending', 'delivered', 'abandoned'] },
    attempts: { type: Number, required: true },
    nextAttemptAt: { type: Date, required: true },
    lastError: { type: String, default: '' },
    deliveredAt: { type: Date, default: null },
  },
  { _id: false },
);

const authenticationSchema = new Schema<AuthenticationDocument>(
  {
    // auth-server's id is the primary key: StartAuthentication is idempotent by construction.
    _id: { type: String, required: true },
    clientId: { type: String, required: true },
    clientName: { type: String, default: '' },
    subject: { type: String, required: true },
    scope: { type: String, required: true },
    bindingMessage: { type: String, default: '' },
    intentId: { type: String, default: null },
    status: { type: String, required: true, enum: ['Pending', 'Approved', 'Denied'] },
    consentId: { type: String, default: null },
    createdAt: { type: Date, required: true },
    expiresAt: { type: Date, required: true },
    purgeAt: { type: Date, required: true },
    decision: { type: decisionSchema, default: null },
    delivery: { type: deliverySchema, default: null },
  },
  { collection: 'decoupled_authentications', versionKey: false, minimize: false },
);
// A customer's pending requests, newest first (ListPendingAuthentications, the portal).
authenticationSchema.index({ subject: 1, status: 1, createdAt: -1, _id: -1 });
authenticationSchema.index({ 'delivery.state': 1, 'delivery.nextAttemptAt': 1 });

function authenticationModelOf(connection: Connection): Model<AuthenticationDocument> {
  return (
    (connection.models.DecoupledAuthentication as Model<AuthenticationDocument> | undefined) ??
    connection.model<AuthenticationDocument>('DecoupledAuthentication', authenticationSchema)
  );
}

function toAuthentication(document: AuthenticationDocument): DecoupledAuthentication {
  const { decision, delivery } = document;
  return {
    id: document._id,
    clientId: document.clientId,
    clientName: document.clientName ?? '',
    subject: document.subject,
    scope: document.scope,
    bindingMessage: document.bindingMessage ?? '',
    intentId: document.intentId ?? undefined,
    status: document.status,
    consentId: document.consentId ?? undefined,
    createdAt: document.createdAt,
    expiresAt: document.expiresAt,
    decision: decision
      ? {
          approved: decision.approved,
          accountIds: [...(decision.accountIds ?? [])],
          acr: decision.acr ?? '',
          amr: [...(decision.amr ?? [])],
          actor: decision.actor,
          at: decision.at,
          consentStep: decision.consentStep,
          consentError: decision.consentError ?? '',
        }
      : undefined,
    delivery: delivery
      ? {
          state: delivery.state,
          attempts: delivery.attempts,
          nextAttemptAt: delivery.nextAttemptAt,
          lastError: delivery.lastError ?? '',
          deliveredAt: delivery.deliveredAt ?? null,
        }
      : undefined,
  };
}

/**
 * Decoupled authentication requests on MongoDB through mongoose. A decision is one
 * `findOneAndUpdate` filtered on status, subject and expiry, that writes the decision and its
 * outbox entry together: atomic on MongoDB. FerretDB 1.x runs it as a query then an update and
 * may let two racing decisions both pass the filter (docs/testing.md); the race test runs on
 * MongoDB only.
 *
 * @example
 * const repository = await createMongoDecoupledAuthentications(connection);
 */
export async function createMongoDecoupledAuthentications(
  connection: Connection,
): Promise<DecoupledAuthenticationRepository & { purgeIndex: 'ttl' | 'plain' }> {
  const Authentications = authenticationModelOf(connection);
  await guard(() => Authentications.createIndexes());
  // Requests are removed `purgeAt` (a day after they expire, by default): by a TTL index where the
  // server has them, and by the service's purge sweep everywhere.
  const purgeIndex = await ensureExpiryIndex(Authentications.collection, 'purgeAt');

  const findLean = (id: string) => guard(() => Authentications.findById(id).lean<AuthenticationDocument>().exec());

  return {
    purgeIndex,

    async insert(authentication, purgeAt) {
      const document: AuthenticationDocument = {
        _id: authentication.id,
        clientId: authentication.clientId,
        clientName: authentication.clientName,
        subject: authentication.subject,
        scope: authentication.scope,
        bindingMessage: authentication.bindingMessage,
        intentId: authentication.intentId ?? null,
        status: 'Pending',
        consentId: null,
        createdAt: authentication.createdAt,
        expiresAt: authentication.expiresAt,
        purgeAt,
        decision: null,
        delivery: null,
      };
      try {
        await Authentications.create(document);
        return { authentication: toAuthentication(document), created: true };
      } catch (error) {
        if (!isDuplicateKeyError(error)) return translateMongoError(error);
      }
      const existing = await findLean(authentication.id);
      if (!existing) throw new Error('a decoupled authentication vanished after a duplicate-key error');
      return { authentication: toAuthentication(existing), created: false };
    },

    async findById(id) {
      const found = await findLean(id);
      return found ? toAuthentication(found) : undefined;
    },

    async listPending(subject, now, limit) {
      const found = await guard(() =>
        Authentications.find({ subject, status: 'Pending', expiresAt: { $gt: now } })
          .sort({ createdAt: -1, _id: -1 })
          .limit(limit)
          .lean<AuthenticationDocument[]>()
          .exec(),
      );
      return found.map(toAuthentication);
    },

    async recordDecision(change) {
      const updated = await guard(() =>
        Authentications.findOneAndUpdate(
          { _id: change.id, subject: change.subject, status: 'Pending', expiresAt: { $gt: change.now } },
          {
            $set: {
              status: change.decision.approved ? 'Approved' : 'Denied',
              consentId: change.consentId ?? null,
              decision: change.decision,
              delivery: change.delivery,
            },
          },
          { returnDocument: 'after' },
        )
          .lean<AuthenticationDocument>()
          .exec(),
      );
      return updated ? toAuthentication(updated) : undefined;
    },

    async recordConsentStep(id, step, error) {
      const updated = await guard(() =>
        Authentications.findOneAndUpdate(
          { _id: id, 'decision.consentStep': 'pending' },
          { $set: { 'decision.consentStep': step, 'decision.consentError': error } },
          { returnDocument: 'after' },
        )
          .lean<AuthenticationDocument>()
          .exec(),
      );
      return updated ? toAuthentication(updated) : undefined;
    },

    async purgeDue(now) {
      const { deletedCount } = await guard(() => Authentications.deleteMany({ purgeAt: { $lte: now } }).exec());
      return deletedCount;
    },
  };
}

/**
 * The decision outbox: the `delivery` field of each decided request, written by the same update
 * that records the decision.
 *
 * @example
 * const outbox = createMongoDecisionOutbox(connection);
 */
export function createMongoDecisionOutbox(connection: Connection): DecisionOutbox {
  return createMongoOutbox<AuthenticationDocument, PendingDecision>({
    model: authenticationModelOf(connection),
    path: 'delivery',
    toEntry: (document) =>
      document.delivery
        ? { authentication: toAuthentication(document), attempts: document.delivery.attempts }
        : undefined,
    idOf: (entry) => entry.authentication.id,
  });
}
