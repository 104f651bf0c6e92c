import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { DependencyUnavailableError } from '@obip/errors';
import { closeRedis, createRedis, redisHealthCheck, translateRedisError } from '@obip/redis';
import { startRedisServer } from './redis.server';
import { attachServerLogsOnFailure, testRedisPrefix, testRedisUrl } from './test-servers';

attachServerLogsOnFailure();

describe('shared Redis (real redis-server)', () => {
  const redis = createRedis({ url: testRedisUrl(), keyPrefix: testRedisPrefix() });
  after(() => closeRedis(redis));

  test('SET NX PX succeeds once: a second SET NX on the same key fails', async () => {
    assert.equal(await redis.set('code:abc', 'first', 'PX', 10_000, 'NX'), 'OK');
    assert.equal(await redis.set('code:abc', 'second', 'PX', 10_000, 'NX'), null);
    assert.equal(await redis.get('code:abc'), 'first');
  });

  test('a key set with PX is gone once its TTL has elapsed', async () => {
    // SET and PTTL in one transaction: on a loaded CI machine a separate EXISTS can come after the
    // 100 ms already passed, so the only timing this test relies on is Redis's own clock.
    const setAt = Date.now();
    const replies = await redis.multi().set('short-lived', '1', 'PX', 100).pttl('short-lived').exec();
    const remainingMs = Number(replies?.[1]?.[1]);
    assert.ok(remainingMs > 0 && remainingMs <= 100, `PTTL right after SET was ${remainingMs}`);

    const deadline = Date.now() + 5_000;
    while ((await redis.exists('short-lived')) === 1) {
      assert.ok(Date.now() < deadline, 'the key outlived its TTL by seconds');
      await sleep(25);
    }
    assert.ok(Date.now() - setAt >= 90, 'the key was gone before its TTL elapsed');
  });

  test('keeps keys under the per-file prefix, apart from other files', async () => {
    const plain = createRedis({ url: testRedisUrl() });
    after(() => closeRedis(plain));
    await redis.set('prefixed', 'yes');
    assert.equal(await plain.get(`${testRedisPrefix()}prefixed`), 'yes');
    assert.equal(await plain.get('prefixed'), null);
    assert.notEqual(testRedisPrefix('other'), testRedisPrefix());
  });
});

describe('a Redis the test stops and restarts', () => {
  test('redisHealthCheck throws DependencyUnavailableError after the server stops and passes after restart', async (t) => {
    const server = await startRedisServer();
    t.after(() => server.dispose());
    const redis = createRedis({ url: server.url, connectTimeoutMs: 500 });
    t.after(() => closeRedis(redis));

    await redisHealthCheck(redis, 1000);
    await server.stop();
    await assert.rejects(redisHealthCheck(redis, 1000), (error: unknown) => {
      assert.ok(error instanceof DependencyUnavailableError);
      assert.equal(error.code, 'temporarily_unavailable');
      assert.match(error.description, /redis/);
      return true;
    });

    // While Redis is down a command fails at once instead of queueing (offline queue off
    // after the first connection), and it translates to a 503-class error. The message says
    // which: a queued command would fail later with 'Command timed out'.
    const refused = await redis.get('k').catch((error: unknown) => error);
    assert.equal((refused as Error).message, "Stream isn't writeable and enableOfflineQueue options is false");
    assert.throws(() => translateRedisError(refused), DependencyUnavailableError);

    await server.restart();
    // The client reconnects on its own, with backoff.
    const deadline = Date.now() + 5000;
    for (;;) {
      try {
        await redisHealthCheck(redis, 500);
        break;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await sleep(100);
      }
    }
    assert.equal(await redis.set('after-restart', '1', 'PX', 1000, 'NX'), 'OK');
    assert.match(server.logs(), /Ready to accept connections/);
  });
});

describe('a Redis with a data directory (the sandbox)', () => {
  test('keeps its keys for the next start in the same directory', async (t) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'obip-redis-data-test-'));
    t.after(() => rmSync(dataDir, { recursive: true, force: true }));

    const first = await startRedisServer({ dataDir });
    const writer = createRedis({ url: first.url });
    await writer.set('consent:kept', 'Authorised');
    await closeRedis(writer);
    await first.dispose();
    assert.ok(existsSync(dataDir), 'dispose keeps a data directory');

    const second = await startRedisServer({ dataDir });
    t.after(() => second.dispose());
    const reader = createRedis({ url: second.url });
    t.after(() => closeRedis(reader));
    assert.equal(await reader.get('consent:kept'), 'Authorised');
  });
});

describe('a throwaway redis-server', () => {
  test('has written and closed its log when stop resolves, so its folder can be removed right after', async () => {
    const logDir = mkdtempSync(join(tmpdir(), 'obip-redis-log-'));
    try {
      const server = await startRedisServer({ logDir });
      await server.stop();
      assert.match(readFileSync(server.logFile, 'utf8'), /exited/, 'the exit line is on disk');
      const quick = await startRedisServer();
      await quick.dispose(); // a short-lived server whose folder goes at once: no stray error after
      assert.equal(existsSync(dirname(quick.logFile)), false);
    } finally {
      rmSync(logDir, { recursive: true, force: true });
    }
  });
});
