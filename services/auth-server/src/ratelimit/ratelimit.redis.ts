import type { RedisClient } from '@obip/redis';

/** Counts requests in a window, across every replica. */
export interface RateCounter {
  /** Counts one request against `key` and returns the count so far; the key lives `ttlMs`. */
  hit(key: string, ttlMs: number): Promise<number>;
}

// INCR and the expiry in one step: a counter can never be left without a TTL.
const HIT_SCRIPT = `
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return count
`;

/**
 * The rate counter in Redis (ARCHITECTURE: rate-limit counters live in Redis with a TTL). One key
 * per client and window, so it works on Redis Cluster too.
 *
 * @example
 * const counter = createRedisRateCounter(redis);
 * const count = await counter.hit('ratelimit:token:…', 61_000);
 */
export function createRedisRateCounter(redis: RedisClient): RateCounter {
  return {
    async hit(key, ttlMs) {
      return Number(await redis.eval(HIT_SCRIPT, 1, key, String(ttlMs)));
    },
  };
}
