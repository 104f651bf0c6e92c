import { errors, type Adapter, type AdapterPayload } from 'oidc-provider';
import { Schema, type Connection, type Model } from 'mongoose';
import { ensureExpiryIndex, isDuplicateKeyError } from '@obip/mongo';
import { guarded } from './adapter.errors';
import { storageIdOf } from './adapter.keys';

/** What links a grant to the consent it was given under (set by the consent step, kept across engine re-saves). */
export interface GrantConsentLink {
  consentId: string;
  /** Set when the consent is an Open Banking intent (`openbanking_intent_id`). */
  openbankingIntentId?: string;
  /** Verified identity data (OIDC4IDA) the customer agreed to release: names only, never values. */
  identityRelease?: Array<{ trustFramework: string; claims: string[] }>;
}

interface ModelDocument {
  _id: string;
  payload: AdapterPayload;
  clientId: string | null;
  grantId: string | null;
  /** Absent: never expires. Readers check it; purgeExpired (and a TTL index where the server has them) deletes. */
  expiresAt: Date | null;
  consumedAt: number | null;
  consentId: string | null;
  openbankingIntentId: string | null;
  identityRelease?: GrantConsentLink['identityRelease'] | null;
}

interface ConsumptionDocument {
  _id: string;
  at: Date;
}

const modelSchema = (collection: string) =>
  new Schema<ModelDocument>(
    {
      _id: { type: String, required: true },
      payload: { type: Schema.Types.Mixed, required: true },
      clientId: { type: String, default: null, index: true },
      grantId: { type: String, default: null, index: true },
      expiresAt: { type: Date, default: null },
      consumedAt: { type: Number, default: null },
      consentId: { type: String, default: null, index: true },
      openbankingIntentId: { type: String, default: null },
      identityRelease: { type: Schema.Types.Mixed, default: null },
    },
    { collection, versionKey: false, minimize: false },
  );

// The primary key is the claim: an insert on _id has exactly one winner on MongoDB and FerretDB
// alike, where a conditional findOneAndUpdate does not (docs/testing.md).
const consumptionSchema = new Schema<ConsumptionDocument>(
  { _id: { type: String, required: true }, at: { type: Date, required: true } },
  { collection: 'oidc_consumptions', versionKey: false },
);

export interface MongoModelStoreOptions {
  /** See RedisModelStoreOptions.onReplay. */
  onReplay?: (grantId: string) => Promise<void>;
  clockToleranceSeconds?: number;
}

export interface GrantStore extends Adapter {
  /** Links a grant to its consent, so RevokeByConsent finds it. Survives the engine re-saving the grant. */
  linkConsent(grantId: string, link: GrantConsentLink): Promise<void>;
  consentOf(grantId: string): Promise<GrantConsentLink | undefined>;
  grantIdsOfConsent(consentId: string): Promise<string[]>;
  grantIdsOfClient(clientId: string): Promise<string[]>;
  /** Deletes a grant; resolves with 1 when it existed, else 0. */
  remove(grantId: string): Promise<number>;
}

export interface RefreshTokenStore extends Adapter {
  /** Deletes every refresh token of a client; resolves with how many there were. */
  revokeByClient(clientId: string): Promise<number>;
  /** Like revokeByGrantId, with the count. */
  deleteByGrantId(grantId: string): Promise<number>;
}

export interface MongoModelStores {
  grants: GrantStore;
  refreshTokens: RefreshTokenStore;
  /**
   * Creates the indexes (idempotent); run once at start-up. Resolves with whether the server
   * removes expired documents itself (TTL index) or only the purge sweep does (FerretDB).
   */
  ensureIndexes(): Promise<{ expiry: 'ttl' | 'plain' }>;
  /**
   * Deletes grants and refresh tokens that expired before `now` and refresh-token consumption
   * markers older than the longest refresh token lifetime; readers already ignore them, this
   * keeps the collections from growing. Safe on every replica at once.
   */
  purgeExpired(now?: Date): Promise<{ grants: number; refreshTokens: number; consumptions: number }>;
}

/** REFRESH_TOKEN_TTL_SECONDS's upper bound: a consumption marker older than this guards a token long expired. */
export const LONGEST_REFRESH_TOKEN_SECONDS = 365 * 86_400;

/**
 * Durable engine models in MongoDB: grants (what a customer authorised a client to do, linked to
 * the consent) and refresh tokens (long-lived, under the SHA-256 of their value).
 *
 * @example
 * const { grants, refreshTokens } = createMongoModelStores(connection, { onReplay });
 */
export function createMongoModelStores(connection: Connection, options: MongoModelStoreOptions = {}): MongoModelStores {
  const Grants = modelOf(connection, 'OidcGrant', modelSchema('oidc_grants'));
  const RefreshTokens = modelOf(connection, 'OidcRefreshToken', modelSchema('oidc_refresh_tokens'));
  const Consumptions = modelOf(connection, 'OidcConsumption', consumptionSchema);
  const tolerance = options.clockToleranceSeconds ?? 0;

  function baseAdapter(model: 'Grant' | 'RefreshToken', Documents: Model<ModelDocument>): Adapter {
    const idOf = (id: string) => storageIdOf(model, id);
    const isLive = (doc: ModelDocument | null): doc is ModelDocument =>
      doc !== null && (doc.expiresAt === null || doc.expiresAt.getTime() > Date.now());

    return {
      upsert: (id, payload, expiresIn) =>
        guarded('mongodb', async () => {
          const stored: AdapterPayload = { ...payload };
          if (model === 'RefreshToken') delete stored.jti;
          await Documents.updateOne(
            { _id: idOf(id) },
            {
              $set: {
                payload: stored,
                clientId: payload.clientId ?? null,
                grantId: payload.grantId ?? null,
                expiresAt: expiresIn === undefined ? null : new Date(Date.now() + (expiresIn + tolerance) * 1000),
                consumedAt: payload.consumed ?? null,
              },
            },
            { upsert: true },
          );
        }),

      find: (id) =>
        guarded('mongodb', async () => {
          const doc = await Documents.findById(idOf(id)).lean<ModelDocument>();
          if (!isLive(doc)) return undefined;
          const payload: AdapterPayload = { ...doc.payload };
          if (model === 'RefreshToken') payload.jti = id;
          if (doc.consumedAt !== null) payload.consumed = doc.consumedAt;
          return payload;
        }),

      findByUid: async () => undefined,
      findByUserCode: async () => undefined,

      consume: (id) =>
        guarded('mongodb', async () => {
          const storageId = idOf(id);
          try {
            await Consumptions.create({ _id: `${model}:${storageId}`, at: new Date() });
          } catch (error) {
            if (!isDuplicateKeyError(error)) throw error;
            const doc = await Documents.findById(storageId).lean<ModelDocument>();
            if (doc?.grantId && options.onReplay) await options.onReplay(doc.grantId);
            throw new errors.InvalidGrant('refresh token already used');
          }
          await Documents.updateOne({ _id: storageId }, { $set: { consumedAt: Math.floor(Date.now() / 1000) } });
        }),

      destroy: (id) =>
        guarded('mongodb', async () => {
          await Documents.deleteOne({ _id: idOf(id) });
        }),

      revokeByGrantId: (grantId) =>
        guarded('mongodb', async () => {
          if (model === 'Grant') await Documents.deleteOne({ _id: grantId });
          else await Documents.deleteMany({ grantId });
        }),
    };
  }

  const grants: GrantStore = {
    ...baseAdapter('Grant', Grants),
    linkConsent: (grantId, link) =>
      guarded('mongodb', async () => {
        await Grants.updateOne(
          { _id: grantId },
          {
            $set: {
              consentId: link.consentId,
              openbankingIntentId: link.openbankingIntentId ?? null,
              identityRelease: link.identityRelease?.length ? link.identityRelease : null,
            },
          },
        );
      }),
    consentOf: (grantId) =>
      guarded('mongodb', async () => {
        const doc = await Grants.findById(grantId, {
          consentId: 1,
          openbankingIntentId: 1,
          identityRelease: 1,
        }).lean<ModelDocument>();
        if (!doc?.consentId) return undefined;
        return {
          consentId: doc.consentId,
          ...(doc.openbankingIntentId ? { openbankingIntentId: doc.openbankingIntentId } : {}),
          ...(doc.identityRelease?.length ? { identityRelease: doc.identityRelease } : {}),
        };
      }),
    grantIdsOfConsent: (consentId) =>
      guarded('mongodb', async () =>
        (await Grants.find({ consentId }, { _id: 1 }).lean<ModelDocument[]>()).map((d) => d._id),
      ),
    remove: (grantId) => guarded('mongodb', async () => (await Grants.deleteOne({ _id: grantId })).deletedCount),
    grantIdsOfClient: (clientId) =>
      guarded('mongodb', async () =>
        (await Grants.find({ clientId }, { _id: 1 }).lean<ModelDocument[]>()).map((d) => d._id),
      ),
  };

  const refreshTokens: RefreshTokenStore = {
    ...baseAdapter('RefreshToken', RefreshTokens),
    revokeByClient: (clientId) =>
      guarded('mongodb', async () => (await RefreshTokens.deleteMany({ clientId })).deletedCount),
    deleteByGrantId: (grantId) =>
      guarded('mongodb', async () => (await RefreshTokens.deleteMany({ grantId })).deletedCount),
  };

  return {
    grants,
    refreshTokens,
    ensureIndexes: () =>
      guarded('mongodb', async () => {
        await Promise.all([Grants.syncIndexes(), RefreshTokens.syncIndexes(), Consumptions.syncIndexes()]);
        const [expiry] = await Promise.all([
          ensureExpiryIndex(Grants.collection, 'expiresAt'),
          ensureExpiryIndex(RefreshTokens.collection, 'expiresAt'),
          ensureExpiryIndex(Consumptions.collection, 'at'),
        ]);
        return { expiry };
      }),
    purgeExpired: (now = new Date()) =>
      guarded('mongodb', async () => {
        const expired = { expiresAt: { $ne: null, $lte: now } };
        const markersBefore = new Date(now.getTime() - LONGEST_REFRESH_TOKEN_SECONDS * 1000);
        const [grantsGone, refreshTokensGone, consumptionsGone] = await Promise.all([
          Grants.deleteMany(expired),
          RefreshTokens.deleteMany(expired),
          Consumptions.deleteMany({ at: { $lte: markersBefore } }),
        ]);
        return {
          grants: grantsGone.deletedCount,
          refreshTokens: refreshTokensGone.deletedCount,
          consumptions: consumptionsGone.deletedCount,
        };
      }),
  };
}

function modelOf<T>(connection: Connection, name: string, schema: Schema<T>): Model<T> {
  return (connection.models[name] as Model<T> | undefined) ?? connection.model<T>(name, schema);
}
