// Full flows through the nginx ingress twin, driven by openid-client v6 (a certified relying
// party library) as the TPP. Login and consent are form posts to the real pages.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeJwt } from 'jose';
import { calculateJwkThumbprint, type JWK } from 'jose';
import * as oidc from 'openid-client';
import { clientsV1 } from '@obip/contracts';
import { attachServerLogsOnFailure } from '@obip/testing';
import {
  REDIRECT_URI,
  loginAndConsent,
  startHarness,
  type Harness,
  type TestTpp,
} from '../testing/auth-server.harness';

/** The OAuth `error` of a failed openid-client call (ResponseBodyError). */
const oauthError = (code: string) => (error: unknown) => (error as { error?: string }).error === code;

describe('auth-server flows through the ingress twin, driven by openid-client', () => {
  let harness: Harness;
  attachServerLogsOnFailure({ sources: [{ name: 'ingress twin', logs: () => harness?.twin.logs() ?? '' }] });

  before(async () => {
    harness = await startHarness();
  });
  after(() => harness?.close());

  /** PAR + PKCE (S256) + login + consent, then the code exchanged over mTLS. */
  async function authorizeWithPar(tpp: TestTpp, config: oidc.Configuration) {
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const authorizationUrl = await oidc.buildAuthorizationUrlWithPAR(config, {
      redirect_uri: REDIRECT_URI,
      scope: 'openid accounts',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
    });
    const callback = await loginAndConsent(harness.browser(), authorizationUrl);
    return { authorizationUrl, callback, verifier, state };
  }

  /** A FAPI 2.0 client that went through PAR, login and consent, with the tokens it then received. */
  async function fapi2ClientWithTokens() {
    const tpp = await harness.registerTpp({ profile: clientsV1.FapiProfile.FAPI_PROFILE_FAPI2_SECURITY });
    const config = await harness.relyingParty(tpp);
    const { callback, verifier, state } = await authorizeWithPar(tpp, config);
    const tokens = await oidc.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: verifier,
      expectedState: state,
    });
    return { tpp, config, tokens };
  }

  describe('discovery', () => {
    test('advertises the issuer on the public host and client-authenticating endpoints on the mTLS host', async () => {
      const tpp = await harness.registerTpp({ profile: clientsV1.FapiProfile.FAPI_PROFILE_FAPI2_SECURITY });
      const metadata = (await harness.relyingParty(tpp)).serverMetadata();
      assert.equal(metadata.issuer, harness.issuer);
      assert.equal(metadata.authorization_endpoint, `${harness.issuer}/authorize`);
      assert.equal(metadata.jwks_uri, `${harness.issuer}/jwks`);
      for (const name of [
        'token_endpoint',
        'pushed_authorization_request_endpoint',
        'revocation_endpoint',
        'userinfo_endpoint',
      ] as const) {
        assert.equal(new URL(String(metadata[name])).origin, harness.mtlsBaseUrl, name);
        assert.equal(metadata.mtls_endpoint_aliases?.[name], metadata[name], name);
      }
      assert.equal(metadata.registration_endpoint, `${harness.mtlsBaseUrl}/register`);
      assert.equal(metadata.introspection_endpoint, `${harness.mtlsBaseUrl}/introspect`);
      assert.deepEqual([...(metadata.token_endpoint_auth_methods_supported ?? [])].sort(), [
        'private_key_jwt',
        'self_signed_tls_client_auth',
        'tls_client_auth',
      ]);
      assert.equal(metadata.tls_client_certificate_bound_access_tokens, true);
      assert.equal(metadata.authorization_response_iss_parameter_supported, true);
      assert.equal(metadata.require_pushed_authorization_requests, true);
      assert.equal(metadata.claims_parameter_supported, true);
      assert.deepEqual(metadata.acr_values_supported, ['urn:openbanking:psd2:sca', 'urn:openbanking:psd2:ca']);
      assert.ok(metadata.dpop_signing_alg_values_supported?.includes('ES256'));
      for (const list of [
        metadata.id_token_signing_alg_values_supported,
        metadata.request_object_signing_alg_values_supported,
      ]) {
        assert.ok(list && list.every((alg) => ['PS256', 'ES256', 'EdDSA'].includes(alg)), String(list));
      }
    });

    test('serves the same metadata as RFC 8414 oauth-authorization-server', async () => {
      const tpp = await harness.registerTpp({ profile: clientsV1.FapiProfile.FAPI_PROFILE_FAPI2_SECURITY });
      const config = await oidc.discovery(new URL(harness.issuer), tpp.clientId, {}, oidc.None(), {
        algorithm: 'oauth2',
        [oidc.customFetch]: (await harness.relyingParty(tpp))[oidc.customFetch],
      });
      assert.equal(config.serverMetadata().issuer, harness.issuer);
    });

    test('publishes PS256 and ES256 signing keys without private parts', async () => {
      const tpp = await harness.registerTpp({ profile: clientsV1.FapiProfile.FAPI_PROFILE_FAPI2_SECURITY });
      const config = await harness.relyingParty(tpp);
      const response = await config[oidc.customFetch]!(`${harness.issuer}/jwks`, {
        method: 'GET',
        headers: {},
        body: undefined as never,
        redirect: 'manual',
      });
      const jwks = (await response.json()) as { keys: Array<Record<string, unknown>> };
      assert.deepEqual(jwks.keys.map((key) => key.alg).sort(), ['ES256', 'PS256']);
      for (const key of jwks.keys) assert.equal(key.d, undefined);
    });
  });

  describe('client_credentials', () => {
    test('private_key_jwt with a certificate-bound token, recorded for introspection with cnf.x5t#S256', async () => {
      const tpp = await harness.registerTpp({ profile: clientsV1.FapiProfile.FAPI_PROFILE_FAPI2_SECURITY });
      const tokens = await oidc.clientCredentialsGrant(await harness.relyingParty(tpp), { scope: 'accounts' });
      assert.equal(tokens.token_type.toLowerCase(), 'bearer');
      assert.equal(tokens.scope, 'accounts');
      const record = await harness.tokenStore.find(tokens.access_token);
      assert.ok(record, 'token record written');
      assert.equal(record.clientId, tpp.clientId);
      assert.equal(record.grantType, 'client_credentials');
      assert.equal(record.scope, 'accounts');
      assert.equal(record.cnf?.['x5t#S256'], tpp.thumbprint);
      assert.equal(record.subject, undefined);
    });

    test('tls_client_auth with the registered subject DN', async () => {
      const tpp = await harness.registerTpp({
        profile: clientsV1.FapiProfile.FAPI_PROFILE_FAPI2_SECURITY,
        authMethod: 'tls_client_auth',
      });
      const tokens = await oidc.clientCredentialsGrant(
        await harness.relyingParty(tpp, { clientAuth: oidc.TlsClientAuth() }),
        { scope: 'payments' },
      );
      assert.equal((await harness.tokenStore.find(tokens.access_token))?.cnf?.['x5t#S256'], tpp.thumbprint);
    });

    test('tls_client_auth refuses a certificate whose subject is not the registered one', async () => {
      const tpp = await harness.registerTpp({
        profile: clientsV1.FapiProfile.FAPI_PROFILE_FAPI2_SECURITY,
        authMethod: 'tls_client_auth',
      });
      const other = await harness.pki.issueTppCertificate({ orgId: '0015800001041REAAY', softwareId: 'someone-else' });
      const config = await harness.relyingParty(tpp, { certificate: other, clientAuth: oidc.TlsClientAuth() });
      await assert.rejects(oidc.clientCredentialsGrant(config, { scope: 'payments' }), oauthError('invalid_client'));
    });

    test('FAPI 2.0: a client assertion whose aud is the token endpoint, not the issuer, is refused', async () => {
      const tpp = await harness.registerTpp({ profile: clientsV1.FapiProfile.FAPI_PROFILE_FAPI2_SECURITY });
      const key = await crypto.subtle.importKey(
        'jwk',
        tpp.signingKey.privateJwk,
        { name: 'RSA-PSS', hash: 'SHA-256' },
        false,
        ['sign'],
      );
      const clientAuth = oidc.PrivateKeyJwt(
        { key, kid: tpp.signingKey.kid },
        {
          [oidc.modifyAssertion]: (_header, payload) => {
            payload.aud = `${harness.mtlsBaseUrl}/token`;
          },
        },
      );
      await assert.rejects(
        oidc.clientCredentialsGrant(await harness.relyingParty(tpp, { clientAuth }), { scope: 'accounts' }),
        oauthError('invalid_client'),
      );
    });

    test('an unknown client and a suspended client are refused with invalid_client', async () => {
      const tpp = await harness.registerTpp({ profile: clientsV1.FapiProfile.FAPI_PROFILE_FAPI2_SECURITY });
      const config = await harness.relyingParty(tpp);
      const registered = harness.registry.clients.get(tpp.clientId)!;
      harness.registry.clients.set(tpp.clientId, {
        ...registered,
        status: clientsV1.ClientStatus.CLIENT_STATUS_SUSPENDED,
      });
      await assert.rejects(oidc.clientCredentialsGrant(config, { scope: 'accounts' }), oauthError('invalid_client'));
      harness.registry.clients.delete(tpp.clientId);
      await assert.rejects(oidc.clientCredentialsGrant(config, { scope: 'accounts' }), oauthError('invalid_client'));
    });
  });

  describe('FAPI 2.0: PAR + PKCE + DPoP-bound tokens', () => {
    type DpopKeyPair = Parameters<typeof oidc.getDPoPHandle>[1];
    const generateDpopKey = async () =>
      (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
        'sign',
        'verify',
      ])) as DpopKeyPair;

    /** A client that registered DPoP-bound tokens, with an ES256 DPoP key of its own (RFC 9449). */
    async function dpopClient() {
      const tpp = await harness.registerTpp({
        profile: clientsV1.FapiProfile.FAPI_PROFILE_FAPI2_SECURITY,
        metadata: { dpop_bound_access_tokens: true },
      });
      const config = await harness.relyingParty(tpp);
      const keyPair = await generateDpopKey();
      return { tpp, config, keyPair, DPoP: oidc.getDPoPHandle(config, keyPair) };
    }

    test('tokens are bound to the DPoP key (cnf.jkt) and userinfo needs a proof from that key', async () => {
      const { config, keyPair, DPoP } = await dpopClient();
      const verifier = oidc.randomPKCECodeVerifier();
      const state = oidc.randomState();
      const authorizationUrl = await oidc.buildAuthorizationUrlWithPAR(
        config,
        {
          redirect_uri: REDIRECT_URI,
          scope: 'openid accounts',
          code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
          code_challenge_method: 'S256',
          state,
        },
        { DPoP },
      );
      const callback = await loginAndConsent(harness.browser(), authorizationUrl);
      const tokens = await oidc.authorizationCodeGrant(
        config,
        callback,
        { pkceCodeVerifier: verifier, expectedState: state },
        undefined,
        { DPoP },
      );
      assert.equal(tokens.token_type.toLowerCase(), 'dpop');
      const publicJwk = await crypto.subtle.exportKey('jwk', keyPair.publicKey);
      const thumbprint = await calculateJwkThumbprint(publicJwk as JWK);
      const record = await harness.tokenStore.find(tokens.access_token);
      assert.equal(record?.cnf?.jkt, thumbprint);
      assert.equal(record?.cnf?.['x5t#S256'], undefined, 'bound to the DPoP key, not the certificate');

      const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, oidc.skipSubjectCheck, { DPoP });
      assert.equal(userinfo.sub, 'customer-alice');
      // A proof signed by another key does not match cnf.jkt (RFC 9449 §7.1).
      const otherKey = oidc.getDPoPHandle(config, await generateDpopKey());
      await assert.rejects(
        oidc.fetchUserInfo(config, tokens.access_token, oidc.skipSubjectCheck, { DPoP: otherKey }),
        (error: oidc.WWWAuthenticateChallengeError) => error.status === 401,
      );
    });
  });

  describe('FAPI 1.0 Advanced', () => {
    async function fapi1Client(responseTypes: string[]) {
      const tpp = await harness.registerTpp({
        profile: clientsV1.FapiProfile.FAPI_PROFILE_FAPI1_ADVANCED,
        metadata: {
          response_types: responseTypes,
          request_object_signing_alg: 'PS256',
          ...(responseTypes.includes('code id_token') ? {} : { authorization_signed_response_alg: 'PS256' }),
        },
      });
      const config = await harness.relyingParty(tpp);
      const requestKey = await crypto.subtle.importKey(
        'jwk',
        tpp.signingKey.privateJwk,
        { name: 'RSA-PSS', hash: 'SHA-256' },
        false,
        ['sign'],
      );
      return { tpp, config, requestKey: { key: requestKey, kid: tpp.signingKey.kid } as unknown as oidc.PrivateKey };
    }

    test('a signed request object by value, response type code id_token, certificate-bound tokens', async () => {
      const { tpp, config, requestKey } = await fapi1Client(['code id_token']);
      oidc.useCodeIdTokenResponseType(config);
      const nonce = oidc.randomNonce();
      const state = oidc.randomState();
      const authorizationUrl = await oidc.buildAuthorizationUrlWithJAR(
        config,
        { redirect_uri: REDIRECT_URI, scope: 'openid accounts', nonce, state },
        requestKey,
      );
      assert.ok(authorizationUrl.searchParams.get('request'), 'the request object travels by value');
      const callback = await loginAndConsent(harness.browser(), authorizationUrl);
      assert.ok(callback.hash.includes('id_token='), 'the hybrid response comes back in the fragment');
      const tokens = await oidc.authorizationCodeGrant(config, callback, {
        expectedNonce: nonce,
        expectedState: state,
      });
      assert.equal((await harness.tokenStore.find(tokens.access_token))?.cnf?.['x5t#S256'], tpp.thumbprint);
    });

    test('JARM: the authorization response is a signed JWT (response type code)', async () => {
      const { config, requestKey } = await fapi1Client(['code']);
      oidc.useJwtResponseMode(config);
      const nonce = oidc.randomNonce();
      const state = oidc.randomState();
      const verifier = oidc.randomPKCECodeVerifier();
      const authorizationUrl = await oidc.buildAuthorizationUrlWithJAR(
        config,
        {
          redirect_uri: REDIRECT_URI,
          scope: 'openid accounts',
          nonce,
          state,
          response_mode: 'jwt',
          code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
          code_challenge_method: 'S256',
        },
        requestKey,
      );
      const callback = await loginAndConsent(harness.browser(), authorizationUrl);
      assert.ok(callback.searchParams.get('response'), 'JARM response parameter');
      assert.equal(callback.searchParams.get('code'), null, 'no code in the clear');
      const tokens = await oidc.authorizationCodeGrant(config, callback, {
        expectedNonce: nonce,
        expectedState: state,
        pkceCodeVerifier: verifier,
      });
      assert.ok(tokens.access_token);
    });

    // FAPI 1.0 Advanced 5.2.2-13/-15/-16 and OIDC Core 6.1: request objects that must be refused.
    const badRequestObjects: Array<
      [string, (header: Record<string, unknown>, payload: Record<string, unknown>) => void]
    > = [
      ['without exp', (_header, payload) => void delete payload.exp],
      [
        'with nbf more than 60 minutes old',
        (_header, payload) => void (payload.nbf = Math.floor(Date.now() / 1000) - 3700),
      ],
      [
        'with exp more than 60 minutes after nbf',
        (_header, payload) => {
          payload.nbf = Math.floor(Date.now() / 1000);
          payload.exp = Math.floor(Date.now() / 1000) + 3700;
        },
      ],
      ['with a foreign aud', (_header, payload) => void (payload.aud = 'https://another-bank.example')],
      ['with a kid the client does not have', (header) => void (header.kid = 'not-a-known-key')],
    ];
    for (const [name, modify] of badRequestObjects) {
      test(`a request object ${name} is refused and issues no code`, async () => {
        const { config, requestKey } = await fapi1Client(['code id_token']);
        const authorizationUrl = await oidc.buildAuthorizationUrlWithJAR(
          config,
          {
            redirect_uri: REDIRECT_URI,
            scope: 'openid accounts',
            nonce: oidc.randomNonce(),
            state: oidc.randomState(),
            response_type: 'code id_token',
          },
          requestKey,
          { [oidc.modifyAssertion]: modify },
        );
        // The request cannot be trusted, so the engine shows an error page instead of redirecting.
        const response = await harness.browser().get(authorizationUrl.href);
        assert.equal(response.status, 400);
        assert.equal(response.location, undefined, 'nothing is sent to the redirect_uri');
        assert.match(response.body, /invalid_request_object/);
      });
    }

    test('an unsigned authorization request is refused for a FAPI 1.0 client', async () => {
      const { config } = await fapi1Client(['code']);
      const direct = oidc.buildAuthorizationUrl(config, {
        redirect_uri: REDIRECT_URI,
        scope: 'openid accounts',
        nonce: oidc.randomNonce(),
        state: oidc.randomState(),
      });
      // FAPI 1.0 Advanced 5.2.2-1: the engine sends the TPP back with invalid_request.
      const response = await harness.browser().get(direct.href);
      assert.equal(response.status, 303);
      const target = new URL(response.location!);
      assert.equal(target.origin + target.pathname, REDIRECT_URI);
      assert.equal(target.searchParams.get('error'), 'invalid_request');
      assert.equal(target.searchParams.get('code'), null);
    });
  });

  describe('DPoP proofs the engine refuses (RFC 9449 §4.3)', () => {
    type DpopKeyPair = Parameters<typeof oidc.getDPoPHandle>[1];
    async function dpopClientWithProofs(modify: (payload: Record<string, unknown>) => void) {
      const tpp = await harness.registerTpp({
        profile: clientsV1.FapiProfile.FAPI_PROFILE_FAPI2_SECURITY,
        metadata: { dpop_bound_access_tokens: true },
      });
      const config = await harness.relyingParty(tpp);
      const keyPair = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
        'sign',
        'verify',
      ])) as DpopKeyPair;
      return {
        config,
        DPoP: oidc.getDPoPHandle(config, keyPair, { [oidc.modifyAssertion]: (_header, payload) => modify(payload) }),
      };
    }
    const refusedProof = (error: { error?: string }) => error.error === 'invalid_dpop_proof';

    test('a proof for another method (htm) is refused and no token is issued', async () => {
      const { config, DPoP } = await dpopClientWithProofs((payload) => {
        payload.htm = 'GET';
      });
      await assert.rejects(oidc.clientCredentialsGrant(config, { scope: 'accounts' }, { DPoP }), refusedProof);
    });

    test('a proof for another URL (htu) is refused', async () => {
      const { config, DPoP } = await dpopClientWithProofs((payload) => {
        payload.htu = `${harness.mtlsBaseUrl}/userinfo`;
      });
      await assert.rejects(oidc.clientCredentialsGrant(config, { scope: 'accounts' }, { DPoP }), refusedProof);
    });

    test('a proof whose jti was already used is refused', async () => {
      const jti = `replayed-${Date.now()}`;
      const { config, DPoP } = await dpopClientWithProofs((payload) => {
        payload.jti = jti;
      });
      await oidc.clientCredentialsGrant(config, { scope: 'accounts' }, { DPoP });
      // RFC 9449 §5: a replayed proof is an invalid proof (the engine alone would say invalid_grant).
      await assert.rejects(oidc.clientCredentialsGrant(config, { scope: 'accounts' }, { DPoP }), refusedProof);
    });
  });

  describe('FAPI 2.0: PAR + PKCE + mTLS-bound tokens', () => {
    test('login and consent, then certificate-bound tokens recorded with the consent', async () => {
      const tpp = await harness.registerTpp({ profile: clientsV1.FapiProfile.FAPI_PROFILE_FAPI2_SECURITY });
      const config = await harness.relyingParty(tpp);
      const { callback, verifier, state } = await authorizeWithPar(tpp, config);
      assert.equal(callback.searchParams.get('iss'), harness.issuer, 'RFC 9207 iss');
      const tokens = await oidc.authorizationCodeGrant(config, callback, {
        pkceCodeVerifier: verifier,
        expectedState: state,
      });
      assert.ok(tokens.refresh_token);
      const claims = tokens.claims();
      assert.equal(claims?.sub, 'customer-alice');

      const decision = harness.directory.decisions.at(-1)!;
      assert.equal(decision.clientId, tpp.clientId);
      assert.deepEqual(decision.accountIds, ['acc-1', 'acc-2']);

      const record = await harness.tokenStore.find(tokens.access_token);
      assert.equal(record?.cnf?.['x5t#S256'], tpp.thumbprint);
      assert.equal(record?.subject, 'customer-alice');
      assert.equal(record?.grantType, 'authorization_code');
      assert.ok(record?.consentId?.startsWith('consent-'));
      const refreshRecord = await harness.tokenStore.find(tokens.refresh_token!);
      assert.equal(refreshRecord?.tokenType, 'refresh_token');
      assert.equal(refreshRecord?.consentId, record?.consentId);

      const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, 'customer-alice');
      assert.equal(userinfo.sub, 'customer-alice');
    });

    test('a refresh keeps the refresh token (no rotation for FAPI 2.0) and binds the new access token', async () => {
      const { tpp, config, tokens: first } = await fapi2ClientWithTokens();
      const refreshed = await oidc.refreshTokenGrant(config, first.refresh_token!);
      assert.equal(refreshed.refresh_token ?? first.refresh_token, first.refresh_token);
      const record = await harness.tokenStore.find(refreshed.access_token);
      assert.equal(record?.grantType, 'refresh_token');
      assert.equal(record?.cnf?.['x5t#S256'], tpp.thumbprint);
    });

    test('a refresh presenting another certificate than the one the refresh token is bound to is refused, and the token still works with its own', async () => {
      const { tpp, config, tokens } = await fapi2ClientWithTokens();
      assert.equal((await harness.tokenStore.find(tokens.refresh_token!))?.cnf?.['x5t#S256'], tpp.thumbprint);
      // A certificate the edge verifies (same CA), with the client's own private_key_jwt: only the binding differs.
      const other = await harness.pki.issueTppCertificate({ orgId: '0015800001041REAAY', softwareId: 'someone-else' });
      await assert.rejects(
        oidc.refreshTokenGrant(await harness.relyingParty(tpp, { certificate: other }), tokens.refresh_token!),
        oauthError('invalid_grant'),
      );
      assert.ok(await harness.tokenStore.find(tokens.access_token), 'the access token is not revoked');
      assert.ok(await harness.tokenStore.find(tokens.refresh_token!), 'the refresh token is not revoked');
      const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
      assert.equal((await harness.tokenStore.find(refreshed.access_token))?.cnf?.['x5t#S256'], tpp.thumbprint);
    });

    test('tls_client_auth: a refresh with a new certificate of the same subject is refused, the bound one still works', async () => {
      const tpp = await harness.registerTpp({
        profile: clientsV1.FapiProfile.FAPI_PROFILE_FAPI2_SECURITY,
        authMethod: 'tls_client_auth',
      });
      const config = await harness.relyingParty(tpp, { clientAuth: oidc.TlsClientAuth() });
      const { callback, verifier, state } = await authorizeWithPar(tpp, config);
      const tokens = await oidc.authorizationCodeGrant(config, callback, {
        pkceCodeVerifier: verifier,
        expectedState: state,
      });
      // Same subject DN, so client authentication passes; the refresh token is bound to the first certificate.
      const renewed = await harness.pki.issueTppCertificate({ orgId: '0015800001041REAAY', softwareId: tpp.clientId });
      const renewedConfig = await harness.relyingParty(tpp, { certificate: renewed, clientAuth: oidc.TlsClientAuth() });
      await assert.rejects(oidc.refreshTokenGrant(renewedConfig, tokens.refresh_token!), oauthError('invalid_grant'));
      const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
      assert.equal((await harness.tokenStore.find(refreshed.access_token))?.cnf?.['x5t#S256'], tpp.thumbprint);
    });

    test("a code presented with another client's certificate and credentials is refused, and its client can still exchange it", async () => {
      const tpp = await harness.registerTpp({ profile: clientsV1.FapiProfile.FAPI_PROFILE_FAPI2_SECURITY });
      const config = await harness.relyingParty(tpp);
      const { callback, verifier, state } = await authorizeWithPar(tpp, config);
      const intruder = await harness.registerTpp({ profile: clientsV1.FapiProfile.FAPI_PROFILE_FAPI2_SECURITY });
      await assert.rejects(
        oidc.authorizationCodeGrant(await harness.relyingParty(intruder), callback, {
          pkceCodeVerifier: verifier,
          expectedState: state,
        }),
        oauthError('invalid_grant'),
      );
      const tokens = await oidc.authorizationCodeGrant(config, callback, {
        pkceCodeVerifier: verifier,
        expectedState: state,
      });
      assert.equal((await harness.tokenStore.find(tokens.access_token))?.cnf?.['x5t#S256'], tpp.thumbprint);
    });

    test('a PAR request without PKCE is refused', async () => {
      const tpp = await harness.registerTpp({ profile: clientsV1.FapiProfile.FAPI_PROFILE_FAPI2_SECURITY });
      const config = await harness.relyingParty(tpp);
      await assert.rejects(
        oidc.buildAuthorizationUrlWithPAR(config, { redirect_uri: REDIRECT_URI, scope: 'openid accounts', state: 'x' }),
        oauthError('invalid_request'),
      );
    });

    test('a PAR request with PKCE plain is refused', async () => {
      const tpp = await harness.registerTpp({ profile: clientsV1.FapiProfile.FAPI_PROFILE_FAPI2_SECURITY });
      const config = await harness.relyingParty(tpp);
      await assert.rejects(
        oidc.buildAuthorizationUrlWithPAR(config, {
          redirect_uri: REDIRECT_URI,
          scope: 'openid accounts',
          code_challenge: oidc.randomPKCECodeVerifier(),
          code_challenge_method: 'plain',
        }),
        oauthError('invalid_request'),
      );
    });

    test('an authorization request not sent through PAR is refused', async () => {
      const tpp = await harness.registerTpp({ profile: clientsV1.FapiProfile.FAPI_PROFILE_FAPI2_SECURITY });
      const config = await harness.relyingParty(tpp);
      const direct = oidc.buildAuthorizationUrl(config, {
        redirect_uri: REDIRECT_URI,
        scope: 'openid accounts',
        code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
        code_challenge_method: 'S256',
      });
      const response = await harness.browser().get(direct.href);
      assert.equal(response.status, 303);
      const back = new URL(response.location!);
      assert.equal(`${back.origin}${back.pathname}`, REDIRECT_URI);
      assert.equal(back.searchParams.get('error'), 'invalid_request');
      assert.equal(back.searchParams.get('code'), null);
    });

    test('a request_uri used once cannot be used again', async () => {
      const tpp = await harness.registerTpp({ profile: clientsV1.FapiProfile.FAPI_PROFILE_FAPI2_SECURITY });
      const config = await harness.relyingParty(tpp);
      const { authorizationUrl } = await authorizeWithPar(tpp, config);
      const again = await harness.browser().get(authorizationUrl.href);
      const error = again.location
        ? new URL(again.location).searchParams.get('error')
        : /<code>([a-z_]+)<\/code>/.exec(again.body)?.[1];
      assert.equal(error, 'invalid_request_uri');
    });

    test('a code used twice is refused, and the tokens first issued from it are revoked', async () => {
      const tpp = await harness.registerTpp({ profile: clientsV1.FapiProfile.FAPI_PROFILE_FAPI2_SECURITY });
      const config = await harness.relyingParty(tpp);
      const { callback, verifier, state } = await authorizeWithPar(tpp, config);
      const tokens = await oidc.authorizationCodeGrant(config, callback, {
        pkceCodeVerifier: verifier,
        expectedState: state,
      });
      assert.ok(await harness.tokenStore.find(tokens.access_token));
      await assert.rejects(
        oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state }),
        oauthError('invalid_grant'),
      );
      assert.equal(await harness.tokenStore.find(tokens.access_token), undefined);
      assert.equal(await harness.tokenStore.find(tokens.refresh_token!), undefined);
      await assert.rejects(oidc.refreshTokenGrant(config, tokens.refresh_token!), oauthError('invalid_grant'));
    });

    test('a denied consent returns access_denied to the TPP and issues nothing', async () => {
      const tpp = await harness.registerTpp({ profile: clientsV1.FapiProfile.FAPI_PROFILE_FAPI2_SECURITY });
      const config = await harness.relyingParty(tpp);
      const verifier = oidc.randomPKCECodeVerifier();
      const authorizationUrl = await oidc.buildAuthorizationUrlWithPAR(config, {
        redirect_uri: REDIRECT_URI,
        scope: 'openid accounts',
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state: 'deny-state',
      });
      const callback = await loginAndConsent(harness.browser(), authorizationUrl, 'deny');
      assert.equal(callback.searchParams.get('error'), 'access_denied');
      assert.equal(callback.searchParams.get('code'), null);
    });
  });

  describe('tokens.v1.Tokens over real gRPC', () => {
    test('RevokeByConsent revokes the grant and its tokens, and is idempotent', async () => {
      const { config, tokens } = await fapi2ClientWithTokens();
      const consentId = (await harness.tokenStore.find(tokens.access_token))!.consentId!;

      const first = await harness.tokens.call('revokeByConsent', { consentId, reason: 'consent_revoked' });
      assert.ok(first.revokedCount >= 3, `grant, access and refresh token: ${first.revokedCount}`);
      assert.equal(await harness.tokenStore.find(tokens.access_token), undefined);
      assert.equal(await harness.tokenStore.find(tokens.refresh_token!), undefined);
      await assert.rejects(oidc.fetchUserInfo(config, tokens.access_token, 'customer-alice'));
      await assert.rejects(oidc.refreshTokenGrant(config, tokens.refresh_token!), oauthError('invalid_grant'));

      const again = await harness.tokens.call('revokeByConsent', { consentId, reason: 'consent_revoked' });
      assert.equal(again.revokedCount, 0);
    });

    test('RevokeByClient revokes client_credentials tokens too, and is idempotent', async () => {
      const tpp = await harness.registerTpp({ profile: clientsV1.FapiProfile.FAPI_PROFILE_FAPI2_SECURITY });
      const config = await harness.relyingParty(tpp);
      const cc = await oidc.clientCredentialsGrant(config, { scope: 'accounts' });
      const { callback, verifier, state } = await authorizeWithPar(tpp, config);
      const tokens = await oidc.authorizationCodeGrant(config, callback, {
        pkceCodeVerifier: verifier,
        expectedState: state,
      });

      const first = await harness.tokens.call('revokeByClient', { clientId: tpp.clientId, reason: 'client_deleted' });
      assert.ok(first.revokedCount >= 4, String(first.revokedCount));
      for (const token of [cc.access_token, tokens.access_token, tokens.refresh_token!]) {
        assert.equal(await harness.tokenStore.find(token), undefined);
      }
      assert.equal(
        (await harness.tokens.call('revokeByClient', { clientId: tpp.clientId, reason: 'retry' })).revokedCount,
        0,
      );
    });

    test('RevokeGrant revokes one grant; an empty id is INVALID_ARGUMENT', async () => {
      const { tokens } = await fapi2ClientWithTokens();
      const grantId = (await harness.tokenStore.find(tokens.access_token))!.grantId!;
      assert.ok((await harness.tokens.call('revokeGrant', { grantId, reason: 'test' })).revokedCount >= 3);
      assert.equal(await harness.tokenStore.find(tokens.access_token), undefined);
      assert.equal((await harness.tokens.call('revokeGrant', { grantId, reason: 'test' })).revokedCount, 0);
      await assert.rejects(
        harness.tokens.call('revokeGrant', { grantId: '', reason: 'test' }),
        (error: unknown) => (error as { kind?: string }).kind === 'bad_request',
      );
    });
  });

  test('the ID token is signed with PS256 by a published key', async () => {
    const tpp = await harness.registerTpp({ profile: clientsV1.FapiProfile.FAPI_PROFILE_FAPI2_SECURITY });
    const config = await harness.relyingParty(tpp);
    const { callback, verifier, state } = await authorizeWithPar(tpp, config);
    const tokens = await oidc.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: verifier,
      expectedState: state,
    });
    const header = JSON.parse(Buffer.from(tokens.id_token!.split('.')[0]!, 'base64url').toString()) as { alg: string };
    assert.equal(header.alg, 'PS256');
    assert.equal(decodeJwt(tokens.id_token!).iss, harness.issuer);
  });
});
