import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { Connection } from 'mongoose';
import { closeMongo, connectMongo } from '@obip/mongo';
import { closeRedis, createRedis, readCommandStats, type RedisClient } from '@obip/redis';
import { dropTestDatabase, startRedisServer, testMongoUrl, testRedisPrefix, testRedisUrl } from '@obip/testing';
import { LONGEST_REFRESH_TOKEN_SECONDS, createMongoModelStores, type MongoModelStores } from './adapter.mongo';
import { storageIdOf } from './adapter.keys';
import { createRedisModelStore, redisKeys, revokeGrantInRedis } from './adapter.redis';

const newId = () => randomBytes(24).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

/** What an engine error looks like from the outside: its OAuth `error` code. */
const oauthError = (code: string) => (error: unknown) => (error as { error?: string }).error === code;

function payloadFor(model: string, overrides: Partial<AdapterPayload> = {}): AdapterPayload {
  return {
    iat: now(),
    exp: now() + 60,
    kind: model,
    clientId: 'client-a',
    accountId: 'customer-1',
    grantId: `grant-${newId()}`,
    scope: 'openid accounts',
    ...overrides,
  };
}

interface ContractSubject {
  /** A second instance on its own connection, as another replica would have. */
  replica(): Adapter;
  adapter: Adapter;
  replays: string[];
}

/**
 * The engine's adapter contract (lib/adapters/memory_adapter.js), which every storage
 * implementation must pass, plus the atomic consume the engine's find-then-consume relies on.
 */
function describeAdapterContract(name: string, model: string, subject: () => ContractSubject) {
  describe(`${name}: ${model} adapter contract`, () => {
    test('finds what was upserted, with the id back as jti', async () => {
      const { adapter } = subject();
      const id = newId();
      const payload = payloadFor(model, { jti: id });
      await adapter.upsert(id, payload, 60);
      const found = await adapter.find(id);
      assert.equal(found?.jti, id);
      assert.equal(found?.grantId, payload.grantId);
      assert.equal(found?.consumed, undefined);
      assert.equal(await adapter.find(newId()), undefined);
    });

    test('an upsert replaces the previous record', async () => {
      const { adapter } = subject();
      const id = newId();
      await adapter.upsert(id, payloadFor(model, { jti: id, scope: 'openid' }), 60);
      await adapter.upsert(id, payloadFor(model, { jti: id, scope: 'openid payments' }), 60);
      assert.equal((await adapter.find(id))?.scope, 'openid payments');
    });

    test('destroy removes the record', async () => {
      const { adapter } = subject();
      const id = newId();
      await adapter.upsert(id, payloadFor(model, { jti: id }), 60);
      await adapter.destroy(id);
      assert.equal(await adapter.find(id), undefined);
    });

    test('consume marks the record consumed; a second consume is refused and revokes the grant', async () => {
      const { adapter, replays } = subject();
      const id = newId();
      const payload = payloadFor(model, { jti: id });
      await adapter.upsert(id, payload, 60);
      await adapter.consume(id);
      assert.equal(typeof (await adapter.find(id))?.consumed, 'number');
      await assert.rejects(adapter.consume(id), oauthError('invalid_grant'));
      assert.ok(replays.includes(payload.grantId!));
    });

    test('concurrent consumes across replicas: exactly one wins', async () => {
      const { adapter, replica, replays } = subject();
      for (let round = 0; round < 10; round++) {
        const id = newId();
        const payload = payloadFor(model, { jti: id });
        await adapter.upsert(id, payload, 60);
        const replicas = [adapter, replica(), replica(), replica()];
        const outcomes = await Promise.allSettled(replicas.map((instance) => instance.consume(id)));
        assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 1, `round ${round}`);
        for (const lost of outcomes.filter((o) => o.status === 'rejected')) {
          assert.ok(oauthError('invalid_grant')((lost as PromiseRejectedResult).reason));
        }
        assert.ok(replays.includes(payload.grantId!), 'the losers revoke the grant');
      }
    });

    test('revokeByGrantId removes every record of the grant and none of another', async () => {
      const { adapter } = subject();
      const grantId = `grant-${newId()}`;
      const [a, b, other] = [newId(), newId(), newId()];
      await adapter.upsert(a, payloadFor(model, { jti: a, grantId }), 60);
      await adapter.upsert(b, payloadFor(model, { jti: b, grantId }), 60);
      await adapter.upsert(other, payloadFor(model, { jti: other }), 60);
      await adapter.revokeByGrantId(grantId);
      assert.equal(await adapter.find(a), undefined);
      assert.equal(await adapter.find(b), undefined);
      assert.ok(await adapter.find(other));
    });
  });
}

describe('adapter contract on real Redis and MongoDB', () => {
  const redisClients: RedisClient[] = [];
  const mongoConnections: Connection[] = [];
  const replays: string[] = [];
  const onReplay = async (grantId: string) => void replays.push(grantId);
  const redis = () => {
    const client = createRedis({ url: testRedisUrl(), keyPrefix: testRedisPrefix() });
    redisClients.push(client);
    return client;
  };
  let mongo: Connection;
  let mongoStores: MongoModelStores;

  before(async () => {
    mongo = await connectMongo({ url: testMongoUrl(), serverSelectionTimeoutMS: 5000, connectDeadlineMs: 10_000 });
    mongoConnections.push(mongo);
    mongoStores = createMongoModelStores(mongo, { onReplay });
    await mongoStores.ensureIndexes();
  });
  after(async () => {
    await Promise.all(redisClients.map((client) => closeRedis(client)));
    await Promise.all(mongoConnections.map((connection) => closeMongo(connection)));
    await dropTestDatabase(testMongoUrl());
  });

  const revocationMemorySeconds = 3600;
  for (const model of ['AuthorizationCode', 'BackchannelAuthenticationRequest']) {
    const shared = (() => {
      let cached: ContractSubject | undefined;
      return () =>
        (cached ??= {
          adapter: createRedisModelStore(redis(), model, { revocationMemorySeconds, onReplay }),
          replica: () => createRedisModelStore(redis(), model, { revocationMemorySeconds, onReplay }),
          replays,
        });
    })();
    describeAdapterContract('redis', model, shared);
  }

  describeAdapterContract('mongodb', 'RefreshToken', () => ({
    adapter: mongoStores.refreshTokens,
    // A replica has its own connection pool; the claim is the unique _id of the consumption record.
    replica: () => createMongoModelStores(mongo, { onReplay }).refreshTokens,
    replays,
  }));

  describe('redis specifics', () => {
    test('a credential is stored only as its SHA-256: no key or value holds it, and the record expires', async () => {
      const client = redis();
      const codes = createRedisModelStore(client, 'AuthorizationCode', { revocationMemorySeconds });
      const code = newId();
      await codes.upsert(code, payloadFor('AuthorizationCode', { jti: code }), 60);
      const keys = await client.keys(`${testRedisPrefix()}*`);
      assert.ok(keys.length > 0);
      for (const key of keys) {
        assert.ok(!key.includes(code));
        const unprefixed = key.slice(testRedisPrefix().length);
        const type = await client.type(unprefixed);
        const content =
          type === 'hash'
            ? JSON.stringify(await client.hgetall(unprefixed))
            : type === 'set'
              ? (await client.smembers(unprefixed)).join(' ')
              : type === 'string'
                ? ((await client.get(unprefixed)) ?? '')
                : '';
        assert.ok(!content.includes(code), `${unprefixed} holds no code`);
      }
      const recordKey = keys.find((key) => key.includes('oidc:AuthorizationCode:'))!;
      const ttl = await client.ttl(recordKey.slice(testRedisPrefix().length));
      assert.ok(ttl > 50 && ttl <= 60, `ttl ${ttl}`);
    });

    test('a second use of a PAR request_uri is refused with invalid_request_uri', async () => {
      const par = createRedisModelStore(redis(), 'PushedAuthorizationRequest', { revocationMemorySeconds });
      const id = newId();
      await par.upsert(id, payloadFor('PushedAuthorizationRequest', { jti: id }), 60);
      const outcomes = await Promise.allSettled([par.consume(id), par.consume(id)]);
      assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 1);
      const lost = outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult;
      assert.ok(oauthError('invalid_request_uri')(lost.reason));
    });

    test('consuming a record that has expired or never existed is refused and creates nothing', async () => {
      const client = redis();
      const codes = createRedisModelStore(client, 'AuthorizationCode', { revocationMemorySeconds });
      const id = newId();
      await assert.rejects(codes.consume(id), oauthError('invalid_grant'));
      assert.equal(await codes.find(id), undefined);
    });

    test('sessions are found by uid, and the uid index goes with the session', async () => {
      const sessions = createRedisModelStore(redis(), 'Session', { revocationMemorySeconds });
      const id = newId();
      const uid = newId();
      await sessions.upsert(id, { jti: id, uid, kind: 'Session', accountId: 'customer-1', exp: now() + 60 }, 60);
      assert.equal((await sessions.findByUid(uid))?.jti, id);
      await sessions.destroy(id);
      assert.equal(await sessions.findByUid(uid), undefined);
    });

    test('replay detection: of many concurrent claims on one jti, exactly one succeeds', async () => {
      const replay = () => createRedisModelStore(redis(), 'ReplayDetection', { revocationMemorySeconds });
      const id = newId();
      const claims = await Promise.all(
        Array.from({ length: 8 }, () => replay().insertOnce(id, { kind: 'ReplayDetection', iss: 'client-a' }, 30)),
      );
      assert.equal(claims.filter(Boolean).length, 1);
    });

    test('a replay claim is one SET NX with its TTL, and a second claim of the same id fails', async () => {
      const client = redis();
      const replay = createRedisModelStore(client, 'ReplayDetection', { revocationMemorySeconds });
      const id = newId();
      assert.equal(await replay.insertOnce(id, { kind: 'ReplayDetection', iss: 'client-a' }, 30), true);
      assert.equal(await replay.insertOnce(id, { kind: 'ReplayDetection', iss: 'client-a' }, 30), false);
      const key = redisKeys.record('ReplayDetection', storageIdOf('ReplayDetection', id));
      const ttl = await client.ttl(key);
      assert.ok(ttl > 25 && ttl <= 30, `ttl ${ttl}`);
    });

    test('an upsert after a consume drops the consumed mark, as a replaced record should', async () => {
      const codes = createRedisModelStore(redis(), 'AuthorizationCode', { revocationMemorySeconds });
      const id = newId();
      await codes.upsert(id, payloadFor('AuthorizationCode', { jti: id }), 60);
      await codes.consume(id);
      await codes.upsert(id, payloadFor('AuthorizationCode', { jti: id }), 60);
      assert.equal((await codes.find(id))?.consumed, undefined);
      await codes.upsert(id, payloadFor('AuthorizationCode', { jti: id, consumed: 1_800_000_000 }), 60);
      assert.equal((await codes.find(id))?.consumed, 1_800_000_000);
    });

    test('the token endpoint costs one command per step: replay claim, then record and client index together', async () => {
      // A server of its own: the counters are server-wide.
      const server = await startRedisServer();
      const client = createRedis({ url: server.url, keyPrefix: 'cost:' });
      try {
        const replay = createRedisModelStore(client, 'ReplayDetection', { revocationMemorySeconds });
        const tokens = createRedisModelStore(client, 'ClientCredentials', { revocationMemorySeconds });
        const issue = async () => {
          await replay.insertOnce(newId(), { kind: 'ReplayDetection', iss: 'client-a' }, 30);
          const id = newId();
          await tokens.upsert(id, { kind: 'ClientCredentials', jti: id, clientId: 'client-a', exp: now() + 300 }, 300);
        };
        await issue(); // the connection learns the scripts
        await client.config('RESETSTAT');
        await issue();
        const { calls, readsProcessed } = await readCommandStats(client);
        // RESETSTAT's own read was counted before the reset; two steps, then this reading.
        assert.equal(readsProcessed, 3, 'the claim and the token write took a round trip each');
        assert.equal(calls.set, 1, 'the claim: one SET NX EX');
        assert.equal(calls.hsetnx, undefined);
        assert.equal(calls.evalsha, 2, 'the record and the client index, a script each');
        assert.equal(calls.eval, undefined);
        assert.equal(calls.multi, undefined);
      } finally {
        await closeRedis(client);
        await server.dispose();
      }
    });

    test('a token of a grant is written and checked against a revocation in one round trip', async () => {
      const server = await startRedisServer();
      const client = createRedis({ url: server.url, keyPrefix: 'cost:' });
      try {
        const tokens = createRedisModelStore(client, 'AccessToken', { revocationMemorySeconds });
        const issue = async () => {
          const id = newId();
          await tokens.upsert(id, payloadFor('AccessToken', { jti: id }), 60);
          return id;
        };
        await issue();
        await client.config('RESETSTAT');
        const id = await issue();
        const { calls, readsProcessed } = await readCommandStats(client);
        assert.equal(readsProcessed, 2, 'one round trip, then this reading');
        assert.deepEqual([calls.evalsha, calls.exists], [3, 1], 'record, grant index, client index; the check');
        assert.ok(await tokens.find(id));
      } finally {
        await closeRedis(client);
        await server.dispose();
      }
    });

    test('a token of a grant revoked while it was being issued is refused and not kept', async () => {
      const client = redis();
      const tokens = createRedisModelStore(client, 'AccessToken', { revocationMemorySeconds });
      const grantId = `grant-${newId()}`;
      assert.equal(await revokeGrantInRedis(client, grantId, revocationMemorySeconds), 0);
      const id = newId();
      await assert.rejects(
        tokens.upsert(id, payloadFor('AccessToken', { jti: id, grantId }), 60),
        oauthError('invalid_grant'),
      );
      assert.equal(await tokens.find(id), undefined);
      assert.equal(await client.exists(redisKeys.grantIndex(grantId)), 1, 'only the index entry, which expires');
    });

    test('a store that does not answer is a 503 temporarily_unavailable, not a missing record', async () => {
      const server = await startRedisServer();
      const client = createRedis({ url: server.url });
      try {
        const codes = createRedisModelStore(client, 'AuthorizationCode', { revocationMemorySeconds });
        await codes.upsert('x', payloadFor('AuthorizationCode'), 60);
        await server.stop();
        await assert.rejects(codes.find('x'), (error: unknown) => {
          const e = error as { error?: string; status?: number };
          return e.error === 'temporarily_unavailable' && e.status === 503;
        });
      } finally {
        await closeRedis(client);
        await server.dispose();
      }
    });
  });

  describe('mongodb specifics', () => {
    test('a grant keeps its consent link when the engine saves it again', async () => {
      const grantId = `grant-${newId()}`;
      await mongoStores.grants.upsert(grantId, payloadFor('Grant', { jti: grantId }), 3600);
      await mongoStores.grants.linkConsent(grantId, { consentId: 'consent-1', openbankingIntentId: 'consent-1' });
      await mongoStores.grants.upsert(grantId, payloadFor('Grant', { jti: grantId, scope: 'openid payments' }), 3600);
      assert.deepEqual(await mongoStores.grants.consentOf(grantId), {
        consentId: 'consent-1',
        openbankingIntentId: 'consent-1',
      });
      assert.ok((await mongoStores.grants.grantIdsOfConsent('consent-1')).includes(grantId));
    });

    test('an expired record is not found', async () => {
      const id = newId();
      await mongoStores.refreshTokens.upsert(id, payloadFor('RefreshToken', { jti: id }), 1);
      await new Promise((resolve) => setTimeout(resolve, 1100));
      assert.equal(await mongoStores.refreshTokens.find(id), undefined);
    });

    test('the purge deletes expired grants, refresh tokens and stale consumption markers, and nothing live', async () => {
      const expiredGrant = `grant-${newId()}`;
      const liveGrant = `grant-${newId()}`;
      const endlessGrant = `grant-${newId()}`;
      const expiredToken = newId();
      const liveToken = newId();
      await mongoStores.grants.upsert(expiredGrant, payloadFor('Grant', { jti: expiredGrant }), 60);
      await mongoStores.grants.upsert(liveGrant, payloadFor('Grant', { jti: liveGrant }), 3600);
      await mongoStores.grants.upsert(endlessGrant, payloadFor('Grant', { jti: endlessGrant }), undefined);
      await mongoStores.refreshTokens.upsert(expiredToken, payloadFor('RefreshToken', { jti: expiredToken }), 60);
      await mongoStores.refreshTokens.upsert(liveToken, payloadFor('RefreshToken', { jti: liveToken }), 3600);
      const markers = mongo.collection<{ _id: string; at: Date }>('oidc_consumptions');
      const staleMarker = `RefreshToken:stale-${newId()}`;
      const freshMarker = `RefreshToken:fresh-${newId()}`;
      const inTwoMinutes = new Date(Date.now() + 120_000);
      await markers.insertMany([
        { _id: staleMarker, at: new Date(inTwoMinutes.getTime() - LONGEST_REFRESH_TOKEN_SECONDS * 1000 - 1000) },
        { _id: freshMarker, at: new Date() },
      ]);

      const purged = await mongoStores.purgeExpired(inTwoMinutes);
      assert.ok(purged.grants >= 1 && purged.refreshTokens >= 1 && purged.consumptions >= 1, JSON.stringify(purged));
      const grantIds = (
        await mongo
          .collection('oidc_grants')
          .find({}, { projection: { _id: 1 } })
          .toArray()
      ).map((doc) => String(doc._id));
      assert.ok(!grantIds.includes(expiredGrant), 'the expired grant is gone from the collection');
      assert.ok(grantIds.includes(liveGrant) && grantIds.includes(endlessGrant));
      assert.equal(await mongoStores.refreshTokens.find(liveToken).then((found) => found?.jti), liveToken);
      const tokens = mongo.collection<{ _id: string }>('oidc_refresh_tokens');
      assert.equal(await tokens.countDocuments({ _id: storageIdOf('RefreshToken', expiredToken) }), 0);
      assert.equal(await tokens.countDocuments({ _id: storageIdOf('RefreshToken', liveToken) }), 1);
      assert.equal(await markers.countDocuments({ _id: staleMarker }), 0);
      assert.equal(await markers.countDocuments({ _id: freshMarker }), 1);
      // A second sweep, as another replica's, finds nothing left to do.
      assert.deepEqual(await mongoStores.purgeExpired(inTwoMinutes), { grants: 0, refreshTokens: 0, consumptions: 0 });
    });

    test('a refresh token is stored under its SHA-256, never as issued', async () => {
      const id = newId();
      await mongoStores.refreshTokens.upsert(id, payloadFor('RefreshToken', { jti: id }), 60);
      const docs = await mongo.collection('oidc_refresh_tokens').find({}).toArray();
      assert.ok(docs.length > 0);
      assert.ok(!JSON.stringify(docs).includes(id));
    });
  });
});
