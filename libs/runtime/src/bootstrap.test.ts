import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadSettings, serviceBaseSettings } from '@obip/config';
import { testRedisPrefix, testRedisUrl } from '@obip/testing';
import { bootstrapService } from './bootstrap';

// The Redis client a service is built with: auto-pipelined unless the service says otherwise
// (token-introspection does: one command per request has nothing to batch, and waiting for the
// batch in flight doubled its p99, bench/src/introspection/findings.md).
describe('bootstrapService: the Redis client', () => {
  const settings = loadSettings('bootstrap-test', serviceBaseSettings('bootstrap-test', { http: 0, grpc: 0, ops: 0 }), {
    REDIS_URL: testRedisUrl(),
    REDIS_KEY_PREFIX: testRedisPrefix('bootstrap'),
    LOG_LEVEL: 'silent',
  });

  /** The queue a command joins when sent without awaiting: 1 when auto-pipelined, 0 when written at once. */
  async function queuedBehindABatch(redisAutoPipelining?: boolean): Promise<number> {
    const foundation = await bootstrapService({
      name: 'bootstrap-test',
      settings,
      withMongo: false,
      ...(redisAutoPipelining === undefined ? {} : { redisAutoPipelining }),
    });
    try {
      await foundation.redis.ping();
      const sent = foundation.redis.get('bootstrap-probe');
      const queued = foundation.redis.autoPipelineQueueSize;
      await sent;
      return queued;
    } finally {
      for (const dependency of foundation.dependencies) await dependency.close();
    }
  }

  test('auto-pipelines by default', async () => {
    assert.equal(await queuedBehindABatch(), 1);
  });

  test('writes each command at once when the service turns auto-pipelining off', async () => {
    assert.equal(await queuedBehindABatch(false), 0);
  });
});
