// The issued-token adapters of createOidcStores: every access and client-credentials token is
// written twice (the engine's record, the introspection record). Both or neither must remain,
// and both leave in one Redis round trip.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { Connection } from 'mongoose';
import { clientsV1 } from '@obip/contracts';
import { createGrpcClient } from '@obip/grpc';
import { closeMongo, connectMongo } from '@obip/mongo';
import { closeRedis, createRedis, readCommandStats, type RedisClient } from '@obip/redis';
import { createTokenStore, type TokenStore } from '@obip/token-store';
import { dropTestDatabase, startRedisServer, testMongoUrl, testRedisPrefix, type RedisServer } from '@obip/testing';
import { createClientAdapter } from './adapter.clients';
import { createOidcStores, type OidcStores } from './adapter.factory';

const ISSUER = 'https://as.factory.test';
const REVOCATION_MEMORY_SECONDS = 3_600;
const newId = () => randomBytes(24).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

describe('createOidcStores: issued tokens and their introspection records', () => {
  let mongo: Connection;
  let server: RedisServer;
  let redis: RedisClient;
  let tokenStore: TokenStore;
  const registry = createGrpcClient(clientsV1.ClientRegistryClient, { target: 'ipv4:///127.0.0.1:9' });
  // No test here asks the engine for a client: the registry is never called.
  const clients = createClientAdapter({
    registry,
    cacheTtlMs: 0,
    policy: { defaultProfile: 'fapi2-security', parForFapi1: true },
  });
  const storesOn = (engineRedis: RedisClient, store: TokenStore): OidcStores =>
    createOidcStores({
      redis: engineRedis,
      mongo,
      clients,
      tokenStore: store,
      issuer: ISSUER,
      revocationMemorySeconds: REVOCATION_MEMORY_SECONDS,
      clockToleranceSeconds: 10,
    });
  const clientCredentials = (clientId = `client-${newId()}`) => ({
    kind: 'ClientCredentials',
    clientId,
    scope: 'accounts',
    iat: now(),
    exp: now() + 300,
  });
  /** A client of the same server that has been closed: every command fails at once. */
  async function closedClient(): Promise<RedisClient> {
    const client = createRedis({ url: server.url, keyPrefix: testRedisPrefix('factory') });
    await client.ping();
    await closeRedis(client);
    return client;
  }

  before(async () => {
    mongo = await connectMongo({ url: testMongoUrl(), serverSelectionTimeoutMS: 5000, connectDeadlineMs: 10_000 });
    // A server of its own: the round-trip counters are server-wide.
    server = await startRedisServer();
    redis = createRedis({ url: server.url, keyPrefix: testRedisPrefix('factory') });
    tokenStore = createTokenStore(redis, { revocationMemorySeconds: REVOCATION_MEMORY_SECONDS });
  });
  after(async () => {
    registry.close();
    await closeRedis(redis);
    await server?.dispose();
    await closeMongo(mongo);
    await dropTestDatabase(testMongoUrl());
  });

  test('a client_credentials token: the engine record and the introspection record leave in one round trip', async () => {
    const tokens = storesOn(redis, tokenStore).adapter('ClientCredentials');
    const issue = async () => {
      const id = newId();
      await tokens.upsert(id, { ...clientCredentials(), jti: id }, 300);
      return id;
    };
    await issue(); // the connection learns the scripts
    await redis.config('RESETSTAT');
    const id = await issue();
    const { readsProcessed } = await readCommandStats(redis);
    // RESETSTAT's own read was counted before the reset: one round trip, then this reading.
    assert.equal(readsProcessed, 2);
    assert.equal((await tokens.find(id))?.jti, id);
    assert.equal((await tokenStore.find(id))?.grantType, 'client_credentials');
  });

  test('a token of a revoked client is refused, and neither record remains', async () => {
    const clientId = `client-${newId()}`;
    await tokenStore.revokeByClient(clientId);
    const tokens = storesOn(redis, tokenStore).adapter('ClientCredentials');
    const id = newId();
    await assert.rejects(
      tokens.upsert(id, { ...clientCredentials(clientId), jti: id }, 300),
      (error: { error?: string }) => error.error === 'invalid_grant',
    );
    assert.equal(await tokens.find(id), undefined);
    assert.equal(await tokenStore.find(id), undefined);
  });

  test('when the introspection record cannot be written, the engine record is removed and the answer is a 503', async () => {
    const downStore = createTokenStore(await closedClient(), { revocationMemorySeconds: REVOCATION_MEMORY_SECONDS });
    const tokens = storesOn(redis, downStore).adapter('ClientCredentials');
    const id = newId();
    await assert.rejects(
      tokens.upsert(id, { ...clientCredentials(), jti: id }, 300),
      (error: { error?: string; status?: number }) => error.error === 'temporarily_unavailable' && error.status === 503,
    );
    assert.equal(await tokens.find(id), undefined);
  });

  test('when the engine record cannot be written, the introspection record is removed', async () => {
    const tokens = storesOn(await closedClient(), tokenStore).adapter('ClientCredentials');
    const id = newId();
    await assert.rejects(tokens.upsert(id, { ...clientCredentials(), jti: id }, 300));
    assert.equal(await tokenStore.find(id), undefined);
  });
});
