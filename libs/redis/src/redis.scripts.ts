import type { RedisClient } from './redis.client';

/** A Lua script that touches only the keys it is given, the first `numberOfKeys` arguments. */
export interface RedisScript {
  /** The client method ioredis adds; unique per script across obip (e.g. `obipTokenIndexAdd`). */
  name: string;
  numberOfKeys: number;
  lua: string;
}

/** Calls a defined script: its keys first (prefixed by the client like any key), then its arguments. */
export type RedisScriptCall = (...keysAndArgs: Array<string | number>) => Promise<unknown>;

/**
 * Registers `script` on the client (ioredis `defineCommand`) and returns a function that runs it:
 * EVALSHA, 40 bytes, instead of the source with every call (EVAL once per connection, and again
 * after a `SCRIPT FLUSH` or a restart). Defining the same script again is harmless. On Cluster
 * every key of one call must hash to one slot: give a script one key.
 *
 * @example
 * const hit = defineScript(redis, { name: 'obipHit', numberOfKeys: 1, lua: "return redis.call('INCR', KEYS[1])" });
 * const count = Number(await hit('ratelimit:x', 60_000));
 */
export function defineScript(client: RedisClient, script: RedisScript): RedisScriptCall {
  client.defineCommand(script.name, { numberOfKeys: script.numberOfKeys, lua: script.lua });
  const method = (client as unknown as Record<string, (...args: Array<string | number>) => Promise<unknown>>)[
    script.name
  ]!;
  return (...keysAndArgs) => method.apply(client, keysAndArgs);
}

/**
 * Whether every command of the client goes over one connection (standalone, Sentinel): then Redis
 * runs them in the order they were issued, also when a command is issued before the reply to the
 * previous one came back (auto-pipelining sends both in one write). On Cluster, commands on keys
 * of different nodes run in no guaranteed order: await the first before issuing the second.
 *
 * @example
 * const written = redis.sadd(index, id);
 * if (!isSingleConnection(redis)) await written;
 * const revoked = redis.exists(marker); // runs after the SADD either way
 */
export function isSingleConnection(client: RedisClient): boolean {
  return !client.isCluster;
}

/** What a Redis server has done since it started or since `CONFIG RESETSTAT`, from `INFO all`. */
export interface RedisCommandStats {
  /** Calls per command name (lower case), including those a script made. */
  calls: Record<string, number>;
  /**
   * Reads from client sockets, this reading's own included: one per batch a client sent, so one
   * per round trip (batches sent together by different clients may share one).
   */
  readsProcessed: number;
}

/**
 * Reads the server's command counters (`commandstats`, `total_reads_processed`), to count what a piece
 * of work costs in commands and round trips. Counters are server-wide: use a server of your own.
 *
 * @example
 * await redis.config('RESETSTAT');
 * await issueOneToken();
 * const { calls, readsProcessed } = await readCommandStats(redis);
 */
export async function readCommandStats(client: RedisClient): Promise<RedisCommandStats> {
  // One INFO, so that reading the counters costs one read of its own, counted in the answer.
  const info = await client.info('all');
  const calls: Record<string, number> = {};
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls[match[1]!] = Number(match[2]);
  const reads = /^total_reads_processed:(\d+)/m.exec(info);
  return { calls, readsProcessed: reads ? Number(reads[1]) : 0 };
}

// The index lives as long as its longest-lived member: NX sets a first TTL, GT extends it. An
// empty TTL makes it persistent, for a member that never expires.
const INDEX_ADD: RedisScript = {
  name: 'obipIndexAdd',
  numberOfKeys: 1,
  lua: `
redis.call('SADD', KEYS[1], ARGV[1])
if ARGV[2] == '' then
  redis.call('PERSIST', KEYS[1])
else
  redis.call('EXPIRE', KEYS[1], ARGV[2], 'NX')
  redis.call('EXPIRE', KEYS[1], ARGV[2], 'GT')
end
return 1`,
};

/** Adds a member to an index set and keeps the set alive as long as its longest-lived member. */
export type IndexAdd = (indexKey: string, member: string, ttlSeconds: number | undefined) => Promise<unknown>;

/**
 * The write of a revocation index (a set of the keys or ids of the records of one owner: a grant,
 * a client, a consent) as one command, where SADD, EXPIRE NX and EXPIRE GT would be three. The
 * set expires with its longest-lived member, or never when `ttlSeconds` is undefined.
 *
 * @example
 * const indexAdd = defineIndexAdd(redis);
 * await indexAdd('tok:idx:client:tpp-1', tokenId, 300);
 */
export function defineIndexAdd(client: RedisClient): IndexAdd {
  const call = defineScript(client, INDEX_ADD);
  return (indexKey, member, ttlSeconds) => call(indexKey, member, ttlSeconds === undefined ? '' : ttlSeconds);
}
