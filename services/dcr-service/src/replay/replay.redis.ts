import { createHash } from 'node:crypto';
import { translateRedisError, type RedisClient } from '@obip/redis';
import type { ReplayCache } from '../registration/registration.service';

/**
 * The `jti` replay cache in Redis: `SET key 1 PX ttl NX` succeeds for the first use only, and
 * the key lives until the token could no longer be accepted anyway (ARCHITECTURE: everything
 * with a lifetime is in Redis with a TTL). Keys are SHA-256 of the scope and value, so a long
 * or odd `jti` cannot make a long or odd key.
 *
 * @example
 * const replay = createRedisReplayCache(redis);
 * if (!(await replay.claim('request', `${iss}|${jti}`, 300_000))) throw replayed();
 */
export function createRedisReplayCache(redis: RedisClient): ReplayCache {
  const keyOf = (scope: string, value: string) =>
    `dcr:jti:${scope}:${createHash('sha256').update(value).digest('base64url')}`;
  return {
    async claim(scope, value, ttlMs) {
      try {
        return (await redis.set(keyOf(scope, value), '1', 'PX', Math.max(1, Math.ceil(ttlMs)), 'NX')) === 'OK';
      } catch (error) {
        translateRedisError(error);
      }
    },
    async seen(scope, value) {
      try {
        return (await redis.exists(keyOf(scope, value))) === 1;
      } catch (error) {
        translateRedisError(error);
      }
    },
  };
}
