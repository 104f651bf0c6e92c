import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, describe, test } from 'node:test';
import { DependencyUnavailableError } from '@obip/errors';
import { closeRedis, createRedis, redisHealthCheck } from './redis.client';
import { isRedisUnavailableError, translateRedisError } from './redis.errors';

// The shared Redis started by libs/testing's global setup (scripts/run-tests.mjs). Read from
// the environment rather than through @obip/testing, which itself depends on this lib.
function sharedRedisUrl(): string {
  const url = process.env.OBIP_TEST_REDIS_URL;
  if (!url)
    throw new Error(
      `OBIP_TEST_REDIS_URL is not set: ${process.env.OBIP_TEST_REDIS_ERROR ?? 'run via scripts/run-tests.mjs'}`,
    );
  return url;
}

const prefix = `t:redis_client:${process.pid}:`;

/** A port on which nothing listens. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('createRedis against a real Redis', () => {
  const redis = createRedis({ url: sharedRedisUrl(), keyPrefix: prefix, connectionName: 'redis-lib-test' });
  after(() => closeRedis(redis));

  test('prefixes every key it writes', async () => {
    const plain = createRedis({ url: sharedRedisUrl() });
    after(() => closeRedis(plain));
    await redis.set('k', 'v', 'PX', 5000);
    assert.equal(await plain.get(`${prefix}k`), 'v');
  });

  test('passes the health check', async () => {
    await redisHealthCheck(redis, 1000);
  });

  test('rethrows a command the server rejects unchanged: a bug, not an outage', async () => {
    await redis.set('a-string', 'x', 'PX', 5000);
    const error = await redis.lpush('a-string', 'y').catch((e: unknown) => e);
    assert.ok(error instanceof Error && error.message.startsWith('WRONGTYPE'));
    assert.equal(isRedisUnavailableError(error), false);
    assert.throws(
      () => translateRedisError(error),
      (thrown: unknown) => thrown === error,
    );
  });
});

describe('createRedis when Redis cannot be reached', () => {
  test('fails the health check with DependencyUnavailableError naming redis', async (t) => {
    const redis = createRedis({ url: `redis://127.0.0.1:${await closedPort()}`, connectTimeoutMs: 300 });
    t.after(() => closeRedis(redis));
    await assert.rejects(redisHealthCheck(redis, 1500), (error: unknown) => {
      assert.ok(error instanceof DependencyUnavailableError);
      assert.equal(error.kind, 'unavailable');
      assert.match(error.description, /redis/);
      return true;
    });
  });

  test('fails a command within about two reconnect attempts instead of hanging', { timeout: 10_000 }, async (t) => {
    const redis = createRedis({ url: `redis://127.0.0.1:${await closedPort()}`, connectTimeoutMs: 300 });
    t.after(() => closeRedis(redis));
    // Counted, not timed: a wall-clock bound would measure the machine's load.
    let reconnects = 0;
    redis.on('reconnecting', () => (reconnects += 1));
    const error = await redis.get('k').catch((e: unknown) => e);
    assert.ok(isRedisUnavailableError(error), String(error));
    assert.equal((error as Error).name, 'MaxRetriesPerRequestError', 'ended by the retry limit, not a timeout');
    assert.ok(reconnects >= 1 && reconnects <= 2, `failed after ${reconnects} reconnect attempts`);
    assert.throws(() => translateRedisError(error), DependencyUnavailableError);
  });

  test('closeRedis stops reconnecting and can be called twice', async () => {
    const redis = createRedis({ url: `redis://127.0.0.1:${await closedPort()}` });
    await new Promise((resolve) => redis.once('reconnecting', resolve));
    let attempts = 0;
    redis.on('connecting', () => (attempts += 1));
    const started = Date.now();
    await closeRedis(redis);
    await closeRedis(redis);
    assert.ok(Date.now() - started < 500, 'nothing to wait for between attempts');
    await new Promise((resolve) => setTimeout(resolve, 400));
    assert.equal(attempts, 0, 'no reconnection after close');
  });
});
