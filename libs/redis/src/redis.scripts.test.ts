import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { closeRedis, createRedis, type RedisClient } from './redis.client';
import { defineScript, isSingleConnection, readCommandStats } from './redis.scripts';

/**
 * A throwaway redis-server of this file's own (its counters are server-wide), started directly:
 * @obip/testing's startRedisServer depends on this lib.
 */
async function startOwnRedis(): Promise<{ url: string; stop(): Promise<void> }> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
  const child: ChildProcess = spawn(process.env.REDIS_SERVER_BIN ?? 'redis-server', args, { stdio: 'ignore' });
  const url = `redis://127.0.0.1:${port}`;
  const probeClient = createRedis({ url, connectTimeoutMs: 200 });
  try {
    for (let attempt = 0; ; attempt += 1) {
      if ((await probeClient.ping().catch(() => undefined)) === 'PONG') break;
      if (attempt === 100) throw new Error('redis-server did not start');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    await closeRedis(probeClient);
  }
  return {
    url,
    async stop() {
      child.kill();
      if (child.exitCode === null) await once(child, 'exit');
    },
  };
}

describe('auto-pipelining and scripts, counted on a Redis of our own', () => {
  let server: { url: string; stop(): Promise<void> };
  let redis: RedisClient;
  let admin: RedisClient;
  const prefix = 'scripts-test:';

  before(async () => {
    server = await startOwnRedis();
    redis = createRedis({ url: server.url, keyPrefix: prefix });
    admin = createRedis({ url: server.url });
    await Promise.all([redis.ping(), admin.ping()]);
  });
  after(async () => {
    await closeRedis(redis);
    await closeRedis(admin);
    await server.stop();
  });

  /** The server's counters over `work` alone: calls per command and socket reads (round trips). */
  async function counted(work: () => Promise<unknown>): Promise<{ calls: Record<string, number>; reads: number }> {
    await admin.config('RESETSTAT');
    const before = await readCommandStats(admin);
    await work();
    const after = await readCommandStats(admin);
    const calls: Record<string, number> = {};
    for (const [name, count] of Object.entries(after.calls)) {
      const delta = count - (before.calls[name] ?? 0);
      if (delta > 0 && name !== 'info' && name !== 'config') calls[name] = delta;
    }
    // The second reading's own INFO is one read.
    return { calls, reads: after.readsProcessed - before.readsProcessed - 1 };
  }

  test('commands issued without awaiting each other reach Redis in one read, still prefixed', async () => {
    const { calls, reads } = await counted(() =>
      Promise.all([redis.set('a', '1', 'EX', 60), redis.set('b', '2', 'EX', 60), redis.incr('c'), redis.get('a')]),
    );
    assert.deepEqual(calls, { set: 2, incr: 1, get: 1 });
    assert.equal(reads, 1, 'one write, one round trip');
    assert.deepEqual(await admin.mget(`${prefix}a`, `${prefix}b`, `${prefix}c`), ['1', '2', '1']);
  });

  test('with autoPipelining: false a command is written at once, never queued behind a batch in flight', async () => {
    const direct = createRedis({ url: server.url, keyPrefix: prefix, autoPipelining: false });
    try {
      await direct.ping();
      const [pipelined, written] = [redis.get('a'), direct.get('a')];
      assert.equal(redis.autoPipelineQueueSize, 1, 'the default client queues the command for the next batch');
      assert.equal(direct.autoPipelineQueueSize, 0, 'this one wrote it already');
      const [viaBatch, viaWrite] = await Promise.all([pipelined, written]);
      assert.equal(viaWrite, viaBatch, 'the same answer either way');
    } finally {
      await closeRedis(direct);
    }
  });

  test('a defined script is sent as EVALSHA once the connection knows it, and survives SCRIPT FLUSH', async () => {
    const incrBy = defineScript(redis, {
      name: 'obipTestIncrBy',
      numberOfKeys: 1,
      lua: "return redis.call('INCRBY', KEYS[1], ARGV[1])",
    });
    assert.equal(await incrBy('counter', 2), 2);
    const { calls } = await counted(() => Promise.all([incrBy('counter', 3), incrBy('counter', 4)]));
    assert.deepEqual(calls, { evalsha: 2, incrby: 2 }, 'no EVAL: the source is not sent again');
    assert.equal(await admin.get(`${prefix}counter`), '9', 'the script saw the prefixed key');

    await admin.script('FLUSH');
    assert.equal(await incrBy('counter', 1), 10, 'NOSCRIPT is answered by sending the source again');
  });

  test('MULTI is not mixed into an auto-pipelined batch: it stays atomic', async () => {
    const [, results] = await Promise.all([
      redis.set('m', '0'),
      redis.multi().incr('m').incr('m').exec(),
      redis.get('m'),
    ]);
    assert.deepEqual(results, [
      [null, 1],
      [null, 2],
    ]);
  });

  test('a standalone client sends every command over one connection, in the order issued', () => {
    assert.equal(isSingleConnection(redis), true);
  });
});
