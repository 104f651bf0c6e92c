// End to end through the edge twin with the real services as processes: a TPP registers with
// dcr-service (OBIE DCR 3.3), obtains a certificate-bound client_credentials token from
// auth-server with openid-client (a certified relying-party library) and manages its
// registration with that token; a bank's gateway, itself registered through DCR, introspects
// the token; deleting the client revokes its tokens through auth-server.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as oidc from 'openid-client';
import { fetch as undiciFetch } from 'undici';
import { closeRedis, createRedis, type RedisClient } from '@obip/redis';
import { attachServerLogsOnFailure, testRedisPrefix, testRedisUrl, type TestSoftware } from '@obip/testing';
import { createTokenStore, type TokenStore } from '@obip/token-store';
import { platformLogSources, startPlatform, type Platform } from '../platform/platform';

const NAME = 'dcr_cc';
let platform: Platform;
let gateway: { software: TestSoftware; clientId: string };
let redis: RedisClient;
let tokenStore: TokenStore;

attachServerLogsOnFailure({
  sources: [platformLogSources(() => platform)],
});

before(async () => {
  platform = await startPlatform({
    name: NAME,
    // The bank's API gateway registers like any other software and is then named a resource server.
    startLate: ['token-introspection'],
    lateEnv: async (started) => {
      const software = await started.directory.registerSoftware({ clientName: 'Bank API gateway' });
      gateway = { software, clientId: (await started.register(software)).client_id };
      return { 'token-introspection': { RESOURCE_SERVER_CLIENT_IDS: gateway.clientId } };
    },
  });
  redis = createRedis({ url: testRedisUrl(), keyPrefix: testRedisPrefix(NAME) });
  tokenStore = createTokenStore(redis);
});

after(async () => {
  await platform?.stop();
  if (redis) await closeRedis(redis);
});

function manage(software: TestSoftware, clientId: string, method: 'GET' | 'DELETE', token: string) {
  return undiciFetch(`${platform.twin.mtlsUrl}/register/${clientId}`, {
    method,
    headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
    dispatcher: platform.tppAgent(software),
  });
}

async function registeredTpp() {
  const software = await platform.directory.registerSoftware();
  const { client_id: clientId } = await platform.register(software);
  return { software, clientId, config: await platform.relyingParty(software, clientId) };
}

describe('a TPP registered through DCR', () => {
  test('gets a certificate-bound client_credentials token from auth-server and manages its registration with it', async () => {
    const { software, clientId, config } = await registeredTpp();
    const tokens = await oidc.clientCredentialsGrant(config, { scope: 'accounts' });
    const record = await tokenStore.find(tokens.access_token);
    assert.equal(record?.clientId, clientId);
    assert.equal(record?.grantType, 'client_credentials');
    assert.ok(record?.cnf?.['x5t#S256'], 'the token is bound to the transport certificate');

    const read = await manage(software, clientId, 'GET', tokens.access_token);
    assert.equal(read.status, 200);
    assert.equal(((await read.json()) as { client_id: string }).client_id, clientId);
  });

  test("the bank's gateway introspects the TPP's token: active, bound, and the TPP's", async () => {
    const { clientId, config } = await registeredTpp();
    const tokens = await oidc.clientCredentialsGrant(config, { scope: 'accounts' });

    const gatewayConfig = await platform.relyingParty(gateway.software, gateway.clientId);
    const introspected = await oidc.tokenIntrospection(gatewayConfig, tokens.access_token);
    assert.equal(introspected.active, true);
    assert.equal(introspected.client_id, clientId);
    assert.equal(introspected.scope, 'accounts');
    assert.equal(introspected.iss, platform.issuer);
    assert.ok((introspected.cnf as { 'x5t#S256'?: string } | undefined)?.['x5t#S256']);

    await assert.rejects(
      oidc.tokenIntrospection(config, tokens.access_token),
      (error: oidc.WWWAuthenticateChallengeError) => {
        assert.equal(error.status, 401);
        assert.equal(error.cause[0]?.parameters.error, 'invalid_client');
        return true;
      },
    );
    assert.deepEqual(await oidc.tokenIntrospection(gatewayConfig, 'not-a-token'), { active: false });
  });

  test('deleting the client revokes its tokens through auth-server and ends its access', async () => {
    const { software, clientId, config } = await registeredTpp();
    const kept = await oidc.clientCredentialsGrant(config, { scope: 'accounts' });
    const used = await oidc.clientCredentialsGrant(config, { scope: 'accounts' });
    assert.ok(await tokenStore.find(kept.access_token));

    assert.equal((await manage(software, clientId, 'DELETE', used.access_token)).status, 204);
    const deadline = Date.now() + 10_000;
    while ((await tokenStore.find(kept.access_token)) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    assert.equal(
      await tokenStore.find(kept.access_token),
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
