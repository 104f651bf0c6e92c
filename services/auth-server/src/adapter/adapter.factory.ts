import { errors, type Adapter, type AdapterFactory, type AdapterPayload } from 'oidc-provider';
import type { Connection } from 'mongoose';
import type { RedisClient } from '@obip/redis';
import type { TokenStore } from '@obip/token-store';
import { createTokenRevocation, type IssuedArtifacts, type TokenRevocation } from '../tokens/tokens.revocation.service';
import { tokenRecordOf, type IssuedTokenModel } from '../tokens/tokens.records';
import type { ClientAdapter } from './adapter.clients';
import { guarded } from './adapter.errors';
import { ISSUED_TOKEN_MODELS } from './adapter.keys';
import { createMongoModelStores, type GrantStore, type MongoModelStores } from './adapter.mongo';
import { createRedisModelStore, revokeClientInRedis, revokeGrantInRedis, type RedisModelStore } from './adapter.redis';

export interface OidcStoresOptions {
  redis: RedisClient;
  mongo: Connection;
  clients: ClientAdapter;
  tokenStore: TokenStore;
  /** The issuer written into every token record. */
  issuer: string;
  /** Longer than any token lives: how long revocations of grants are remembered (seconds). */
  revocationMemorySeconds: number;
  clockToleranceSeconds: number;
}

export interface OidcStores {
  /** The engine's `adapter` setting: one implementation per model name. */
  adapter: AdapterFactory;
  /** The Redis store of a model (ReplayDetection's atomic claim uses it). */
  redisModel(model: string): RedisModelStore;
  grants: GrantStore;
  /** The revocation cascade behind the Tokens gRPC and code replay. */
  revocation: TokenRevocation;
  ensureIndexes: MongoModelStores['ensureIndexes'];
  purgeExpired: MongoModelStores['purgeExpired'];
}

/** Durable models in MongoDB; clients from dcr-service; everything else short-lived in Redis. */
const MONGO_MODELS = new Set(['Grant', 'RefreshToken']);

/**
 * Builds the one storage adapter of the engine (STYLE: auth-server `adapter/`): Redis for
 * short-lived models (sessions, interactions, codes, PAR and CIBA requests, replay detection,
 * access and client-credentials tokens) with TTLs and atomic consume; MongoDB for grants and
 * refresh tokens; dcr-service for clients. Every access, client-credentials and refresh token is
 * also written as its libs/token-store introspection record before the engine answers.
 *
 * @example
 * const stores = createOidcStores({ redis, mongo, clients, tokenStore, issuer, revocationMemorySeconds, clockToleranceSeconds: 10 });
 * new Provider(issuer, { adapter: stores.adapter, ... });
 */
export function createOidcStores(options: OidcStoresOptions): OidcStores {
  const { redis } = options;
  // The stores call the cascade on a replay, and the cascade deletes from the stores.
  const cascade: { revocation?: TokenRevocation } = {};
  const onReplay = async (grantId: string) => {
    await cascade.revocation?.revokeGrant(grantId);
  };

  const mongoStores: MongoModelStores = createMongoModelStores(options.mongo, {
    onReplay,
    clockToleranceSeconds: options.clockToleranceSeconds,
  });
  const redisStores = new Map<string, RedisModelStore>();
  const redisModel = (model: string): RedisModelStore => {
    let store = redisStores.get(model);
    if (!store) {
      store = createRedisModelStore(redis, model, {
        revocationMemorySeconds: options.revocationMemorySeconds,
        clockToleranceSeconds: options.clockToleranceSeconds,
        onReplay,
      });
      redisStores.set(model, store);
    }
    return store;
  };

  const artifacts: IssuedArtifacts = {
    grantIdsOfConsent: (consentId) => mongoStores.grants.grantIdsOfConsent(consentId),
    grantIdsOfClient: (clientId) => mongoStores.grants.grantIdsOfClient(clientId),
    async revokeGrant(grantId) {
      const [inRedis, refreshTokens, grants] = await Promise.all([
        revokeGrantInRedis(redis, grantId, options.revocationMemorySeconds),
        mongoStores.refreshTokens.deleteByGrantId(grantId),
        mongoStores.grants.remove(grantId),
      ]);
      return inRedis + refreshTokens + grants;
    },
    async revokeClientTokens(clientId) {
      const [inRedis, refreshTokens] = await Promise.all([
        revokeClientInRedis(redis, clientId),
        mongoStores.refreshTokens.revokeByClient(clientId),
      ]);
      return inRedis + refreshTokens;
    },
  };
  const revocation = createTokenRevocation(artifacts, {
    revokeByConsent: (id) => guarded('redis', () => options.tokenStore.revokeByConsent(id)),
    revokeByClient: (id) => guarded('redis', () => options.tokenStore.revokeByClient(id)),
    revokeByGrant: (id) => guarded('redis', () => options.tokenStore.revokeByGrant(id)),
  });

  async function saveTokenRecord(model: IssuedTokenModel, id: string, payload: AdapterPayload) {
    const consent = payload.grantId ? await mongoStores.grants.consentOf(payload.grantId) : undefined;
    const record = tokenRecordOf(model, payload, { issuer: options.issuer, ...(consent ? { consent } : {}) });
    return guarded('redis', () => options.tokenStore.save(id, record));
  }

  /**
   * Writes the engine's record and the introspection record together (one Redis round trip for
   * a client_credentials token, bench/src/token/findings.md). The engine answers only once both
   * are written, so no token is issued without its record. When either write fails or the
   * record is refused as revoked, the other is removed (best effort: a record left behind names
   * a token that was never disclosed) and the token is refused.
   */
  function withTokenRecords(model: IssuedTokenModel, inner: Adapter): Adapter {
    return {
      ...inner,
      async upsert(id, payload, expiresIn) {
        const [engineWrite, recordWrite] = await Promise.allSettled([
          inner.upsert(id, payload, expiresIn),
          saveTokenRecord(model, id, payload),
        ]);
        const refused = recordWrite.status === 'fulfilled' && recordWrite.value === 'revoked';
        if (engineWrite.status === 'fulfilled' && recordWrite.status === 'fulfilled' && !refused) return;
        await Promise.allSettled([
          engineWrite.status === 'fulfilled' ? inner.destroy(id) : undefined,
          recordWrite.status === 'fulfilled' && !refused ? options.tokenStore.revoke(id) : undefined,
        ]);
        if (engineWrite.status === 'rejected') throw engineWrite.reason;
        if (recordWrite.status === 'rejected') throw recordWrite.reason;
        throw new errors.InvalidGrant('the consent, client or grant of this token has been revoked');
      },
      async revokeByGrantId(grantId) {
        await inner.revokeByGrantId(grantId);
        await guarded('redis', () => options.tokenStore.revokeByGrant(grantId));
      },
      async destroy(id) {
        await inner.destroy(id);
        await guarded('redis', () => options.tokenStore.revoke(id));
      },
    };
  }

  cascade.revocation = revocation;

  const adapters = new Map<string, Adapter>();
  const adapter: AdapterFactory = (model) => {
    let found = adapters.get(model);
    if (found) return found;
    if (model === 'Client') found = options.clients;
    else if (model === 'Grant') found = mongoStores.grants;
    else if (MONGO_MODELS.has(model)) found = mongoStores.refreshTokens;
    else found = redisModel(model);
    if (ISSUED_TOKEN_MODELS.has(model)) found = withTokenRecords(model as IssuedTokenModel, found);
    adapters.set(model, found);
    return found;
  };

  return {
    adapter,
    redisModel,
    grants: mongoStores.grants,
    revocation,
    ensureIndexes: () => mongoStores.ensureIndexes(),
    purgeExpired: (now) => mongoStores.purgeExpired(now),
  };
}

/** The payload type the engine stores, re-exported for tests. */
export type { AdapterPayload };
