import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { DomainError } from '@obip/errors';
import { DependencyUnavailableError } from '@obip/errors';
import { closeRedis, createRedis, readCommandStats, type RedisClient } from '@obip/redis';
import { startRedisServer, testRedisPrefix, testRedisUrl } from '@obip/testing';
import { createTokenStore, tokenKeyId, type TokenRecord } from './index';

const NOW = 1_800_000_000;
const newToken = () => randomBytes(32).toString('base64url');

function recordFor(overrides: Partial<TokenRecord> = {}): TokenRecord {
  return {
    v: 1,
    tokenType: 'access_token',
    grantType: 'authorization_code',
    clientId: 'client-a',
    subject: 'customer-1',
    scope: 'openid accounts',
    issuer: 'https://as.example',
    audience: ['https://bank.example'],
    issuedAt: NOW - 10,
    expiresAt: NOW + 300,
    grantId: 'grant-1',
    consentId: 'consent-1',
    openbankingIntentId: 'consent-1',
    cnf: { 'x5t#S256': 'thumb' },
    authorizationDetails: [{ type: 'account_information' }],
    acr: 'urn:openbanking:psd2:sca',
    ...overrides,
  };
}

describe('token store on real Redis', () => {
  let redis: RedisClient;
  let clock = NOW;
  const store = () => createTokenStore(redis, { revocationMemorySeconds: 3600, now: () => clock });

  before(() => {
    redis = createRedis({ url: testRedisUrl(), keyPrefix: testRedisPrefix() });
  });
  after(() => closeRedis(redis));

  test('finds a saved token by its value and returns the record as written', async () => {
    const token = newToken();
    const record = recordFor({ consentId: 'c-find', grantId: 'g-find' });
    assert.equal(await store().save(token, record), 'saved');
    assert.deepEqual(await store().find(token), record);
    assert.equal(await store().find(newToken()), undefined);
  });

  test('never stores the token value, only its SHA-256', async () => {
    const token = newToken();
    await store().save(token, recordFor({ consentId: 'c-hash', grantId: 'g-hash' }));
    const keys = await redis.keys(`${testRedisPrefix()}*`);
    assert.ok(keys.some((key) => key.endsWith(`tok:${tokenKeyId(token)}`)));
    for (const key of keys) {
      assert.ok(!key.includes(token), 'no key holds the token');
      const unprefixed = key.slice(testRedisPrefix().length);
      const type = await redis.type(unprefixed);
      const content =
        type === 'set' ? (await redis.smembers(unprefixed)).join(' ') : ((await redis.get(unprefixed)) ?? '');
      assert.ok(!content.includes(token), `no value holds the token (${unprefixed})`);
    }
  });

  test('a record expires in Redis when the token does, and is not found after its expiry', async () => {
    const token = newToken();
    await store().save(token, recordFor({ consentId: 'c-exp', grantId: 'g-exp', expiresAt: clock + 120 }));
    const ttl = await redis.ttl(`tok:${tokenKeyId(token)}`);
    assert.ok(ttl > 110 && ttl <= 120, `ttl ${ttl}`);
    clock += 121;
    try {
      assert.equal(await store().find(token), undefined);
    } finally {
      clock = NOW;
    }
  });

  test('refuses a malformed or already expired record and stores nothing', async () => {
    const token = newToken();
    await assert.rejects(
      store().save(token, { ...recordFor(), clientId: '' }),
      (error: DomainError) => error.code === 'invalid_request',
    );
    await assert.rejects(
      store().save(token, recordFor({ expiresAt: NOW - 1, issuedAt: NOW - 60 })),
      (error: DomainError) => error.code === 'invalid_request',
    );
    await assert.rejects(
      store().save(token, recordFor({ identityRelease: [{ trustFramework: 'uk_tfida', claims: [''] }] })),
      (error: DomainError) => error.code === 'invalid_request',
    );
    assert.equal(await redis.exists(`tok:${tokenKeyId(token)}`), 0);
  });

  test('keeps the names of released identity claims with the record', async () => {
    const token = newToken();
    const identityRelease = [{ trustFramework: 'uk_tfida', claims: ['given_name', 'birthdate'] }];
    await store().save(token, recordFor({ identityRelease }));
    assert.deepEqual((await store().find(token))?.identityRelease, identityRelease);
  });

  test('treats a corrupted or foreign record as absent', async () => {
    const token = newToken();
    await redis.set(`tok:${tokenKeyId(token)}`, '{"v":2,"clientId":"x"}');
    assert.equal(await store().find(token), undefined);
    await redis.set(`tok:${tokenKeyId(token)}`, 'not json');
    assert.equal(await store().find(token), undefined);
  });

  test('revokes one token', async () => {
    const token = newToken();
    await store().save(token, recordFor({ consentId: 'c-one', grantId: 'g-one' }));
    assert.equal(await store().revoke(token), true);
    assert.equal(await store().find(token), undefined);
    assert.equal(await store().revoke(token), false);
  });

  for (const owner of ['consent', 'client', 'grant'] as const) {
    test(`revoking a ${owner} revokes every token bound to it and nothing else, idempotently`, async () => {
      const id = `${owner}-${randomBytes(4).toString('hex')}`;
      const bound = (index: number) =>
        recordFor({
          clientId: owner === 'client' ? id : `client-${index}`,
          consentId: owner === 'consent' ? id : `consent-${index}`,
          grantId: owner === 'grant' ? id : `grant-${index}`,
          tokenType: index % 2 === 0 ? 'access_token' : 'refresh_token',
        });
      const boundTokens = [newToken(), newToken(), newToken()];
      const otherToken = newToken();
      for (const [index, token] of boundTokens.entries()) await store().save(token, bound(index));
      await store().save(
        otherToken,
        recordFor({ clientId: `other-${id}`, consentId: `other-${id}`, grantId: `other-${id}` }),
      );

      const revoke = { consent: store().revokeByConsent, client: store().revokeByClient, grant: store().revokeByGrant }[
        owner
      ];
      assert.equal(await revoke(id), 3);
      for (const token of boundTokens) assert.equal(await store().find(token), undefined);
      assert.ok(await store().find(otherToken), 'a token of another owner survives');
      assert.equal(await revoke(id), 0);
    });
  }

  test('a token saved after its consent was revoked is refused', async () => {
    await store().revokeByConsent('c-late');
    const token = newToken();
    assert.equal(await store().save(token, recordFor({ consentId: 'c-late', grantId: 'g-late' })), 'revoked');
    assert.equal(await store().find(token), undefined);
  });

  test('no token of a consent survives a cascade that runs while tokens are being saved', async () => {
    // The cascade runs on its own connection, as on another replica, and the saves are spread
    // over event-loop turns around it, so some land before it, some during and some after.
    const cascadeRedis = createRedis({ url: testRedisUrl(), keyPrefix: testRedisPrefix() });
    const cascadeStore = createTokenStore(cascadeRedis, { revocationMemorySeconds: 3600, now: () => clock });
    const turns = (count: number) =>
      new Promise<void>((resolve) => {
        const step = (left: number) => (left === 0 ? resolve() : setImmediate(() => step(left - 1)));
        step(count);
      });
    try {
      const consentId = `c-race-${randomBytes(4).toString('hex')}`;
      const tokens = Array.from({ length: 200 }, newToken);
      const saves = tokens.map(async (token, index) => {
        await turns(index % 40);
        return store().save(
          token,
          recordFor({ consentId, grantId: `g-race-${index}`, clientId: `client-race-${index}` }),
        );
      });
      const cascade = turns(20).then(() => cascadeStore.revokeByConsent(consentId));
      const outcomes = await Promise.all(saves);
      await cascade;
      const survivors = (await Promise.all(tokens.map((token) => store().find(token)))).filter(Boolean);
      assert.equal(survivors.length, 0);
      assert.ok(outcomes.includes('revoked'), 'some saves ran after the cascade began');
    } finally {
      await closeRedis(cascadeRedis);
    }
  });
});

describe('the cost of a save in Redis', () => {
  test('one round trip: the record, one command per index and the revocation checks, sent together', async () => {
    // A server of its own: the counters are server-wide.
    const server = await startRedisServer();
    const redis = createRedis({ url: server.url, keyPrefix: 'cost:' });
    try {
      const store = createTokenStore(redis, { revocationMemorySeconds: 60, now: () => NOW });
      await store.save(newToken(), recordFor()); // the connection learns the index script
      await redis.config('RESETSTAT');
      assert.equal(await store.save(newToken(), recordFor()), 'saved');
      const { calls, readsProcessed } = await readCommandStats(redis);
      // RESETSTAT's own read was counted before the reset; the save is one, the reading another.
      assert.equal(readsProcessed, 2, 'the save took one round trip');
      // What the client sent: SET, one EVALSHA per owner (consent, client, grant), one EXISTS each.
      assert.equal(calls.set, 1);
      assert.equal(calls.evalsha, 3);
      assert.equal(calls.eval, undefined);
      assert.equal(calls.exists, 3);
      assert.equal(calls.multi, undefined);
      // What the index script did inside Redis, unchanged: SADD, EXPIRE NX and EXPIRE GT each.
      assert.equal(calls.sadd, 3);
      assert.equal(calls.expire, 6);
    } finally {
      await closeRedis(redis);
      await server.dispose();
    }
  });

  test('an index lives as long as its longest-lived token and gains no shorter TTL', async () => {
    const redis = createRedis({ url: testRedisUrl(), keyPrefix: testRedisPrefix('index-ttl') });
    try {
      const store = createTokenStore(redis, { revocationMemorySeconds: 60, now: () => NOW });
      const clientId = `client-ttl-${randomBytes(4).toString('hex')}`;
      const bound = (lifetime: number) => recordFor({ clientId, expiresAt: NOW + lifetime });
      await store.save(newToken(), bound(300));
      await store.save(newToken(), bound(100));
      const shortened = await redis.ttl(`tok:idx:client:${clientId}`);
      assert.ok(shortened > 290 && shortened <= 300, `kept the longer TTL: ${shortened}`);
      await store.save(newToken(), bound(900));
      const extended = await redis.ttl(`tok:idx:client:${clientId}`);
      assert.ok(extended > 890 && extended <= 900, `extended: ${extended}`);
      assert.equal(await redis.scard(`tok:idx:client:${clientId}`), 3);
    } finally {
      await closeRedis(redis);
    }
  });
});

describe('token store when Redis is down', () => {
  test('fails with a 503-class error rather than reporting a token inactive', async () => {
    const server = await startRedisServer();
    const redis = createRedis({ url: server.url });
    try {
      const store = createTokenStore(redis, { revocationMemorySeconds: 60 });
      const token = newToken();
      await store.save(
        token,
        recordFor({ expiresAt: Math.floor(Date.now() / 1000) + 60, issuedAt: Math.floor(Date.now() / 1000) }),
      );
      await server.stop();
      await assert.rejects(store.find(token), (error: unknown) => error instanceof DependencyUnavailableError);
      await assert.rejects(
        store.revokeByConsent('consent-1'),
        (error: unknown) => error instanceof DependencyUnavailableError,
      );
    } finally {
      await closeRedis(redis);
      await server.dispose();
    }
  });
});

describe('a read-only token store', () => {
  test('finds records but refuses to run cascades without a revocation memory', async () => {
    const redis = createRedis({ url: testRedisUrl(), keyPrefix: testRedisPrefix('read-only') });
    try {
      const writer = createTokenStore(redis, { revocationMemorySeconds: 60, now: () => NOW });
      const reader = createTokenStore(redis, { now: () => NOW });
      const token = newToken();
      await writer.save(token, recordFor({ consentId: 'c-ro', grantId: 'g-ro' }));
      assert.equal((await reader.find(token))?.consentId, 'c-ro');
      await assert.rejects(reader.revokeByConsent('c-ro'), TypeError);
      assert.ok(await reader.find(token), 'the refused cascade revoked nothing');
    } finally {
      await closeRedis(redis);
    }
  });
});
