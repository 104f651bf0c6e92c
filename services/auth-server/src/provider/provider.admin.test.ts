// Access tokens for config-api's admin API (issue 8): an administrator client, onboarded with
// obip:* scopes only, asks the token endpoint for the admin API's resource and gets an RFC 9068
// JWT; no other client, grant or resource gets one.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import * as oidc from 'openid-client';
import { clientsV1 } from '@obip/contracts';
import { DEFAULT_ADMIN_API_RESOURCE } from '@obip/platform-config';
import { attachServerLogsOnFailure } from '@obip/testing';
import { REDIRECT_URI, startHarness, type Harness, type TestTpp } from '../testing/auth-server.harness';

const oauthError = (code: string) => (error: unknown) => (error as { error?: string }).error === code;

const ADMIN_TOKEN_TTL_SECONDS = 120;

describe('admin API access tokens', () => {
  let harness: Harness;
  let admin: TestTpp;
  let adminConfig: oidc.Configuration;
  attachServerLogsOnFailure({ sources: [{ name: 'ingress twin', logs: () => harness?.twin.logs() ?? '' }] });

  before(async () => {
    harness = await startHarness({ env: { ADMIN_TOKEN_TTL_SECONDS: String(ADMIN_TOKEN_TTL_SECONDS) } });
    admin = await harness.registerTpp({
      profile: clientsV1.FapiProfile.FAPI_PROFILE_FAPI2_SECURITY,
      metadata: {
        client_name: 'Bank operations console',
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        scope: 'obip:config:read obip:config:write',
      },
    });
    adminConfig = await harness.relyingParty(admin);
  });
  after(() => harness?.close());

  /** Verifies an access token against auth-server's published keys, as config-api does. */
  async function verifyWithPublishedKeys(token: string) {
    const response = await adminConfig[oidc.customFetch]!(`${harness.issuer}/jwks`, {
      method: 'GET',
      headers: {},
      body: undefined,
      redirect: 'manual',
      signal: undefined,
    });
    const jwks = createLocalJWKSet((await response.json()) as JSONWebKeySet);
    return jwtVerify(token, jwks, {
      issuer: harness.issuer,
      audience: DEFAULT_ADMIN_API_RESOURCE,
      typ: 'at+jwt',
      algorithms: ['PS256'],
    });
  }

  test('an administrator client gets a PS256 at+jwt for the admin API, narrowed to the scopes it asked for', async () => {
    const tokens = await oidc.clientCredentialsGrant(adminConfig, {
      scope: 'obip:config:read',
      resource: DEFAULT_ADMIN_API_RESOURCE,
    });
    assert.equal(tokens.token_type.toLowerCase(), 'bearer');
    assert.equal(tokens.scope, 'obip:config:read');
    assert.equal(tokens.expires_in, ADMIN_TOKEN_TTL_SECONDS);
    assert.equal(decodeProtectedHeader(tokens.access_token).alg, 'PS256');

    const { payload } = await verifyWithPublishedKeys(tokens.access_token);
    assert.equal(payload.client_id, admin.clientId);
    assert.equal(payload.sub, admin.clientId);
    assert.equal(payload.scope, 'obip:config:read');
    assert.equal(payload.exp! - payload.iat!, ADMIN_TOKEN_TTL_SECONDS);
    // A bearer token for the internal admin host, which sees no client certificate.
    assert.equal(payload.cnf, undefined);
    // JWT access tokens are self-contained: nothing is written for token-introspection.
    assert.equal(await harness.tokenStore.find(tokens.access_token), undefined);
  });

  test('asking for an admin scope without a resource implies the admin API', async () => {
    const tokens = await oidc.clientCredentialsGrant(adminConfig, { scope: 'obip:config:read obip:config:write' });
    const { payload } = await verifyWithPublishedKeys(tokens.access_token);
    assert.equal(payload.aud, DEFAULT_ADMIN_API_RESOURCE);
    assert.equal(payload.scope, 'obip:config:read obip:config:write');
  });

  test('an admin scope the client does not hold is invalid_scope', async () => {
    await assert.rejects(
      oidc.clientCredentialsGrant(adminConfig, { scope: 'obip:keys:rotate', resource: DEFAULT_ADMIN_API_RESOURCE }),
      oauthError('invalid_scope'),
    );
  });

  test('a resource other than the admin API is invalid_target', async () => {
    await assert.rejects(
      oidc.clientCredentialsGrant(adminConfig, { scope: 'obip:config:read', resource: 'https://api.bank.example' }),
      oauthError('invalid_target'),
    );
  });

  describe('a TPP', () => {
    let tpp: TestTpp;
    let tppConfig: oidc.Configuration;
    before(async () => {
      tpp = await harness.registerTpp({ profile: clientsV1.FapiProfile.FAPI_PROFILE_FAPI2_SECURITY });
      tppConfig = await harness.relyingParty(tpp);
    });

    test('gets invalid_scope for an admin scope and invalid_target for the admin API', async () => {
      await assert.rejects(
        oidc.clientCredentialsGrant(tppConfig, { scope: 'obip:config:write' }),
        oauthError('invalid_scope'),
      );
      await assert.rejects(
        oidc.clientCredentialsGrant(tppConfig, { scope: 'accounts', resource: DEFAULT_ADMIN_API_RESOURCE }),
        oauthError('invalid_target'),
      );
    });

    test('still gets an opaque, certificate-bound token without a resource', async () => {
      const tokens = await oidc.clientCredentialsGrant(tppConfig, { scope: 'accounts' });
      assert.equal(tokens.access_token.split('.').length, 1, 'opaque, not a JWT');
      assert.equal((await harness.tokenStore.find(tokens.access_token))?.cnf?.['x5t#S256'], tpp.thumbprint);
    });

    test('cannot name the admin API as the resource of an authorization request', async () => {
      await assert.rejects(
        oidc.buildAuthorizationUrlWithPAR(tppConfig, {
          redirect_uri: REDIRECT_URI,
          scope: 'openid accounts',
          code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
          code_challenge_method: 'S256',
          resource: DEFAULT_ADMIN_API_RESOURCE,
        }),
        oauthError('invalid_target'),
      );
    });
  });

  test('discovery does not advertise the admin scopes', async () => {
    const metadata = adminConfig.serverMetadata();
    assert.ok(metadata.scopes_supported?.includes('accounts'));
    assert.deepEqual(
      metadata.scopes_supported?.filter((scope) => scope.startsWith('obip:')),
      [],
    );
  });
});
