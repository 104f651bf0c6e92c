// End to end through the edge twin, with the real services as processes: a TPP registers with
// dcr-service (OBIE DCR 3.3), obtains a certificate-bound client_credentials token from
// auth-server with openid-client (a certified relying-party library), and manages its
// registration with that token; a bank's resource server, itself registered through DCR,
// introspects that token at token-introspection; deleting the client revokes its tokens
// through auth-server.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as oidc from 'openid-client';
import { Agent, fetch as undiciFetch } from 'undici';
import { closeRedis, createRedis, type RedisClient } from '@obip/redis';
import {
  attachServerLogsOnFailure,
  createTestDirectory,
  createTestPki,
  dropTestDatabase,
  freePort,
  startIngressTwin,
  startServiceProcess,
  testMongoUrl,
  testRedisPrefix,
  testRedisUrl,
  type IngressTwin,
  type ServiceProcess,
  type TestDirectory,
  type TestPki,
  type TestSoftware,
} from '@obip/testing';
import { createTokenStore } from '@obip/token-store';

const BANK = '0015800001HQQrZAAX';

let pki: TestPki;
let directory: TestDirectory;
let twin: IngressTwin;
let dcr: ServiceProcess;
let authServer: ServiceProcess;
let introspection: ServiceProcess;
let resourceServer: { software: TestSoftware; clientId: string };
let redis: RedisClient;
let publicAgent: Agent;
const databases = [testMongoUrl('dcr'), testMongoUrl('auth')];

attachServerLogsOnFailure({
  sources: [
    { name: 'dcr-service', logs: () => dcr?.output() ?? '' },
    { name: 'auth-server', logs: () => authServer?.output() ?? '' },
    { name: 'token-introspection', logs: () => introspection?.output() ?? '' },
    { name: 'edge', logs: () => twin?.logs() ?? '' },
  ],
});

before(async () => {
  pki = await createTestPki();
  directory = await createTestDirectory({ pki });
  const [publicPort, mtlsPort, dcrHttp, dcrGrpc, authHttp, authGrpc, introspectionHttp] = (await Promise.all(
    Array.from({ length: 7 }, () => freePort()),
  )) as [number, number, number, number, number, number, number];
  const issuer = `https://127.0.0.1:${publicPort}`;
  const mtlsBase = `https://127.0.0.1:${mtlsPort}`;
  const state = mkdtempSync(join(tmpdir(), 'obip-e2e-'));
  const caFile = join(state, 'ca.pem');
  writeFileSync(caFile, pki.caBundlePem);
  // The services share the token keyspace, as in the cluster (one REDIS_KEY_PREFIX).
  const shared = { REDIS_URL: testRedisUrl(), REDIS_KEY_PREFIX: testRedisPrefix(), OPS_PORT: '0' };

  [dcr, authServer] = await Promise.all([
    startServiceProcess({
      entry: 'services/dcr-service/src/main.ts',
      env: {
        ...shared,
        HTTP_PORT: String(dcrHttp),
        GRPC_PORT: String(dcrGrpc),
        MONGO_URL: databases[0]!,
        DCR_TRUSTED_DIRECTORIES: JSON.stringify([directory.trustEntry]),
        DCR_ACCEPTED_AUDIENCES: BANK,
        DCR_ALLOW_PRIVATE_JWKS_URIS: 'true',
        DCR_TRUSTED_CA_FILE: caFile,
        TOKENS_GRPC_TARGET: `127.0.0.1:${authGrpc}`,
        DCR_REVOCATION_POLL_MS: '100',
        DCR_REGISTRATION_BASE_URL: `${mtlsBase}/register`,
      },
    }),
    startServiceProcess({
      entry: 'services/auth-server/src/main.ts',
      env: {
        ...shared,
        HTTP_PORT: String(authHttp),
        GRPC_PORT: String(authGrpc),
        MONGO_URL: databases[1]!,
        ISSUER: issuer,
        MTLS_BASE_URL: mtlsBase,
        CLIENT_REGISTRY_GRPC_TARGET: `127.0.0.1:${dcrGrpc}`,
        CLIENT_CACHE_TTL_MS: '0',
        DEV_KEYS_DIR: join(state, 'keys'),
      },
    }),
  ]);
  twin = await startIngressTwin({
    pki,
    ports: { public: publicPort, mtls: mtlsPort },
    upstreams: {
      'dcr-service': `http://127.0.0.1:${dcrHttp}`,
      'auth-server': `http://127.0.0.1:${authHttp}`,
      'token-introspection': `http://127.0.0.1:${introspectionHttp}`,
    },
  });
  redis = createRedis({ url: testRedisUrl(), keyPrefix: testRedisPrefix() });
  publicAgent = new Agent({ connect: { ca: pki.caBundlePem } });

  // The bank's API gateway registers like any other software, and is then named a resource server.
  const gatewaySoftware = await directory.registerSoftware({ clientName: 'Bank API gateway' });
  resourceServer = { software: gatewaySoftware, clientId: (await registerThroughTheEdge(gatewaySoftware)).client_id };
  introspection = await startServiceProcess({
    entry: 'services/token-introspection/src/main.ts',
    env: {
      ...shared,
      HTTP_PORT: String(introspectionHttp),
      GRPC_PORT: '0',
      ISSUER: issuer,
      INTROSPECTION_ENDPOINT: `${mtlsBase}/introspect`,
      CLIENT_REGISTRY_GRPC_TARGET: `127.0.0.1:${dcrGrpc}`,
      RESOURCE_SERVER_CLIENT_IDS: resourceServer.clientId,
      ALLOW_PRIVATE_JWKS_URIS: 'true',
    },
  });
});

after(async () => {
  await publicAgent?.close();
  await twin?.stop();
  for (const service of [introspection, dcr, authServer]) {
    service?.child.kill('SIGTERM');
    await service?.exited;
  }
  await directory?.stop();
  if (redis) await closeRedis(redis);
  await Promise.all(databases.map((url) => dropTestDatabase(url)));
});

/** A TPP as a relying party: its transport certificate on every call to the mTLS host. */
function tppAgent(software: TestSoftware): Agent {
  return new Agent({
    connect: { ca: pki.caBundlePem, cert: software.transport!.chainPem, key: software.transport!.keyPem },
  });
}

async function registerThroughTheEdge(software: TestSoftware) {
  const request = directory.mintRegistrationRequest(software, { ssa: directory.issueSsa(software), aud: BANK });
  const response = await undiciFetch(`${twin.mtlsUrl}/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/jose', accept: 'application/json' },
    body: request,
    dispatcher: tppAgent(software),
  });
  assert.equal(response.status, 201, await response.clone().text());
  return (await response.json()) as { client_id: string; registration_access_token: string };
}

async function relyingParty(software: TestSoftware, clientId: string): Promise<oidc.Configuration> {
  const mtls = tppAgent(software);
  const edgeFetch: oidc.CustomFetch = (url, init) =>
    undiciFetch(url, {
      ...init,
      dispatcher: url.startsWith(twin.mtlsUrl) ? mtls : publicAgent,
    }) as unknown as Promise<Response>;
  const key = await crypto.subtle.importKey(
    'jwk',
    software.signingKey.privateJwk,
    { name: 'RSA-PSS', hash: 'SHA-256' },
    false,
    ['sign'],
  );
  const config = await oidc.discovery(
    new URL(twin.publicUrl),
    clientId,
    { use_mtls_endpoint_aliases: true },
    oidc.PrivateKeyJwt({ key, kid: software.signingKey.kid } as unknown as oidc.PrivateKey),
    { [oidc.customFetch]: edgeFetch },
  );
  config[oidc.customFetch] = edgeFetch;
  return config;
}

function manage(software: TestSoftware, clientId: string, method: 'GET' | 'DELETE', token: string) {
  return undiciFetch(`${twin.mtlsUrl}/register/${clientId}`, {
    method,
    headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
    dispatcher: tppAgent(software),
  });
}

describe('a TPP registered through DCR', () => {
  test('gets a certificate-bound client_credentials token from auth-server and manages its registration with it', async () => {
    const software = await directory.registerSoftware();
    const { client_id: clientId } = await registerThroughTheEdge(software);

    const tokens = await oidc.clientCredentialsGrant(await relyingParty(software, clientId), { scope: 'accounts' });
    const record = await createTokenStore(redis).find(tokens.access_token);
    assert.equal(record?.clientId, clientId);
    assert.equal(record?.grantType, 'client_credentials');
    assert.ok(record?.cnf?.['x5t#S256'], 'the token is bound to the transport certificate');

    const read = await manage(software, clientId, 'GET', tokens.access_token);
    assert.equal(read.status, 200);
    assert.equal(((await read.json()) as { client_id: string }).client_id, clientId);
  });

  test("the bank's resource server introspects the TPP's token: active, bound, and the TPP's", async () => {
    const software = await directory.registerSoftware();
    const { client_id: clientId } = await registerThroughTheEdge(software);
    const tokens = await oidc.clientCredentialsGrant(await relyingParty(software, clientId), { scope: 'accounts' });

    const gateway = await relyingParty(resourceServer.software, resourceServer.clientId);
    const introspected = await oidc.tokenIntrospection(gateway, tokens.access_token);
    assert.equal(introspected.active, true);
    assert.equal(introspected.client_id, clientId);
    assert.equal(introspected.scope, 'accounts');
    assert.equal(introspected.iss, twin.publicUrl);
    assert.ok((introspected.cnf as { 'x5t#S256'?: string } | undefined)?.['x5t#S256']);

    const stranger = await relyingParty(software, clientId);
    await assert.rejects(
      oidc.tokenIntrospection(stranger, tokens.access_token),
      (error: oidc.WWWAuthenticateChallengeError) => {
        assert.equal(error.status, 401);
        assert.equal(error.cause[0]?.parameters.error, 'invalid_client');
        return true;
      },
    );
    assert.deepEqual(await oidc.tokenIntrospection(gateway, 'not-a-token'), { active: false });
  });

  test('deleting the client revokes its tokens through auth-server and ends its access', async () => {
    const software = await directory.registerSoftware();
    const { client_id: clientId } = await registerThroughTheEdge(software);
    const config = await relyingParty(software, clientId);
    const kept = await oidc.clientCredentialsGrant(config, { scope: 'accounts' });
    const used = await oidc.clientCredentialsGrant(config, { scope: 'accounts' });
    const store = createTokenStore(redis);
    assert.ok(await store.find(kept.access_token));

    assert.equal((await manage(software, clientId, 'DELETE', used.access_token)).status, 204);
    const deadline = Date.now() + 10_000;
    while ((await store.find(kept.access_token)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.equal(
      await store.find(kept.access_token),
      undefined,
      'the outbox reached auth-server, which revoked the token',
    );
    assert.equal((await manage(software, clientId, 'GET', kept.access_token)).status, 401);
    await assert.rejects(
      oidc.clientCredentialsGrant(config, { scope: 'accounts' }),
      (error: { error?: string }) => error.error === 'invalid_client',
    );
  });
});
