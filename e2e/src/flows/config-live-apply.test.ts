// End to end with config-api as a process: an admin changes the platform settings and trust
// anchors through the admin API, and the platform applies them without a restart — auth-server
// issues tokens with the new lifetime, and the edge (the nginx twin, written and reloaded by
// config-api's local sink as it would write the ingress Secret in a cluster) admits TPPs whose
// transport certificate comes from a newly trusted CA. An admin also revokes a TPP's authorised
// consent through config-api, and its tokens stop working.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as oidc from 'openid-client';
import { Agent, fetch as undiciFetch } from 'undici';
import {
  attachServerLogsOnFailure,
  createTestPki,
  dropTestDatabase,
  freePort,
  serviceMongoEnv,
  startAdminTokenIssuer,
  startServiceProcess,
  testMongoUrl,
  testRedisPrefix,
  testRedisUrl,
  type AdminTokenIssuer,
  type ServiceProcess,
  type TestSoftware,
} from '@obip/testing';
import { DEFAULT_ADMIN_API_RESOURCE } from '@obip/platform-config';
import {
  platformLogSources,
  authorizationUrlForIntent,
  intentApi,
  loginAndConsent,
  startPlatformWithGateway,
  type Platform,
} from '../platform/platform';

const NAME = 'config_live';
const ADMIN_ISSUER = 'https://admin-idp.bank.test';
let platform: Platform;
let configApi: ServiceProcess;
let adminIssuer: AdminTokenIssuer;
let configUrl: string;
let operators: TestSoftware;
/** The bank's API gateway: the resource server that introspects tokens. */
let gateway: oidc.Configuration;
const configDatabase = testMongoUrl(`${NAME}_config`);

attachServerLogsOnFailure({
  sources: [platformLogSources(() => platform), { name: 'config-api', logs: () => configApi?.output() ?? '' }],
});

before(async () => {
  const configGrpcPort = await freePort();
  ({ platform, gateway } = await startPlatformWithGateway({
    name: NAME,
    reloadableEdge: true,
    env: { 'auth-server': { CONFIG_GRPC_TARGET: `127.0.0.1:${configGrpcPort}` } },
  }));
  adminIssuer = await startAdminTokenIssuer(ADMIN_ISSUER);
  // The operators' key pair: its public half becomes the bootstrap administrator client.
  operators = await platform.directory.registerSoftware();
  configApi = await startServiceProcess({
    entry: 'services/config-api/src/main.ts',
    env: {
      ...serviceMongoEnv(configDatabase),
      REDIS_URL: testRedisUrl(),
      REDIS_KEY_PREFIX: testRedisPrefix(NAME),
      HTTP_PORT: '0',
      GRPC_PORT: String(configGrpcPort),
      OPS_PORT: '0',
      PLATFORM_ISSUER: platform.issuer,
      ADMIN_TOKEN_ISSUERS: JSON.stringify([
        { issuer: adminIssuer.issuer, jwksUri: adminIssuer.jwksUri },
        // The platform's own auth-server, its keys read in-cluster style (not through the edge).
        { issuer: platform.issuer, jwksUri: `http://127.0.0.1:${platform.service('auth-server').ports.http}/jwks` },
      ]),
      BOOTSTRAP_ADMIN_CLIENT: JSON.stringify({
        client_name: 'Bank operations',
        jwks: { keys: [operators.signingKey.publicJwk] },
        token_endpoint_auth_signing_alg: operators.signingKey.alg,
        scope: 'obip:config:read obip:clients:write',
      }),
      CLIENT_REGISTRY_GRPC_TARGET: platform.grpcAddress('dcr-service'),
      TOKENS_GRPC_TARGET: platform.grpcAddress('auth-server'),
      CONSENTS_GRPC_TARGET: platform.grpcAddress('consent-service'),
      PUBLICATION_POLL_MS: '200',
      K8S_SYNC: 'local',
      LOCAL_CA_BUNDLE_FILE: platform.twin.clientCaBundleFile,
      LOCAL_RELOAD_COMMAND: JSON.stringify(platform.twin.reloadCommand),
    },
  });
  configUrl = `http://127.0.0.1:${configApi.ports.http}`;
});

after(async () => {
  configApi?.child.kill('SIGTERM');
  await configApi?.exited;
  await platform?.stop();
  await adminIssuer?.stop();
  await dropTestDatabase(configDatabase);
});

async function admin(path: string, init: { method?: string; body?: unknown; headers?: Record<string, string> } = {}) {
  const token = await adminIssuer.mint({
    scopes: ['obip:config:read', 'obip:config:write'],
    clientId: 'bank-admin-console',
    subject: 'ops@bank.test',
  });
  return fetch(`${configUrl}${path}`, {
    method: init.method ?? 'GET',
    headers: {
      authorization: `Bearer ${token}`,
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...init.headers,
    },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
}

async function eventually<T>(read: () => Promise<T | undefined>, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe('config-api changes applied live', () => {
  test('a new client_credentials lifetime reaches auth-server without a restart', async () => {
    const software = await platform.directory.registerSoftware();
    const { client_id: clientId } = await platform.register(software);
    const config = await platform.relyingParty(software, clientId);
    const before = await oidc.clientCredentialsGrant(config, { scope: 'accounts' });
    assert.equal(before.expires_in, 300);
    const authServerPid = platform.service('auth-server').child.pid;
    // auth-server started before config-api and retries with backoff (up to 30 s): wait until it
    // has the current version, so the change below is the one under test.
    await eventually(
      async () => (/applied platform config version/.test(platform.service('auth-server').output()) ? true : undefined),
      'auth-server has subscribed to config-api',
      45_000,
    );

    const read = await admin('/v1/settings');
    const settings = (await read.json()) as { lifetimes: { clientCredentialsSeconds: number } };
    settings.lifetimes.clientCredentialsSeconds = 90;
    const put = await admin('/v1/settings', {
      method: 'PUT',
      body: settings,
      headers: { 'if-match': read.headers.get('etag')! },
    });
    assert.equal(put.status, 200, await put.clone().text());

    const after = await eventually(async () => {
      const token = await oidc.clientCredentialsGrant(config, { scope: 'accounts' });
      return token.expires_in === 90 ? token : undefined;
    }, 'auth-server issues 90-second tokens');
    assert.equal(after.expires_in, 90);
    assert.equal(platform.service('auth-server').child.pid, authServerPid, 'same auth-server process');
  });

  test('a CA trusted through config-api is written to the edge and admits its TPPs, after which it can be removed again', async () => {
    const partner = await createTestPki({ name: 'obip Partner Directory' });
    const tpp = await partner.issueTppCertificate({ orgId: '0015800001ZZZZZZ', softwareId: 'PartnerApp' });
    // A fresh connection each time: the edge decides on the certificate at the handshake.
    const reachesAuthServer = async () => {
      const agent = new Agent({ connect: { ca: platform.pki.caBundlePem, cert: tpp.chainPem, key: tpp.keyPem } });
      try {
        const response = await undiciFetch(`${platform.twin.mtlsUrl}/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: 'grant_type=client_credentials&client_id=nobody',
          dispatcher: agent,
        });
        await response.text();
        // The edge refuses an untrusted certificate itself (handshake alert or an HTML 400);
        // only auth-server answers in JSON.
        return (response.headers.get('content-type') ?? '').startsWith('application/json');
      } catch {
        return false;
      } finally {
        await agent.close();
      }
    };
    {
      assert.equal(await reachesAuthServer(), false, 'the partner CA is not trusted yet');

      // The bundle config-api writes replaces the edge's: the platform's own CAs go in first.
      for (const pem of [
        platform.pki.root.certPem,
        platform.pki.issuing.certPem,
        partner.root.certPem,
        partner.issuing.certPem,
      ]) {
        const response = await admin('/v1/trust-anchors', { method: 'POST', body: { pem } });
        assert.equal(response.status, 201, await response.clone().text());
      }
      await eventually(async () => ((await reachesAuthServer()) ? true : undefined), 'the edge trusts the partner CA');

      // TPPs of the platform's own directory still get through.
      const software = await platform.directory.registerSoftware();
      await platform.register(software);

      const listed = (await (await admin('/v1/trust-anchors')).json()) as {
        trustAnchors: Array<{ fingerprint: string; pem: string }>;
      };
      for (const anchor of listed.trustAnchors) {
        if (anchor.pem.trim() === partner.root.certPem.trim() || anchor.pem.trim() === partner.issuing.certPem.trim()) {
          assert.equal((await admin(`/v1/trust-anchors/${anchor.fingerprint}`, { method: 'DELETE' })).status, 204);
        }
      }
      await eventually(
        async () => ((await reachesAuthServer()) ? undefined : true),
        'the edge refuses the partner CA again',
      );
    }
  });
  test('operators get admin API tokens from the platform auth-server with the bootstrap administrator client', async () => {
    const clientsToken = await adminIssuer.mint({ scopes: ['obip:config:read', 'obip:clients:write'] });
    const asAdmin = { authorization: `Bearer ${clientsToken}`, 'content-type': 'application/json' };
    const bootstrapClient = await eventually(async () => {
      const response = await fetch(`${configUrl}/v1/clients?softwareId=obip-admin-bootstrap`, { headers: asAdmin });
      const { clients } = (await response.json()) as { clients: Array<{ clientId: string; status: string }> };
      return clients.find((client) => client.status === 'active');
    }, 'config-api has onboarded the bootstrap administrator client');

    const operatorsClient = await platform.relyingParty(operators, bootstrapClient.clientId);
    const tokens = await oidc.clientCredentialsGrant(operatorsClient, {
      scope: 'obip:config:read',
      resource: DEFAULT_ADMIN_API_RESOURCE,
    });
    const withToken = (path: string, init: RequestInit = {}) =>
      fetch(`${configUrl}${path}`, {
        ...init,
        headers: { authorization: `Bearer ${tokens.access_token}`, ...(init.headers as Record<string, string>) },
      });
    const read = await withToken('/v1/settings');
    assert.equal(read.status, 200, await read.clone().text());
    const write = await withToken('/v1/settings', {
      method: 'PUT',
      headers: { 'content-type': 'application/json', 'if-match': read.headers.get('etag')! },
      body: await read.text(),
    });
    assert.equal(write.status, 403);
    assert.match(write.headers.get('www-authenticate') ?? '', /error="insufficient_scope", scope="obip:config:write"/);

    // Suspending the client ends its access to new tokens (those issued live out their few minutes).
    const suspended = await fetch(`${configUrl}/v1/clients/${bootstrapClient.clientId}/suspend`, {
      method: 'POST',
      headers: asAdmin,
      body: JSON.stringify({ reason: 'operators key rotated' }),
    });
    assert.equal(suspended.status, 200, await suspended.clone().text());
    await assert.rejects(
      oidc.clientCredentialsGrant(operatorsClient, { scope: 'obip:config:read' }),
      (error: unknown) => (error as { error?: string }).error === 'invalid_client',
    );
  });
});

describe('admin revocation through config-api', () => {
  test("an admin revokes a TPP's authorised consent: its tokens turn inactive at introspection and the refresh token is refused", async () => {
    const software = await platform.directory.registerSoftware({ roles: ['AISP'] });
    const { client_id: clientId } = await platform.register(software, { response_types: ['code'] });
    const tpp = await platform.relyingParty(software, clientId);
    const { access_token: ccToken } = await oidc.clientCredentialsGrant(tpp, { scope: 'accounts' });
    const created = await intentApi(
      platform,
      software,
      ccToken,
      'POST',
      '/open-banking/v3.1/aisp/account-access-consents',
      {
        Data: { Permissions: ['ReadAccountsDetail'], ExpirationDateTime: '2999-01-01T00:00:00+00:00' },
        Risk: {},
      },
    );
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const consentId = created.body!.Data.ConsentId;
    const { url, verifier, state } = await authorizationUrlForIntent(tpp, software.redirectUris[0]!, consentId);
    const callback = await loginAndConsent(platform.browser(), url, {
      username: 'amelia.hart',
      password: 'Sandbox-Amelia-1',
    });
    const tokens = await oidc.authorizationCodeGrant(tpp, callback, {
      pkceCodeVerifier: verifier,
      expectedState: state,
    });
    assert.equal((await oidc.tokenIntrospection(gateway, tokens.access_token)).active, true);

    const adminToken = await adminIssuer.mint({
      scopes: ['obip:consents:read', 'obip:consents:write', 'obip:audit:read'],
      clientId: 'bank-admin-console',
      subject: 'ops@bank.test',
    });
    const asAdmin = { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' };
    const read = await fetch(`${configUrl}/v1/consents/${consentId}`, { headers: asAdmin });
    assert.equal(read.status, 200, await read.clone().text());
    const current = (await read.json()) as { status: string; clientId: string };
    assert.deepEqual([current.status, current.clientId], ['Authorised', clientId], 'read from consent-service');

    const revoked = await fetch(`${configUrl}/v1/consents/${consentId}/revoke`, {
      method: 'POST',
      headers: asAdmin,
      body: JSON.stringify({ reason: 'fraud reported by the customer' }),
    });
    assert.equal(revoked.status, 200, await revoked.clone().text());
    assert.equal(((await revoked.json()) as { status: string }).status, 'Revoked');
    const seenByTpp = await intentApi(
      platform,
      software,
      ccToken,
      'GET',
      `/open-banking/v3.1/aisp/account-access-consents/${consentId}`,
    );
    assert.equal(seenByTpp.body!.Data.Status, 'Revoked', 'the TPP sees it revoked');

    // token-introspection checks consent status, so the access token is inactive at once.
    await eventually(
      async () => ((await oidc.tokenIntrospection(gateway, tokens.access_token)).active ? undefined : true),
      'the access token is inactive at introspection',
      5_000,
    );
    // consent-service's outbox reaches auth-server, which revokes the grant.
    await eventually(
      async () =>
        oidc.refreshTokenGrant(tpp, tokens.refresh_token!).then(
          () => undefined,
          (error: unknown) => (error as { error?: string }).error,
        ),
      'auth-server refuses the refresh token',
    ).then((error) => assert.equal(error, 'invalid_grant'));

    const audit = (await (
      await fetch(`${configUrl}/v1/audit?resource=consent&resourceId=${consentId}`, { headers: asAdmin })
    ).json()) as { entries: Array<{ action: string; actor: { subject: string; clientId: string } }> };
    assert.deepEqual(
      audit.entries.map((entry) => [entry.action, entry.actor.subject, entry.actor.clientId]),
      [['consent.revoke', 'ops@bank.test', 'bank-admin-console']],
    );
  });
});
