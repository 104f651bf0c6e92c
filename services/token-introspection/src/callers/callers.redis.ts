import { createHash } from 'node:crypto';
import { translateRedisError, type RedisClient } from '@obip/redis';
import type { AssertionReplayCache } from './callers.service';

/**
 * The client-assertion jti replay cache in Redis: `SET key 1 PX ttl NX` succeeds for the first
 * use only, and the key lives until the assertion could no longer be accepted anyway. Keys are
 * SHA-256 of the client and jti, so a long or odd jti cannot make a long or odd key.
 *
 * @example
 * const replay = createRedisAssertionReplayCache(redis);
 * if (!(await replay.claim(clientId, jti, 60_000))) refuse();
 */
export function createRedisAssertionReplayCache(redis: RedisClient): AssertionReplayCache {
  const keyOf = (clientId: string, jti: string) =>
    `ti:jti:${createHash('sha256').update(`${clientId}\u0000${jti}`).digest('base64url')}`;
  return {
    async claim(clientId, jti, ttlMs) {
      try {
        return (await redis.set(keyOf(clientId, jti), '1', 'PX', Math.max(1, Math.ceil(ttlMs)), 'NX')) === 'OK';
      } catch (error) {
        return translateRedisError(error);
      }
    },
  };
}
