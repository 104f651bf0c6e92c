import { errors, type Adapter, type AdapterPayload } from 'oidc-provider';
import { defineIndexAdd, defineScript, isSingleConnection, type RedisClient, type RedisScript } from '@obip/redis';
import { guarded } from './adapter.errors';
import { CREDENTIAL_MODELS, GRANTABLE_MODELS, storageIdOf } from './adapter.keys';

export interface RedisModelStoreOptions {
  /**
   * How long a revoked grant is remembered (seconds): longer than any token of it lives, so a
   * token of that grant written after the revocation (a racing request) is refused.
   */
  revocationMemorySeconds: number;
  /** Added to every TTL so that the engine, not Redis, decides a record has just expired. */
  clockToleranceSeconds?: number;
  /**
   * Called when a code or refresh token is consumed a second time, also when two replicas race:
   * the grant it came from is revoked (RFC 6749 §4.1.2, FAPI 1.0 Part 1 5.2.2-7 "should revoke").
   */
  onReplay?: (grantId: string) => Promise<void>;
}

/**
 * The engine's adapter contract, with `consume` atomic across replicas: the engine reads a
 * record, checks `consumed`, then calls `consume`, and a racing replica may consume in between;
 * here the second `consume` rejects (invalid_grant, or invalid_request_uri for PAR).
 */
export interface RedisModelStore extends Adapter {
  /**
   * Claims the id once (SET NX): false when it was already claimed. The claim is a plain string
   * key holding the payload, for models that are only ever claimed (ReplayDetection), never read
   * back with `find`.
   */
  insertOnce(id: string, payload: AdapterPayload, expiresIn: number): Promise<boolean>;
}

const PAYLOAD_FIELD = 'payload';
const CONSUMED_FIELD = 'consumed';

// One script, so the existence check and the claim are one atomic step: HSETNX alone would
// create a key without a TTL when the record has just expired.
const CONSUME: RedisScript = {
  name: 'obipModelConsume',
  numberOfKeys: 1,
  lua: `
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
return redis.call('HSETNX', KEYS[1], '${CONSUMED_FIELD}', ARGV[1])`,
};

// A record replaced whole, in one command: an upsert drops a previous `consumed` mark. ARGV: the
// payload, the TTL in seconds ('' for none), the consumed time ('' for none).
const WRITE: RedisScript = {
  name: 'obipModelWrite',
  numberOfKeys: 1,
  lua: `
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], '${PAYLOAD_FIELD}', ARGV[1])
if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], '${CONSUMED_FIELD}', ARGV[3]) end
if ARGV[2] ~= '' then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return 1`,
};

// Every key lives under the client's keyPrefix (obip:). Per-key commands only, never MULTI across
// keys, so Redis Cluster works as standalone does.
export const redisKeys = {
  record: (model: string, storageId: string) => `oidc:${model}:${storageId}`,
  grantIndex: (grantId: string) => `oidc:grant:${grantId}`,
  clientIndex: (clientId: string) => `oidc:client:${clientId}`,
  revokedGrant: (grantId: string) => `oidc:grant-revoked:${grantId}`,
  sessionUid: (uid: string) => `oidc:Session:uid:${uid}`,
  userCode: (model: string, userCode: string) => `oidc:${model}:userCode:${userCode}`,
};

/** Models whose tokens are also indexed by client, for RevokeByClient (client_credentials tokens have no grant). */
const CLIENT_INDEXED_MODELS = new Set(['AccessToken', 'ClientCredentials']);

const epochSeconds = () => Math.floor(Date.now() / 1000);

/**
 * Stores one engine model in Redis: a hash with the JSON payload and, once consumed, the time it
 * was. Keys expire with the record. Credential models are keyed by the SHA-256 of their id and
 * stored without it (see CREDENTIAL_MODELS).
 *
 * @example
 * const codes = createRedisModelStore(redis, 'AuthorizationCode', { revocationMemorySeconds: 90 * 86400 });
 * await codes.upsert(code, payload, 60);
 */
export function createRedisModelStore(
  redis: RedisClient,
  model: string,
  options: RedisModelStoreOptions,
): RedisModelStore {
  const tolerance = options.clockToleranceSeconds ?? 0;
  const isCredential = CREDENTIAL_MODELS.has(model);
  const recordKey = (id: string) => redisKeys.record(model, storageIdOf(model, id));
  const writeRecord = defineScript(redis, WRITE);
  const consumeRecord = defineScript(redis, CONSUME);
  const indexAdd = defineIndexAdd(redis);
  const checksInOrder = isSingleConnection(redis);

  async function read(key: string, id: string): Promise<AdapterPayload | undefined> {
    const fields = await redis.hgetall(key);
    const text = fields[PAYLOAD_FIELD];
    if (text === undefined) return undefined;
    const payload = JSON.parse(text) as AdapterPayload;
    if (isCredential) payload.jti = id;
    const consumed = fields[CONSUMED_FIELD];
    if (consumed !== undefined) payload.consumed = Number(consumed);
    return payload;
  }

  /**
   * The record, its indexes and, for a grant's token, the revocation check: one round trip. Over
   * one connection the check, issued last, runs after the index writes (see revokeGrantInRedis:
   * either the cascade sees the index entry or this check sees its marker); on Cluster it waits
   * for their replies. Each command names one key, so Cluster works as standalone does.
   */
  async function write(id: string, payload: AdapterPayload, expiresIn: number | undefined): Promise<void> {
    const key = recordKey(id);
    const ttl = expiresIn === undefined ? undefined : expiresIn + tolerance;
    const stored: AdapterPayload = { ...payload };
    if (isCredential) delete stored.jti;
    const writes: Array<Promise<unknown>> = [
      writeRecord(key, JSON.stringify(stored), ttl ?? '', payload.consumed === undefined ? '' : payload.consumed),
    ];
    if (GRANTABLE_MODELS.has(model) && payload.grantId) {
      writes.push(indexAdd(redisKeys.grantIndex(payload.grantId), key, ttl));
    }
    if (CLIENT_INDEXED_MODELS.has(model) && payload.clientId) {
      writes.push(indexAdd(redisKeys.clientIndex(payload.clientId), key, ttl));
    }
    if (model === 'Session' && payload.uid) {
      const uidKey = redisKeys.sessionUid(payload.uid);
      writes.push(ttl === undefined ? redis.set(uidKey, id) : redis.set(uidKey, id, 'EX', ttl));
    }
    if (payload.userCode) {
      const userCodeKey = redisKeys.userCode(model, payload.userCode);
      writes.push(ttl === undefined ? redis.set(userCodeKey, id) : redis.set(userCodeKey, id, 'EX', ttl));
    }
    const written = Promise.all(writes);
    if (!(GRANTABLE_MODELS.has(model) && payload.grantId)) {
      await written;
      return;
    }
    if (!checksInOrder) await written;
    const [, revoked] = await Promise.all([written, redis.exists(redisKeys.revokedGrant(payload.grantId))]);
    // A grant revoked while this token was being issued (the token store uses the same order).
    if (revoked > 0) {
      await redis.del(key);
      throw new errors.InvalidGrant('the grant was revoked while a token of it was being issued');
    }
  }

  return {
    upsert: (id, payload, expiresIn) => guarded('redis', () => write(id, payload, expiresIn)),

    find: (id) => guarded('redis', () => read(recordKey(id), id)),

    findByUid: (uid) =>
      guarded('redis', async () => {
        const id = await redis.get(redisKeys.sessionUid(uid));
        return id === null ? undefined : read(recordKey(id), id);
      }),

    findByUserCode: (userCode) =>
      guarded('redis', async () => {
        const id = await redis.get(redisKeys.userCode(model, userCode));
        return id === null ? undefined : read(recordKey(id), id);
      }),

    consume: (id) =>
      guarded('redis', async () => {
        const key = recordKey(id);
        const result = Number(await consumeRecord(key, epochSeconds()));
        if (result === 1) return;
        if (result === 0) {
          const text = await redis.hget(key, PAYLOAD_FIELD);
          const grantId = text ? (JSON.parse(text) as AdapterPayload).grantId : undefined;
          if (grantId && options.onReplay) await options.onReplay(grantId);
        }
        throw consumedError(model, result === 0);
      }),

    insertOnce: (id, payload, expiresIn) =>
      guarded('redis', async () => {
        // Claim and TTL in one command: the record is never consumed or read back, so it needs
        // no hash. A claim left as a hash by an earlier version still counts: NX sees the key.
        const stored: AdapterPayload = { ...payload };
        if (isCredential) delete stored.jti;
        const claimed = await redis.set(recordKey(id), JSON.stringify(stored), 'EX', expiresIn + tolerance, 'NX');
        return claimed === 'OK';
      }),

    destroy: (id) =>
      guarded('redis', async () => {
        const key = recordKey(id);
        const previous = model === 'Session' ? await read(key, id) : undefined;
        await redis.del(key);
        if (previous?.uid && (await redis.get(redisKeys.sessionUid(previous.uid))) === id) {
          await redis.del(redisKeys.sessionUid(previous.uid));
        }
      }),

    revokeByGrantId: async (grantId) => {
      await revokeGrantInRedis(redis, grantId, options.revocationMemorySeconds);
    },
  };
}

/** The error the engine itself raises for a second use of the same artefact. */
function consumedError(model: string, alreadyConsumed: boolean): Error {
  if (model === 'PushedAuthorizationRequest') {
    return new errors.InvalidRequestUri('request_uri is invalid, expired, or was already used');
  }
  const label =
    model === 'RefreshToken' ? 'refresh token' : model === 'AuthorizationCode' ? 'authorization code' : model;
  return new errors.InvalidGrant(alreadyConsumed ? `${label} already consumed` : `${label} not found`);
}

/**
 * Deletes every Redis record of a grant (codes, access tokens, CIBA requests) and remembers the
 * revocation, so a token of it stored afterwards is refused. Idempotent; resolves with the
 * number of records deleted.
 */
export async function revokeGrantInRedis(
  redis: RedisClient,
  grantId: string,
  revocationMemorySeconds: number,
): Promise<number> {
  return guarded('redis', async () => {
    await redis.set(redisKeys.revokedGrant(grantId), '1', 'EX', revocationMemorySeconds);
    return deleteIndexed(redis, redisKeys.grantIndex(grantId));
  });
}

/** Deletes every Redis access token of a client (client_credentials ones have no grant). Idempotent. */
export async function revokeClientInRedis(redis: RedisClient, clientId: string): Promise<number> {
  return guarded('redis', () => deleteIndexed(redis, redisKeys.clientIndex(clientId)));
}

async function deleteIndexed(redis: RedisClient, indexKey: string): Promise<number> {
  const members = await redis.smembers(indexKey);
  const deleted = await Promise.all(members.map((member) => redis.del(member)));
  await redis.del(indexKey);
  return deleted.reduce((sum, count) => sum + count, 0);
}
