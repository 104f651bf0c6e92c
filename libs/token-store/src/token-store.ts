import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { BadRequestError } from '@obip/errors';
import { defineIndexAdd, isSingleConnection, translateRedisError } from '@obip/redis';
import { isTokenRecord, parseTokenRecord, type TokenRecord } from './token-record';

export interface TokenStoreOptions {
  /**
   * How long a revocation cascade is remembered (seconds). It must exceed the longest token
   * lifetime, so that a token saved while its consent, client or grant was being revoked is
   * refused however late its write lands. Needed only by the writer that runs cascades
   * (auth-server); a store without it refuses `revokeBy*`.
   */
  revocationMemorySeconds?: number;
  /** Clock, for tests. Seconds since the epoch. */
  now?: () => number;
}

export interface TokenStore {
  /** Stores the record under the token's hash until it expires. `revoked`: its consent, client or grant was revoked first. */
  save(token: string, record: TokenRecord): Promise<'saved' | 'revoked'>;
  /** The record of a token that exists, has not expired and was not revoked. */
  find(token: string): Promise<TokenRecord | undefined>;
  /** Revokes one token; false when it was not there. */
  revoke(token: string): Promise<boolean>;
  /** Revokes every token bound to the consent; resolves with how many were live. Idempotent. */
  revokeByConsent(consentId: string): Promise<number>;
  revokeByClient(clientId: string): Promise<number>;
  revokeByGrant(grantId: string): Promise<number>;
}

type Owner = 'consent' | 'client' | 'grant';

// Keys hold hashes only: token values are never stored (ARCHITECTURE: Data and state).
const recordKey = (id: string) => `tok:${id}`;
const indexKey = (owner: Owner, ownerId: string) => `tok:idx:${owner}:${ownerId}`;
const revokedKey = (owner: Owner, ownerId: string) => `tok:revoked:${owner}:${ownerId}`;

/** SHA-256 of the token, base64url: the only form in which a token reaches Redis. */
export function tokenKeyId(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

const DELETE_BATCH = 500;

/**
 * The access-token keyspace. Every command names one key, so it works on standalone Redis,
 * Sentinel and Cluster alike.
 *
 * Cascades cannot miss a token written concurrently: `revokeBy*` first records the revocation,
 * then deletes the indexed tokens; `save` first writes the record and its index entries, then
 * checks for a recorded revocation and deletes its own record if there is one. Whichever order
 * the two interleave in, either the cascade sees the index entry or the save sees the marker.
 *
 * `save` is one round trip: the record (SET), one command per index (see defineIndexAdd) and the
 * revocation checks (EXISTS) leave together. Over one connection Redis runs them in the order
 * issued, so the checks still follow the index writes; on Cluster, whose keys live on different
 * nodes, the checks wait for the writes' replies (two round trips).
 *
 * @example
 * const store = createTokenStore(redis, { revocationMemorySeconds: 90 * 86_400 });
 * await store.save(accessToken, record);
 * await store.revokeByConsent(record.consentId!);
 */
export function createTokenStore(redis: Redis | Cluster, options: TokenStoreOptions = {}): TokenStore {
  const now = options.now ?? (() => Math.floor(Date.now() / 1000));
  const indexAdd = defineIndexAdd(redis);
  const checksInOrder = isSingleConnection(redis);
  const owners = (record: TokenRecord): Array<[Owner, string]> =>
    (
      [
        ['consent', record.consentId],
        ['client', record.clientId],
        ['grant', record.grantId],
      ] as Array<[Owner, string | undefined]>
    ).filter((entry): entry is [Owner, string] => entry[1] !== undefined);

  async function revokeOwned(owner: Owner, ownerId: string): Promise<number> {
    if (!ownerId) throw new BadRequestError(`a ${owner} id is required`);
    const memorySeconds = options.revocationMemorySeconds;
    if (memorySeconds === undefined) throw new TypeError('revokeBy* needs the revocationMemorySeconds option');
    try {
      await redis.set(revokedKey(owner, ownerId), '1', 'EX', memorySeconds);
      const members = await redis.smembers(indexKey(owner, ownerId));
      let deleted = 0;
      for (let start = 0; start < members.length; start += DELETE_BATCH) {
        const batch = members.slice(start, start + DELETE_BATCH);
        const results = await Promise.all(batch.map((id) => redis.del(recordKey(id))));
        deleted += results.reduce((sum, count) => sum + count, 0);
      }
      await redis.del(indexKey(owner, ownerId));
      return deleted;
    } catch (error) {
      return translateRedisError(error);
    }
  }

  return {
    async save(token, record) {
      if (!isTokenRecord(record)) throw new BadRequestError('not a valid token record');
      const ttl = record.expiresAt - now();
      if (ttl <= 0) throw new BadRequestError('the token has already expired');
      const id = tokenKeyId(token);
      const owned = owners(record);
      try {
        const written = Promise.all([
          redis.set(recordKey(id), JSON.stringify(record), 'EX', ttl),
          ...owned.map(([owner, ownerId]) => indexAdd(indexKey(owner, ownerId), id, ttl)),
        ]);
        if (!checksInOrder) await written;
        const checked = Promise.all(owned.map(([owner, ownerId]) => redis.exists(revokedKey(owner, ownerId))));
        const [, revoked] = await Promise.all([written, checked]);
        if (revoked.some((count) => count > 0)) {
          await redis.del(recordKey(id));
          return 'revoked';
        }
        return 'saved';
      } catch (error) {
        return translateRedisError(error);
      }
    },

    async find(token) {
      let text: string | null;
      try {
        text = await redis.get(recordKey(tokenKeyId(token)));
      } catch (error) {
        return translateRedisError(error);
      }
      const record = parseTokenRecord(text);
      return record && record.expiresAt > now() ? record : undefined;
    },

    async revoke(token) {
      try {
        return (await redis.del(recordKey(tokenKeyId(token)))) > 0;
      } catch (error) {
        return translateRedisError(error);
      }
    },

    revokeByConsent: (consentId) => revokeOwned('consent', consentId),
    revokeByClient: (clientId) => revokeOwned('client', clientId),
    revokeByGrant: (grantId) => revokeOwned('grant', grantId),
  };
}
