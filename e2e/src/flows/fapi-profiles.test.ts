// The FAPI profiles end to end, every service real and every TPP call through the edge twin, with
// openid-client as the TPP and amelia.hart logging in and consenting on auth-server's pages:
//
// - FAPI 1.0 Advanced: a signed request object by value with response type `code id_token`
//   (hybrid, the ID token as detached signature), and JARM (response type `code`, response_mode
//   `jwt`); tokens are certificate-bound (`cnf.x5t#S256` = the transport certificate's thumbprint).
//   The same request from a client on the platform default profile (FAPI 2.0) is refused.
// - FAPI 2.0 Security Profile: PAR + PKCE with DPoP-bound tokens (`cnf.jkt`; refresh with the
//   DPoP handle, and with a new key as RFC 9449 §5 allows a confidential client) and with
//   certificate-bound tokens (refresh, then RFC 7009 revocation of an access and a refresh token).
//
// How a client gets its profile: dcr-service stores no profile for a TPP registered through DCR,
// so auth-server applies the platform default (FAPI_DEFAULT_PROFILE, fapi2-security). A
// per-client profile is what a bank administrator sets when onboarding a client (clients.v1
// ClientRegistry CreateClient, then SetClientStatus ACTIVE, what config-api's /v1/clients calls):
// the FAPI 1.0 clients here are onboarded that way; the FAPI 2.0 clients register through DCR,
// the DPoP one with `dpop_bound_access_tokens: true` (RFC 9449 §5.2).
import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import * as oidc from 'openid-client';
import { clientsV1 } from '@obip/contracts';
import { createGrpcClient, type GrpcClient } from '@obip/grpc';
import { attachServerLogsOnFailure, jwkThumbprint, type TestSoftware } from '@obip/testing';
import { platformLogSources, loginAndConsent, startPlatformWithGateway, type Platform } from '../platform/platform';

const CUSTOMER = { username: 'amelia.hart', password: 'Sandbox-Amelia-1' };

let platform: Platform;
/** The bank's API gateway: the resource server that introspects tokens at token-introspection. */
let gateway: oidc.Configuration;
let registry: GrpcClient<typeof clientsV1.ClientRegistryService>;

attachServerLogsOnFailure({
  sources: [platformLogSources(() => platform)],
});

before(async () => {
  ({ platform, gateway } = await startPlatformWithGateway({
    name: 'fapi_profiles',
  }));
  registry = createGrpcClient(clientsV1.ClientRegistryClient, {
    target: platform.grpcAddress('dcr-service'),
    defaultDeadlineMs: 5_000,
  });
});
after(async () => {
  registry?.close();
  await platform?.stop();
});

/** RFC 8705 §3.1: base64url SHA-256 of the DER certificate. */
function certificateThumbprint(software: TestSoftware): string {
  return createHash('sha256').update(new X509Certificate(software.transport!.certPem).raw).digest('base64url');
}

/** The `error` of a failed openid-client call (ResponseBodyError). */
const oauthError = (code: string) => (error: unknown) => {
  assert.equal((error as { error?: string }).error, code, String(error));
  return true;
};

/**
 * A bank administrator onboards the software's client with a FAPI profile of its own (clients.v1
 * CreateClient: stored pending) and approves it (SetClientStatus ACTIVE). The key set goes by
 * value: the directory's key server is plain http, and an onboarded jwks_uri must be https.
 */
async function onboard(
  software: TestSoftware,
  profile: clientsV1.FapiProfile,
  metadata: Record<string, unknown>,
): Promise<string> {
  const alg = software.signingKey.alg;
  const { client } = await registry.call('createClient', {
    metadataJson: JSON.stringify({
      redirect_uris: software.redirectUris,
      token_endpoint_auth_method: 'private_key_jwt',
      token_endpoint_auth_signing_alg: alg,
      grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
      scope: 'openid accounts',
      application_type: 'web',
      id_token_signed_response_alg: alg,
      request_object_signing_alg: alg,
      jwks: { keys: [software.signingKey.publicJwk] },
      ...metadata,
    }),
    softwareId: software.softwareId,
    orgId: software.orgId,
    actor: 'admin:e2e',
    reason: 'fapi-profiles e2e',
    fapiProfile: profile,
  });
  assert.ok(client?.clientId);
  assert.equal(client.status, clientsV1.ClientStatus.CLIENT_STATUS_PENDING);
  assert.equal(client.fapiProfile, profile);
  await registry.call('setClientStatus', {
    clientId: client.clientId,
    status: clientsV1.ClientStatus.CLIENT_STATUS_ACTIVE,
    reason: 'approved',
    actor: 'admin:e2e',
  });
  return client.clientId;
}

/** The signing key for request objects, as openid-client takes it. */
async function requestObjectKey(software: TestSoftware): Promise<oidc.PrivateKey> {
  const key = await crypto.subtle.importKey(
    'jwk',
    software.signingKey.privateJwk,
    { name: 'RSA-PSS', hash: 'SHA-256' },
    false,
    ['sign'],
  );
  return { key, kid: software.signingKey.kid } as unknown as oidc.PrivateKey;
}

type DpopKeyPair = Parameters<typeof oidc.getDPoPHandle>[1];

async function introspect(token: string) {
  return oidc.tokenIntrospection(gateway, token);
}

describe('FAPI 1.0 Advanced (client onboarded with the fapi1-advanced profile)', () => {
  test('signed request object by value, response type code id_token, certificate-bound tokens', async () => {
    const software = await platform.directory.registerSoftware({ roles: ['AISP'] });
    const clientId = await onboard(software, clientsV1.FapiProfile.FAPI_PROFILE_FAPI1_ADVANCED, {
      response_types: ['code id_token'],
    });
    const tpp = await platform.relyingParty(software, clientId);
    oidc.useCodeIdTokenResponseType(tpp);
    const nonce = oidc.randomNonce();
    const state = oidc.randomState();
    const authorizationUrl = await oidc.buildAuthorizationUrlWithJAR(
      tpp,
      { redirect_uri: software.redirectUris[0]!, scope: 'openid accounts', nonce, state },
      await requestObjectKey(software),
    );
    // FAPI 1.0 Advanced 5.2.2-1: everything travels in the signed request object.
    const requestObject = authorizationUrl.searchParams.get('request');
    assert.ok(requestObject, 'the request object travels by value');
    assert.equal(decodeProtectedHeader(requestObject).alg, 'PS256');
    const claims = decodeJwt(requestObject);
    assert.equal(claims.response_type, 'code id_token');
    assert.equal(claims.aud, platform.issuer);
    assert.ok(typeof claims.exp === 'number' && typeof claims.nbf === 'number');

    const callback = await loginAndConsent(platform.browser(), authorizationUrl, CUSTOMER);
    // The hybrid response comes back in the fragment, with the front-channel ID token.
    const fragment = new URLSearchParams(callback.hash.slice(1));
    assert.ok(fragment.get('code'), callback.href);
    const frontIdToken = fragment.get('id_token');
    assert.ok(frontIdToken, 'id_token in the fragment');
    assert.equal(decodeProtectedHeader(frontIdToken).alg, 'PS256');
    assert.ok(decodeJwt(frontIdToken).s_hash, 'FAPI 1.0 Advanced 5.2.2.1: s_hash since state was sent');
    assert.ok(decodeJwt(frontIdToken).c_hash, 'c_hash of the code');

    // openid-client checks the front-channel ID token (signature, nonce, c_hash, s_hash).
    const tokens = await oidc.authorizationCodeGrant(tpp, callback, { expectedNonce: nonce, expectedState: state });
    assert.equal(tokens.token_type.toLowerCase(), 'bearer');
    assert.ok(tokens.claims()?.sub);

    const introspected = await introspect(tokens.access_token);
    assert.equal(introspected.active, true);
    assert.equal(introspected.client_id, clientId);
    assert.equal(introspected.sub, tokens.claims()?.sub);
    assert.equal(introspected.token_type, 'Bearer');
    assert.deepEqual(introspected.cnf, { 'x5t#S256': certificateThumbprint(software) });
  });

  test('JARM: the authorization response is a signed JWT that openid-client verifies', async () => {
    const software = await platform.directory.registerSoftware({ roles: ['AISP'] });
    const clientId = await onboard(software, clientsV1.FapiProfile.FAPI_PROFILE_FAPI1_ADVANCED, {
      response_types: ['code'],
      authorization_signed_response_alg: 'PS256',
    });
    const tpp = await platform.relyingParty(software, clientId);
    oidc.useJwtResponseMode(tpp);
    const nonce = oidc.randomNonce();
    const state = oidc.randomState();
    const verifier = oidc.randomPKCECodeVerifier();
    const authorizationUrl = await oidc.buildAuthorizationUrlWithJAR(
      tpp,
      {
        redirect_uri: software.redirectUris[0]!,
        scope: 'openid accounts',
        nonce,
        state,
        response_mode: 'jwt',
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
      },
      await requestObjectKey(software),
    );
    const callback = await loginAndConsent(platform.browser(), authorizationUrl, CUSTOMER);
    const response = callback.searchParams.get('response');
    assert.ok(response, `JARM response parameter: ${callback.href}`);
    assert.equal(callback.searchParams.get('code'), null, 'no code in the clear');
    assert.equal(callback.searchParams.get('state'), null, 'no state in the clear');
    // JARM §4.1: iss, aud and exp inside the signed JWT, with the response parameters.
    assert.equal(decodeProtectedHeader(response).alg, 'PS256');
    const jarm = decodeJwt(response);
    assert.equal(jarm.iss, platform.issuer);
    assert.equal(jarm.aud, clientId);
    assert.equal(jarm.state, state);
    assert.ok(jarm.code && jarm.exp);

    const tokens = await oidc.authorizationCodeGrant(tpp, callback, {
      expectedNonce: nonce,
      expectedState: state,
      pkceCodeVerifier: verifier,
    });
    const introspected = await introspect(tokens.access_token);
    assert.equal(introspected.active, true);
    assert.deepEqual(introspected.cnf, { 'x5t#S256': certificateThumbprint(software) });

    // A JARM response whose signature was tampered with is refused by openid-client.
    const [header, payload, signature] = response.split('.');
    const forged = new URL(callback);
    forged.searchParams.set('response', `${header}.${payload}.${signature!.slice(0, -4)}AAAA`);
    await assert.rejects(
      oidc.authorizationCodeGrant(tpp, forged, {
        expectedNonce: nonce,
        expectedState: state,
        pkceCodeVerifier: verifier,
      }),
    );
  });

  test('the same request from a client registered through DCR (platform default fapi2-security) is refused', async () => {
    const software = await platform.directory.registerSoftware({ roles: ['AISP'] });
    // The OBIE conformance metadata: response type code id_token, signed request objects.
    const { client_id: clientId } = await platform.register(software);
    const tpp = await platform.relyingParty(software, clientId);
    oidc.useCodeIdTokenResponseType(tpp);
    const authorizationUrl = await oidc.buildAuthorizationUrlWithJAR(
      tpp,
      {
        redirect_uri: software.redirectUris[0]!,
        scope: 'openid accounts',
        nonce: oidc.randomNonce(),
        state: oidc.randomState(),
      },
      await requestObjectKey(software),
    );
    // FAPI 2.0 SP 5.3.2.1-13 and 5.3.2.2-2: response type code only, and only through PAR. The
    // engine answers with its error page: nothing is sent to the redirect URI, no code is issued.
    const response = await platform.browser().get(authorizationUrl.href);
    assert.equal(response.status, 400);
    assert.equal(response.location, undefined);
    assert.match(response.body, /<code>invalid_request<\/code>/);
  });
});

describe('FAPI 2.0 Security Profile: PAR + PKCE', () => {
  test('DPoP: token_type DPoP, introspection shows cnf.jkt of the key, refresh with the DPoP handle', async () => {
    const software = await platform.directory.registerSoftware({ roles: ['AISP'] });
    const { client_id: clientId } = await platform.register(software, {
      response_types: ['code'],
      dpop_bound_access_tokens: true,
    });
    const tpp = await platform.relyingParty(software, clientId);
    const keyPair = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
      'sign',
      'verify',
    ])) as DpopKeyPair;
    const DPoP = oidc.getDPoPHandle(tpp, keyPair);
    const jkt = jwkThumbprint(await crypto.subtle.exportKey('jwk', keyPair.publicKey));

    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const authorizationUrl = await oidc.buildAuthorizationUrlWithPAR(
      tpp,
      {
        redirect_uri: software.redirectUris[0]!,
        scope: 'openid accounts',
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state,
      },
      { DPoP },
    );
    assert.ok(authorizationUrl.searchParams.get('request_uri'), 'FAPI 2.0: the request went through PAR');
    const callback = await loginAndConsent(platform.browser(), authorizationUrl, CUSTOMER);
    assert.equal(callback.searchParams.get('iss'), platform.issuer, 'RFC 9207 iss');
    const tokens = await oidc.authorizationCodeGrant(
      tpp,
      callback,
      { pkceCodeVerifier: verifier, expectedState: state },
      undefined,
      { DPoP },
    );
    assert.equal(tokens.token_type.toLowerCase(), 'dpop');
    assert.ok(tokens.refresh_token);

    const introspected = await introspect(tokens.access_token);
    assert.equal(introspected.active, true);
    assert.equal(introspected.client_id, clientId);
    assert.equal(introspected.token_type, 'DPoP');
    assert.deepEqual(introspected.cnf, { jkt }, 'bound to the DPoP key, not the certificate');

    const refreshed = await oidc.refreshTokenGrant(tpp, tokens.refresh_token!, undefined, { DPoP });
    assert.equal(refreshed.token_type.toLowerCase(), 'dpop');
    assert.notEqual(refreshed.access_token, tokens.access_token);
    const afterRefresh = await introspect(refreshed.access_token);
    assert.equal(afterRefresh.active, true);
    assert.deepEqual(afterRefresh.cnf, { jkt });

    // RFC 9449 §5: a confidential client's refresh token is bound to its client authentication,
    // not to the DPoP key: a refresh with a new key is accepted and binds the new access token to it.
    const newKey = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
      'sign',
      'verify',
    ])) as DpopKeyPair;
    const rebound = await oidc.refreshTokenGrant(tpp, tokens.refresh_token!, undefined, {
      DPoP: oidc.getDPoPHandle(tpp, newKey),
    });
    assert.deepEqual((await introspect(rebound.access_token)).cnf, {
      jkt: jwkThumbprint(await crypto.subtle.exportKey('jwk', newKey.publicKey)),
    });
    // Without a proof the DPoP client gets nothing (the engine answers invalid_grant at /token).
    await assert.rejects(oidc.refreshTokenGrant(tpp, tokens.refresh_token!), oauthError('invalid_grant'));
  });

  /** FAPI 2.0 PAR + PKCE for a certificate-bound client: login, consent, code exchange. */
  async function authorizeWithPar(tpp: oidc.Configuration, software: TestSoftware) {
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const authorizationUrl = await oidc.buildAuthorizationUrlWithPAR(tpp, {
      redirect_uri: software.redirectUris[0]!,
      scope: 'openid accounts',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
    });
    assert.ok(authorizationUrl.searchParams.get('request_uri'), 'FAPI 2.0: the request went through PAR');
    const callback = await loginAndConsent(platform.browser(), authorizationUrl, CUSTOMER);
    assert.equal(callback.searchParams.get('iss'), platform.issuer, 'RFC 9207 iss');
    return oidc.authorizationCodeGrant(tpp, callback, { pkceCodeVerifier: verifier, expectedState: state });
  }

  test('mTLS (registered through DCR): certificate-bound tokens, refresh, RFC 7009 revocation', async () => {
    const software = await platform.directory.registerSoftware({ roles: ['AISP'] });
    const { client_id: clientId } = await platform.register(software, { response_types: ['code'] });
    const tpp = await platform.relyingParty(software, clientId);
    const tokens = await authorizeWithPar(tpp, software);
    assert.equal(tokens.token_type.toLowerCase(), 'bearer');
    assert.ok(tokens.refresh_token);
    const thumbprint = certificateThumbprint(software);
    const introspected = await introspect(tokens.access_token);
    assert.equal(introspected.active, true);
    assert.equal(introspected.client_id, clientId);
    assert.deepEqual(introspected.cnf, { 'x5t#S256': thumbprint });
    assert.deepEqual((await introspect(tokens.refresh_token!)).cnf, { 'x5t#S256': thumbprint });

    // FAPI 2.0 SP 5.3.2.1-8: no refresh-token rotation; the new access token is bound too, and
    // the first one stays valid.
    const refreshed = await oidc.refreshTokenGrant(tpp, tokens.refresh_token!);
    assert.equal(refreshed.refresh_token ?? tokens.refresh_token, tokens.refresh_token);
    assert.notEqual(refreshed.access_token, tokens.access_token);
    const afterRefresh = await introspect(refreshed.access_token);
    assert.equal(afterRefresh.active, true);
    assert.equal(afterRefresh.client_id, clientId);
    assert.deepEqual(afterRefresh.cnf, { 'x5t#S256': thumbprint });
    assert.equal((await introspect(tokens.access_token)).active, true);

    // RFC 7009: the TPP revokes the access token. The engine (node-oidc-provider 9) then revokes
    // every token issued under the same grant, which RFC 7009 §2.1 allows: the first access
    // token and the refresh token are inactive too, and the refresh token is refused.
    await oidc.tokenRevocation(tpp, refreshed.access_token);
    assert.deepEqual(await introspect(refreshed.access_token), { active: false });
    assert.deepEqual(await introspect(tokens.access_token), { active: false });
    assert.deepEqual(await introspect(tokens.refresh_token!), { active: false });
    await assert.rejects(oidc.refreshTokenGrant(tpp, tokens.refresh_token!), oauthError('invalid_grant'));

    // RFC 7009 §2.1: revoking a refresh token also ends the access tokens of its grant.
    const second = await authorizeWithPar(tpp, software);
    assert.equal((await introspect(second.access_token)).active, true);
    await oidc.tokenRevocation(tpp, second.refresh_token!);
    assert.deepEqual(await introspect(second.refresh_token!), { active: false });
    assert.deepEqual(await introspect(second.access_token), { active: false });
    await assert.rejects(oidc.refreshTokenGrant(tpp, second.refresh_token!), oauthError('invalid_grant'));
  });
});
