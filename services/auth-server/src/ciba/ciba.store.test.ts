import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { closeRedis, createRedis } from '@obip/redis';
import { testRedisPrefix, testRedisUrl } from '@obip/testing';
import { createCibaStore } from './ciba.store';

describe('the CIBA store in Redis', () => {
  const prefix = testRedisPrefix();
  const redis = createRedis({ url: testRedisUrl(), keyPrefix: prefix });
  const store = createCibaStore(redis);
  after(() => closeRedis(redis));

  /** Every key and string value under this test's prefix. */
  async function dump(): Promise<string> {
    const raw = createRedis({ url: testRedisUrl() });
    try {
      const keys = await raw.keys(`${prefix}*`);
      const values = await Promise.all(keys.map((key) => raw.get(key)));
      return [...keys, ...values].join('\n');
    } finally {
      await closeRedis(raw);
    }
  }

  test('finds the auth_req_id of an authentication id, and keeps neither in the clear', async () => {
    const authenticationId = randomUUID();
    const authReqId = `auth-req-${randomUUID()}`;
    await store.remember(authenticationId, authReqId, 60);
    assert.equal(await store.authReqIdOf(authenticationId), authReqId);
    assert.equal(await store.authReqIdOf(randomUUID()), undefined);
    const stored = await dump();
    assert.ok(stored.length > 0);
    assert.ok(!stored.includes(authReqId), 'the auth_req_id is not stored in the clear');
    assert.ok(!stored.includes(authenticationId), 'the authentication id is not stored in the clear');
  });

  test('lets one delivery claim a completion at a time', async () => {
    const authenticationId = randomUUID();
    const claims = await Promise.all([1, 2, 3].map(() => store.claimCompletion(authenticationId, 30_000)));
    assert.deepEqual(claims.filter(Boolean).length, 1);
  });

  test('counts one poll per interval, across concurrent callers', async () => {
    const authReqId = randomUUID();
    const polls = await Promise.all([1, 2, 3].map(() => store.countPoll(authReqId, 30_000)));
    assert.equal(polls.filter(Boolean).length, 1);
  });
});
