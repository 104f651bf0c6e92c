import type { ConnectionOptions as TlsOptions } from 'node:tls';
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { DependencyUnavailableError } from '@obip/errors';
import { translateRedisError } from './redis.errors';
import { parseRedisUrl, type RedisTopology } from './redis.url';

/** A client for any topology: both classes expose the same command methods. */
export type RedisClient = Redis | Cluster;

/** The subset of a pino logger this lib writes to. */
export interface RedisLogger {
  warn(details: object, message: string): void;
}

export interface CreateRedisOptions {
  /** A location URL, see {@link parseRedisUrl}. Exactly one of `url` and `topology`. */
  url?: string;
  /** Explicit settings, for what a URL cannot say. */
  topology?: RedisTopology;
  /** Prepended to every key, e.g. `obip:auth:`. Keeps services and test files apart in one Redis. */
  keyPrefix?: string;
  /** TCP + TLS handshake budget per connection attempt. Default 5000 ms. */
  connectTimeoutMs?: number;
  /** A command without a reply within this time fails. Default 2000 ms. */
  commandTimeoutMs?: number;
  /**
   * How many reconnections a command that was in flight when the connection dropped survives
   * before it fails with MaxRetriesPerRequestError. Default 1: a request gets a 503 quickly
   * instead of hanging through an outage.
   */
  maxRetriesPerRequest?: number;
  /** Extra TLS settings (CA bundle, client certificate) for `rediss` URLs or `tls: true`. */
  tls?: TlsOptions;
  /** Shown by `CLIENT LIST`, e.g. the service name. */
  connectionName?: string;
  /** Receives connection errors; without it they are dropped (readiness reports them). */
  logger?: RedisLogger;
  /**
   * Auto-pipelining (see AUTO_PIPELINING below). Default on. Turn it off for a client whose
   * requests each send one command and whose tail latency matters more than peak throughput
   * (token-introspection).
   */
  autoPipelining?: boolean;
}

const DEFAULTS = { connectTimeoutMs: 5000, commandTimeoutMs: 2000, maxRetriesPerRequest: 1 };

// Auto-pipelining: commands issued in the same event-loop turn (by one request's steps, or by
// concurrent requests) leave in one socket write and their replies come back together, instead
// of one write() and one wake-up each: the Redis client was the largest share of auth-server's
// CPU at the token endpoint (bench/src/token/findings.md). It is safe for every use in obip:
// - key prefixes: ioredis prefixes pipelined commands (and scripts) as it does single ones, and
//   on Cluster groups them by the prefixed key's slot;
// - scripts (`defineCommand`, see defineScript): pipelined as EVALSHA, EVAL once per connection;
// - MULTI is never pipelined: it goes out as its own batch, atomic as before;
// - order: per connection the batches leave in the order the commands were issued (one batch in
//   flight per connection), so commands on one connection still run in the order issued;
// - no obip code uses blocking commands (BLPOP, XREAD BLOCK, WAIT), WATCH or pub/sub on these
//   clients. A blocking command would hold up every command queued behind it: give it a client
//   of its own (`createRedis` again, or `duplicate()` with `enableAutoPipelining: false`).
//   SUBSCRIBE and friends are never auto-pipelined by ioredis.
// The cost: a command issued while a batch is in flight waits for that batch's replies (ioredis
// keeps one batch in flight per connection). Measured on 2 cores (bench/src/introspection/
// findings.md): introspection, one GET per request, served 13 % more at peak with it but its p99
// at half of peak went from about 10 ms to about 45 ms, so token-introspection turns it off;
// auth-server's token endpoint, several commands per request, served the same either way.
const AUTO_PIPELINING = true;

/**
 * Reconnect delay: exponential from 100 ms, capped at 2 s, with jitter so that many replicas
 * do not reconnect in lockstep after a Redis restart.
 */
export function redisReconnectDelay(attempt: number): number {
  const base = Math.min(100 * 2 ** Math.max(0, attempt - 1), 2000);
  return base + Math.floor(Math.random() * 100);
}

/**
 * Creates an ioredis client for standalone Redis, Sentinel or Cluster. It connects in the
 * background and reconnects with backoff forever; failures surface per command.
 *
 * Offline queue: commands issued before the first connection wait for it (so start-up code
 * need not sequence itself against the connect). Once the client has been ready, the offline
 * queue is switched off: while Redis is down a command fails at once (and becomes a 503 via
 * {@link translateRedisError}) rather than queueing behind a reconnect.
 *
 * Auto-pipelined unless `autoPipelining: false`: commands issued without awaiting each other
 * share one round trip (see AUTO_PIPELINING above for why that is safe here, and what it costs).
 *
 * @example
 * const redis = createRedis({ url: 'redis://127.0.0.1:6379/0', keyPrefix: 'obip:auth:' });
 * await redis.set('code:abc', '1', 'PX', 60_000, 'NX');
 */
export function createRedis(options: CreateRedisOptions): RedisClient {
  const topology = resolveTopology(options);
  const connectTimeout = options.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs;
  const common: RedisOptions = {
    keyPrefix: options.keyPrefix,
    connectTimeout,
    commandTimeout: options.commandTimeoutMs ?? DEFAULTS.commandTimeoutMs,
    maxRetriesPerRequest: options.maxRetriesPerRequest ?? DEFAULTS.maxRetriesPerRequest,
    connectionName: options.connectionName,
    enableOfflineQueue: true,
    enableAutoPipelining: options.autoPipelining ?? AUTO_PIPELINING,
    username: topology.username,
    password: topology.password,
  };
  const tls = topology.tls ? { ...options.tls } : undefined;

  let client: RedisClient;
  switch (topology.mode) {
    case 'standalone':
      client = new Redis({
        ...common,
        host: topology.host,
        port: topology.port,
        db: topology.db,
        tls,
        retryStrategy: redisReconnectDelay,
      });
      break;
    case 'sentinel':
      client = new Redis({
        ...common,
        sentinels: topology.sentinels,
        name: topology.masterName,
        db: topology.db,
        sentinelPassword: topology.sentinelPassword,
        tls,
        enableTLSForSentinelMode: topology.tls,
        sentinelTLS: tls,
        retryStrategy: redisReconnectDelay,
        // A sentinel that does not answer must not hold up failover to the next one.
        sentinelRetryStrategy: redisReconnectDelay,
      });
      break;
    case 'cluster': {
      // The prefix and offline queue belong to the cluster client; the rest applies per node.
      const { keyPrefix, enableOfflineQueue, enableAutoPipelining, ...nodeOptions } = common;
      const clusterOptions: ClusterOptions = {
        keyPrefix,
        enableOfflineQueue,
        enableAutoPipelining,
        clusterRetryStrategy: redisReconnectDelay,
        redisOptions: { ...nodeOptions, tls },
      };
      client = new Cluster(topology.nodes, clusterOptions);
      break;
    }
  }

  client.once('ready', () => {
    client.options.enableOfflineQueue = false;
  });
  // Without a listener ioredis prints every reconnect failure to stderr.
  client.on('error', (error: Error) => {
    options.logger?.warn({ err: { name: error.name, message: error.message } }, 'redis connection error');
  });
  return client;
}

function resolveTopology(options: CreateRedisOptions): RedisTopology {
  if (options.url !== undefined && options.topology !== undefined) {
    throw new TypeError('createRedis: give either url or topology, not both');
  }
  if (options.topology) return options.topology;
  if (options.url === undefined) throw new TypeError('createRedis: url or topology is required');
  return parseRedisUrl(options.url);
}

/**
 * Readiness check: PING with a deadline. Throws {@link DependencyUnavailableError} naming redis
 * when the server does not answer PONG in `timeoutMs`.
 *
 * @example
 * app.get('/readyz', async () => { await redisHealthCheck(redis, 1000); });
 */
export async function redisHealthCheck(client: RedisClient, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new DependencyUnavailableError(`redis did not answer PING within ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  try {
    const reply = await Promise.race([client.ping(), deadline]);
    if (reply !== 'PONG') throw new DependencyUnavailableError('redis answered PING unexpectedly');
  } catch (error) {
    if (error instanceof DependencyUnavailableError) throw error;
    try {
      translateRedisError(error);
    } catch (translated) {
      if (translated instanceof DependencyUnavailableError) throw translated;
      // A health check failing for any reason means the dependency is not usable.
      throw new DependencyUnavailableError('redis is unavailable', { cause: error });
    }
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Closes the client: a graceful QUIT when connected, then a hard disconnect that also stops
 * reconnection attempts. Resolves once the client has ended (bounded to about 2 s in all).
 */
export async function closeRedis(client: RedisClient): Promise<void> {
  if (client.status === 'end') return;
  const ended = new Promise<void>((resolve) => client.once('end', () => resolve()));
  if (client.status === 'ready')
    await withinMs(
      client.quit().catch(() => undefined),
      1000,
    );
  // Between reconnect attempts there is no socket whose close would emit 'end': disconnecting
  // cancels the pending attempt and that is all there is to wait for.
  const idle = client.status === 'reconnecting' || client.status === 'wait';
  if ((client.status as string) !== 'end') client.disconnect();
  if (!idle) await withinMs(ended, 1000);
}

async function withinMs(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}
