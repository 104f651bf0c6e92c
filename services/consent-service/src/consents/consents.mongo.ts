import { createHash } from 'node:crypto';
import { Schema, type Connection, type Model } from 'mongoose';
import { isDuplicateKeyError, translateMongoError } from '@obip/mongo';
import type {
  Consent,
  ConsentHistoryEntry,
  ConsentKind,
  ConsentStatus,
  IdentityRelease,
  NewConsent,
  TokenCascade,
} from './consents.model';
import type {
  AuthorisedAtCreation,
  ConsentRepository,
  ConsentTransition,
  IdempotencyRecord,
  ListConsentsQuery,
} from './consents.repository';

/** The consent as stored in `obip_consent.consents`. */
export interface ConsentDocument {
  _id: string;
  kind: ConsentKind;
  clientId: string;
  status: ConsentStatus;
  subject: string | null;
  permissions: string[];
  accountIds: string[];
  /** Absent on consents stored before identity release existed: read as none. */
  identityRelease?: IdentityRelease[];
  scopes: string[];
  /**
   * The TPP's request and Risk block as JSON text: their member names are the TPP's, and MongoDB
   * refuses some (`$x`, `a.b`) and FerretDB also nested arrays. Consents stored before hold the
   * objects themselves, which are read as they are.
   */
  request: string | Record<string, unknown>;
  risk: string | Record<string, unknown>;
  createdAt: Date;
  statusUpdatedAt: Date;
  expiresAt: Date | null;
  authorisationDeadline: Date;
  /** When the expiry sweeper must look at it; null once final. */
  expiryDueAt: Date | null;
  history: ConsentHistoryEntry[];
  revision: number;
  cascade: TokenCascade | null;
}

const historySchema = new Schema<ConsentHistoryEntry>(
  {
    from: { type: String, default: null },
    to: { type: String, required: true },
    at: { type: Date, required: true },
    actor: { type: String, required: true },
    reason: { type: String, default: '' },
  },
  { _id: false },
);

const identityReleaseSchema = new Schema<IdentityRelease>(
  {
    trustFramework: { type: String, required: true },
    claims: { type: [String], default: [] },
  },
  { _id: false },
);

const cascadeSchema = new Schema<TokenCascade>(
  {
    state: { type: String, required: true, enum: ['pending', 'delivered'] },
    reason: { type: String, required: true },
    attempts: { type: Number, required: true },
    nextAttemptAt: { type: Date, required: true },
    lastError: { type: String, default: '' },
    deliveredAt: { type: Date, default: null },
  },
  { _id: false },
);

const consentSchema = new Schema<ConsentDocument>(
  {
    // The consent id is the primary key: unique by construction on MongoDB and FerretDB alike.
    _id: { type: String, required: true },
    kind: { type: String, required: true, enum: ['account-access', 'domestic-payment', 'generic'] },
    clientId: { type: String, required: true },
    status: { type: String, required: true },
    subject: { type: String, default: null },
    permissions: { type: [String], default: [] },
    accountIds: { type: [String], default: [] },
    identityRelease: { type: [identityReleaseSchema], default: [] },
    scopes: { type: [String], default: [] },
    request: { type: Schema.Types.Mixed, required: true },
    risk: { type: Schema.Types.Mixed, required: true },
    createdAt: { type: Date, required: true },
    statusUpdatedAt: { type: Date, required: true },
    expiresAt: { type: Date, default: null },
    authorisationDeadline: { type: Date, required: true },
    expiryDueAt: { type: Date, default: null },
    history: { type: [historySchema], default: [] },
    revision: { type: Number, required: true },
    cascade: { type: cascadeSchema, default: null },
  },
  { collection: 'consents', versionKey: false, minimize: false },
);
consentSchema.index({ clientId: 1, createdAt: -1, _id: -1 });
consentSchema.index({ subject: 1, createdAt: -1, _id: -1 });
consentSchema.index({ expiryDueAt: 1 });
consentSchema.index({ 'cascade.state': 1, 'cascade.nextAttemptAt': 1 });

interface ClaimDocument {
  _id: string;
  actor: string;
  at: Date;
}

/** One document per consumed consent; its `_id` (the consent id) is the unique claim. */
const consumptionSchema = new Schema<ClaimDocument>(
  {
    _id: { type: String, required: true },
    actor: { type: String, required: true },
    at: { type: Date, required: true },
  },
  { collection: 'consent_consumptions', versionKey: false },
);

interface IdempotencyDocument {
  _id: string;
  clientId: string;
  key: string;
  bodyHash: string;
  consentId: string;
  createdAt: Date;
}

/**
 * `_id` is a hash of (client, key): the primary key is the unique index, which FerretDB
 * enforces, and a key can never collide across clients.
 */
const idempotencySchema = new Schema<IdempotencyDocument>(
  {
    _id: { type: String, required: true },
    clientId: { type: String, required: true },
    key: { type: String, required: true },
    bodyHash: { type: String, required: true },
    consentId: { type: String, required: true },
    createdAt: { type: Date, required: true },
  },
  { collection: 'idempotency_keys', versionKey: false },
);
// The purge sweep removes keys by age (FerretDB has no TTL indexes, ARCHITECTURE: Data and state).
idempotencySchema.index({ createdAt: 1 });

/** The consents model of a connection, registered once (the revocation outbox shares it). */
export function consentModelOf(connection: Connection): Model<ConsentDocument> {
  return (
    (connection.models.Consent as Model<ConsentDocument> | undefined) ??
    connection.model<ConsentDocument>('Consent', consentSchema)
  );
}

function modelOf<T>(connection: Connection, name: string, schema: Schema<T>): Model<T> {
  return (connection.models[name] as Model<T> | undefined) ?? connection.model<T>(name, schema);
}

export function toConsent(document: ConsentDocument): Consent {
  return {
    id: document._id,
    kind: document.kind,
    clientId: document.clientId,
    status: document.status,
    subject: document.subject ?? undefined,
    permissions: [...document.permissions],
    accountIds: [...document.accountIds],
    identityRelease: (document.identityRelease ?? []).map((release) => ({
      trustFramework: release.trustFramework,
      claims: [...release.claims],
    })),
    scopes: [...document.scopes],
    request: fromStoredJson(document.request),
    risk: fromStoredJson(document.risk),
    createdAt: document.createdAt,
    statusUpdatedAt: document.statusUpdatedAt,
    expiresAt: document.expiresAt ?? undefined,
    authorisationDeadline: document.authorisationDeadline,
    history: document.history.map((entry) => ({
      from: entry.from ?? null,
      to: entry.to,
      at: entry.at,
      actor: entry.actor,
      reason: entry.reason ?? '',
    })),
    revision: document.revision,
    cascade: document.cascade
      ? {
          state: document.cascade.state,
          reason: document.cascade.reason,
          attempts: document.cascade.attempts,
          nextAttemptAt: document.cascade.nextAttemptAt,
          lastError: document.cascade.lastError ?? '',
          deliveredAt: document.cascade.deliveredAt ?? null,
        }
      : undefined,
  };
}

function fromStoredJson(stored: string | Record<string, unknown>): Record<string, unknown> {
  return typeof stored === 'string' ? (JSON.parse(stored) as Record<string, unknown>) : stored;
}

/** Database errors become domain errors here and nowhere else (STYLE habit 5). */
export async function guard<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    return translateMongoError(error);
  }
}

/**
 * The consent repository on MongoDB through mongoose. A transition is one `findOneAndUpdate`
 * filtered on the expected status: atomic on MongoDB. FerretDB 1.x runs it as a query then an
 * update and may let two racing callers both pass the filter (docs/testing.md); the one
 * transition whose double application would matter, consuming a payment, is therefore also
 * claimed with a unique insert ({@link ConsentRepository.claimConsumption}).
 *
 * @example
 * const consents = await createMongoConsentRepository(connection);
 */
export async function createMongoConsentRepository(connection: Connection): Promise<ConsentRepository> {
  const Consents = consentModelOf(connection);
  const Consumptions = modelOf(connection, 'ConsentConsumption', consumptionSchema);
  const IdempotencyKeys = modelOf(connection, 'IdempotencyKey', idempotencySchema);
  await guard(() =>
    Promise.all([Consents.createIndexes(), Consumptions.createIndexes(), IdempotencyKeys.createIndexes()]),
  );

  return {
    async insert(consent: NewConsent, expiryDueAt, authorised?: AuthorisedAtCreation) {
      const document: ConsentDocument = {
        _id: consent.id,
        kind: consent.kind,
        clientId: consent.clientId,
        status: authorised ? 'Authorised' : 'AwaitingAuthorisation',
        subject: authorised?.subject ?? null,
        permissions: consent.permissions,
        accountIds: consent.accountIds,
        identityRelease: authorised?.identityRelease ?? [],
        scopes: consent.scopes,
        request: JSON.stringify(consent.request),
        risk: JSON.stringify(consent.risk),
        createdAt: consent.createdAt,
        statusUpdatedAt: authorised?.entry.at ?? consent.createdAt,
        expiresAt: consent.expiresAt ?? null,
        authorisationDeadline: consent.authorisationDeadline,
        expiryDueAt: expiryDueAt ?? null,
        history: [
          authorised
            ? { ...authorised.entry }
            : {
                from: null,
                to: 'AwaitingAuthorisation',
                at: consent.createdAt,
                actor: `client:${consent.clientId}`,
                reason: 'created',
              },
        ],
        revision: 0,
        cascade: null,
      };
      await guard(() => Consents.create(document));
      return toConsent(document);
    },

    async findById(consentId) {
      const found = await guard(() => Consents.findById(consentId).lean<ConsentDocument>().exec());
      return found ? toConsent(found) : undefined;
    },

    async transition(change: ConsentTransition) {
      const set: Record<string, unknown> = {
        status: change.to,
        statusUpdatedAt: change.entry.at,
        expiryDueAt: change.expiryDueAt ?? null,
      };
      if (change.subject !== undefined) set.subject = change.subject;
      if (change.accountIds !== undefined) set.accountIds = change.accountIds;
      if (change.identityRelease !== undefined) set.identityRelease = change.identityRelease;
      if (change.cascade !== undefined) set.cascade = change.cascade;
      const updated = await guard(() =>
        Consents.findOneAndUpdate(
          { _id: change.consentId, status: change.from },
          { $set: set, $push: { history: change.entry }, $inc: { revision: 1 } },
          { new: true },
        )
          .lean<ConsentDocument>()
          .exec(),
      );
      return updated ? toConsent(updated) : undefined;
    },

    async list(query: ListConsentsQuery) {
      const filter: Record<string, unknown> =
        'subject' in query.owner ? { subject: query.owner.subject } : { clientId: query.owner.clientId };
      if (query.status) filter.status = query.status;
      if (query.after) {
        filter.$or = [
          { createdAt: { $lt: query.after.createdAt } },
          { createdAt: query.after.createdAt, _id: { $lt: query.after.id } },
        ];
      }
      const found = await guard(() =>
        Consents.find(filter).sort({ createdAt: -1, _id: -1 }).limit(query.limit).lean<ConsentDocument[]>().exec(),
      );
      return found.map(toConsent);
    },

    async findExpiryDue(now, limit) {
      const found = await guard(() =>
        Consents.find({ expiryDueAt: { $ne: null, $lte: now } })
          .sort({ expiryDueAt: 1 })
          .limit(limit)
          .lean<ConsentDocument[]>()
          .exec(),
      );
      return found.map(toConsent);
    },

    async claimConsumption(consentId, actor, at) {
      try {
        await Consumptions.create({ _id: consentId, actor, at });
        return true;
      } catch (error) {
        if (isDuplicateKeyError(error)) return false;
        return translateMongoError(error);
      }
    },

    async reserveIdempotencyKey(record: IdempotencyRecord) {
      const _id = idempotencyIdOf(record);
      try {
        await IdempotencyKeys.create({ _id, ...record });
        return { reserved: true as const };
      } catch (error) {
        if (!isDuplicateKeyError(error)) return translateMongoError(error);
      }
      const existing = await guard(() => IdempotencyKeys.findById(_id).lean<IdempotencyDocument>().exec());
      if (!existing) throw new Error('an idempotency key vanished after a duplicate-key error');
      return {
        reserved: false as const,
        existing: {
          clientId: existing.clientId,
          key: existing.key,
          bodyHash: existing.bodyHash,
          consentId: existing.consentId,
          createdAt: existing.createdAt,
        },
      };
    },

    async replaceIdempotencyKey(expired: IdempotencyRecord, successor: IdempotencyRecord) {
      // Conditional on the consent id of the holder it replaces: ids are never reused, so a
      // holder that changed since it was read no longer matches.
      const { matchedCount } = await guard(() =>
        IdempotencyKeys.updateOne(
          { _id: idempotencyIdOf(expired), consentId: expired.consentId },
          {
            $set: { bodyHash: successor.bodyHash, consentId: successor.consentId, createdAt: successor.createdAt },
          },
        ).exec(),
      );
      return matchedCount === 1;
    },

    async purgeIdempotencyKeys(cutoff) {
      const { deletedCount } = await guard(() => IdempotencyKeys.deleteMany({ createdAt: { $lte: cutoff } }).exec());
      return deletedCount;
    },
  };
}

/** The primary key of a client's idempotency key. */
function idempotencyIdOf(record: { clientId: string; key: string }): string {
  return createHash('sha256').update(`${record.clientId}\n${record.key}`).digest('base64url');
}
