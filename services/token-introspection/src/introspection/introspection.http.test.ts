import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { createLocalJWKSet, decodeProtectedHeader, importJWK, jwtVerify, SignJWT } from 'jose';
import { clientsV1 } from '@obip/contracts';
import {
  checkOpenApiResponse,
  createTestPki,
  generateSigningKey,
  mintSelfSignedCertificate,
  startJwksServer,
  type IssuedCertificate,
  type JwksServer,
  type OpenApiDocument,
  type SigningKey,
  type TestPki,
} from '@obip/testing';
import {
  INTROSPECTION_ENDPOINT,
  ISSUER,
  NGINX_HEADERS,
  nowSeconds,
  postIntrospect,
  startHarness,
  startPeers,
  type Harness,
  type Peers,
} from '../testing/introspection.harness';
import { introspectionOpenApi } from './introspection.openapi';

const OPENAPI = introspectionOpenApi as unknown as OpenApiDocument;
const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const INACTIVE_BODY = '{"active":false}';

/** Asserts the response conforms to the OpenAPI document, whatever its status. */
function assertDocumented(response: { status: number; headers: Headers; text: string }) {
  const contentType = response.headers.get('content-type');
  const body = contentType?.startsWith('application/json') ? JSON.parse(response.text) : response.text;
  assert.deepEqual(
    checkOpenApiResponse(OPENAPI, { method: 'POST', path: '/introspect', status: response.status, contentType, body }),
    [],
  );
}

async function clientAssertion(
  key: SigningKey,
  clientId: string,
  claims: { aud?: string; jti?: string; exp?: number; iss?: string } = {},
): Promise<string> {
  return new SignJWT({ jti: claims.jti ?? randomUUID() })
    .setProtectedHeader({ alg: key.alg, kid: key.kid })
    .setIssuer(claims.iss ?? clientId)
    .setSubject(clientId)
    .setAudience(claims.aud ?? INTROSPECTION_ENDPOINT)
    .setIssuedAt()
    .setExpirationTime(claims.exp ?? nowSeconds() + 60)
    .sign(await importJWK(key.privateJwk, key.alg));
}

describe('POST /introspect', () => {
  let pki: TestPki;
  let peers: Peers;
  let harness: Harness;
  let jwksServer: JwksServer;
  let gateway: IssuedCertificate;
  let otherTpp: IssuedCertificate;
  let selfSigned: Awaited<ReturnType<typeof mintSelfSignedCertificate>>;
  let inlineKey: SigningKey;
  let uriKey: SigningKey;
  let responseKeys: SigningKey[];
  /** The gateway authenticated with tls_client_auth: the default caller of these tests. */
  let asGateway: Record<string, string>;

  before(async () => {
    pki = await createTestPki();
    peers = await startPeers();
    jwksServer = await startJwksServer();
    [gateway, otherTpp, selfSigned, inlineKey, uriKey] = await Promise.all([
      pki.issueTppCertificate({ orgId: '0015800001041REAAY', softwareId: 'gateway1' }),
      pki.issueTppCertificate({ orgId: '0015800001041REAAY', softwareId: 'tpp-app' }),
      mintSelfSignedCertificate([{ CN: ['rs-self'] }]),
      generateSigningKey('PS256'),
      generateSigningKey('ES256'),
    ]);
    responseKeys = [await generateSigningKey('PS256'), await generateSigningKey('ES256')];
    harness = await startHarness({ peers, signingKeys: responseKeys, env: { RESOURCE_SERVER_CLIENT_IDS: 'rs-tls' } });
    asGateway = NGINX_HEADERS(gateway.certPem);

    // Registered as dcr-service would report them. The DN is registered in another order and case: it is compared normalised.
    peers.registerClient({
      clientId: 'rs-tls',
      tlsClientAuthSubjectDn: 'c=GB, o=OpenBanking, ou=0015800001041REAAY, cn=gateway1',
      metadata: { token_endpoint_auth_method: 'tls_client_auth' },
    });
    peers.registerClient({
      clientId: 'rs-jwt',
      jwksJson: JSON.stringify({ keys: [inlineKey.publicJwk] }),
      metadata: { token_endpoint_auth_method: 'private_key_jwt', obip_resource_server: true },
    });
    peers.registerClient({
      clientId: 'rs-jwks-uri',
      metadata: {
        token_endpoint_auth_method: 'private_key_jwt',
        jwks_uri: jwksServer.publish('/rs/jwks', { keys: [uriKey.publicJwk as Record<string, unknown>] }),
        obip_resource_server: true,
        introspection_signed_response_alg: 'ES256',
      },
    });
    const selfSignedJwk = selfSigned.certificate.publicKey.export({ format: 'jwk' });
    peers.registerClient({
      clientId: 'rs-self',
      jwksJson: JSON.stringify({ keys: [{ ...selfSignedJwk, x5c: [selfSigned.der.toString('base64')] }] }),
      metadata: { token_endpoint_auth_method: 'self_signed_tls_client_auth', obip_resource_server: true },
    });
    peers.registerClient({
      clientId: 'tpp-app',
      tlsClientAuthSubjectDn: 'CN=tpp-app,OU=0015800001041REAAY,O=OpenBanking,C=GB',
      metadata: { token_endpoint_auth_method: 'tls_client_auth' },
    });
    peers.registerClient({
      clientId: 'rs-suspended',
      status: clientsV1.ClientStatus.CLIENT_STATUS_SUSPENDED,
      tlsClientAuthSubjectDn: 'CN=gateway1,OU=0015800001041REAAY,O=OpenBanking,C=GB',
      metadata: { token_endpoint_auth_method: 'tls_client_auth', obip_resource_server: true },
    });
  });

  after(async () => {
    await harness?.stop();
    await peers?.stop();
    await jwksServer?.stop();
  });

  const introspect = (token: string, headers: Record<string, string> = {}, form: Record<string, string> = {}) =>
    postIntrospect(harness.url, { token, client_id: 'rs-tls', ...form }, { ...asGateway, ...headers });

  describe('active tokens: every member, as auth-server wrote them', () => {
    test('an authorization_code access token bound to an Authorised consent and a certificate', async () => {
      const consentId = `aac-${randomUUID()}`;
      peers.setConsent(consentId, 'CONSENT_STATUS_AUTHORISED', 'tpp-client');
      const { token, record } = await harness.issue({
        consentId,
        openbankingIntentId: consentId,
        cnf: { 'x5t#S256': 'bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2' },
        authorizationDetails: [{ type: 'account_information', actions: ['read'] }],
        acr: 'urn:openbanking:psd2:sca',
      });
      const response = await introspect(token, {}, { token_type_hint: 'access_token' });
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('cache-control'), 'no-store');
      assert.deepEqual(response.json(), {
        active: true,
        scope: 'openid accounts',
        client_id: 'tpp-client',
        sub: 'customer-1',
        exp: record.expiresAt,
        iat: record.issuedAt,
        iss: ISSUER,
        aud: ['https://api.bank.test'],
        token_type: 'Bearer',
        cnf: { 'x5t#S256': 'bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2' },
        consent_id: consentId,
        openbanking_intent_id: consentId,
        authorization_details: [{ type: 'account_information', actions: ['read'] }],
        acr: 'urn:openbanking:psd2:sca',
      });
      assertDocumented(response);
    });

    test('a client_credentials access token: no customer, no consent', async () => {
      const { token, record } = await harness.issue({
        grantType: 'client_credentials',
        subject: undefined,
        scope: 'payments',
        cnf: { 'x5t#S256': 'thumb-cc' },
      });
      const response = await introspect(token);
      assert.equal(response.status, 200);
      assert.deepEqual(response.json(), {
        active: true,
        scope: 'payments',
        client_id: 'tpp-client',
        exp: record.expiresAt,
        iat: record.issuedAt,
        iss: ISSUER,
        aud: ['https://api.bank.test'],
        token_type: 'Bearer',
        cnf: { 'x5t#S256': 'thumb-cc' },
      });
      assertDocumented(response);
    });

    test('a refresh token: the same members, and no access token type', async () => {
      const consentId = `rt-${randomUUID()}`;
      peers.setConsent(consentId, 'CONSENT_STATUS_AUTHORISED', 'tpp-client');
      const { token, record } = await harness.issue({
        tokenType: 'refresh_token',
        grantType: 'authorization_code',
        consentId,
        openbankingIntentId: consentId,
        expiresAt: nowSeconds() + 90 * 86_400,
        acr: 'urn:openbanking:psd2:ca',
      });
      const response = await introspect(token, {}, { token_type_hint: 'refresh_token' });
      assert.equal(response.status, 200);
      assert.deepEqual(response.json(), {
        active: true,
        scope: 'openid accounts',
        client_id: 'tpp-client',
        sub: 'customer-1',
        exp: record.expiresAt,
        iat: record.issuedAt,
        iss: ISSUER,
        aud: ['https://api.bank.test'],
        consent_id: consentId,
        openbanking_intent_id: consentId,
        acr: 'urn:openbanking:psd2:ca',
      });
      assertDocumented(response);
    });

    test('a DPoP-bound access token has token_type DPoP and cnf.jkt', async () => {
      const { token } = await harness.issue({ cnf: { jkt: 'jkt-of-the-tpp-key' } });
      const body = (await introspect(token)).json();
      assert.equal(body.token_type, 'DPoP');
      assert.deepEqual(body.cnf, { jkt: 'jkt-of-the-tpp-key' });
    });

    test('a wrong token_type_hint does not hide a token (RFC 7662 §2.1)', async () => {
      const { token } = await harness.issue();
      assert.equal((await introspect(token, {}, { token_type_hint: 'refresh_token' })).json().active, true);
    });
  });

  describe('inactive tokens are exactly {"active":false}', () => {
    const assertInactive = async (token: string) => {
      const response = await introspect(token);
      assert.equal(response.status, 200);
      assert.equal(response.text, INACTIVE_BODY);
      assertDocumented(response);
    };

    test('an unknown token', async () => {
      await assertInactive(randomBytes(32).toString('base64url'));
    });

    test('an expired token', async () => {
      const { token, record } = await harness.issue({ expiresAt: nowSeconds() + 1 });
      while (nowSeconds() < record.expiresAt) await new Promise((resolve) => setTimeout(resolve, 100));
      await assertInactive(token);
    });

    test('a revoked token, and every token of a revoked consent, client or grant', async () => {
      const single = await harness.issue();
      await harness.store.revoke(single.token);
      await assertInactive(single.token);
      const consentId = `casc-${randomUUID()}`;
      peers.setConsent(consentId, 'CONSENT_STATUS_AUTHORISED', 'tpp-client');
      const byConsent = await harness.issue({ consentId });
      const byGrant = await harness.issue();
      const byClient = await harness.issue({ clientId: `client-${randomUUID()}` });
      assert.equal((await introspect(byConsent.token)).json().active, true);
      await harness.store.revokeByConsent(consentId);
      await harness.store.revokeByGrant(byGrant.record.grantId!);
      await harness.store.revokeByClient(byClient.record.clientId);
      for (const { token } of [byConsent, byGrant, byClient]) await assertInactive(token);
    });

    for (const status of [
      'CONSENT_STATUS_AWAITING_AUTHORISATION',
      'CONSENT_STATUS_REJECTED',
      'CONSENT_STATUS_REVOKED',
      'CONSENT_STATUS_CONSUMED',
      'CONSENT_STATUS_EXPIRED',
    ] as const) {
      test(`a token whose consent is ${status}`, async () => {
        const consentId = `st-${randomUUID()}`;
        peers.setConsent(consentId, status, 'tpp-client');
        await assertInactive((await harness.issue({ consentId })).token);
      });
    }

    test('a token whose consent consent-service does not know', async () => {
      await assertInactive((await harness.issue({ consentId: `missing-${randomUUID()}` })).token);
    });

    test('a token whose consent belongs to another client', async () => {
      const consentId = `other-${randomUUID()}`;
      peers.setConsent(consentId, 'CONSENT_STATUS_AUTHORISED', 'another-tpp');
      await assertInactive((await harness.issue({ consentId })).token);
    });

    test('a token whose Authorised consent has passed its expiry', async () => {
      const consentId = `exp-${randomUUID()}`;
      peers.setConsent(consentId, 'CONSENT_STATUS_AUTHORISED', 'tpp-client', nowSeconds() - 1);
      await assertInactive((await harness.issue({ consentId })).token);
    });
  });

  describe('callers', () => {
    const assertRefused = (response: Awaited<ReturnType<typeof postIntrospect>>) => {
      assert.equal(response.status, 401);
      assert.equal(response.json().error, 'invalid_client');
      assert.ok(response.headers.get('www-authenticate'), 'a WWW-Authenticate challenge');
      assert.equal(response.headers.get('cache-control'), 'no-store');
      assertDocumented(response);
    };

    test('accepts tls_client_auth by a resource server named in RESOURCE_SERVER_CLIENT_IDS', async () => {
      const { token } = await harness.issue();
      assert.equal((await introspect(token)).json().active, true);
    });

    test('accepts private_key_jwt with an inline key set, aud = this endpoint', async () => {
      const { token } = await harness.issue();
      const response = await postIntrospect(
        harness.url,
        { token, client_assertion_type: JWT_BEARER, client_assertion: await clientAssertion(inlineKey, 'rs-jwt') },
        asGateway,
      );
      assert.equal(response.status, 200);
      assert.equal(response.json().active, true);
    });

    test('accepts private_key_jwt with keys behind jwks_uri, aud = the issuer', async () => {
      const { token } = await harness.issue();
      const assertion = await clientAssertion(uriKey, 'rs-jwks-uri', { aud: ISSUER });
      const response = await postIntrospect(
        harness.url,
        { token, client_id: 'rs-jwks-uri', client_assertion_type: JWT_BEARER, client_assertion: assertion },
        asGateway,
      );
      assert.equal(response.status, 200);
      assert.equal(response.json().active, true);
      assert.ok(jwksServer.hits('/rs/jwks') >= 1);
    });

    test('accepts self_signed_tls_client_auth with a certificate from the client key set', async () => {
      const { token } = await harness.issue();
      const response = await postIntrospect(
        harness.url,
        { token, client_id: 'rs-self' },
        NGINX_HEADERS(selfSigned.pem),
      );
      assert.equal(response.status, 200);
      assert.equal(response.json().active, true);
    });

    test('refuses a request without client authentication', async () => {
      const { token } = await harness.issue();
      assertRefused(await postIntrospect(harness.url, { token }, asGateway));
      assertRefused(await postIntrospect(harness.url, { token }));
    });

    test('refuses tls_client_auth without a certificate, or with the certificate of another subject', async () => {
      const { token } = await harness.issue();
      assertRefused(await postIntrospect(harness.url, { token, client_id: 'rs-tls' }));
      assertRefused(await postIntrospect(harness.url, { token, client_id: 'rs-tls' }, NGINX_HEADERS(otherTpp.certPem)));
    });

    test('refuses a certificate the edge did not verify', async () => {
      const { token } = await harness.issue();
      assertRefused(
        await postIntrospect(
          harness.url,
          { token, client_id: 'rs-tls' },
          { ...asGateway, 'ssl-client-verify': 'FAILED:certificate has expired' },
        ),
      );
    });

    test('refuses an unregistered client, a suspended one, and a registered client that is not a resource server', async () => {
      const { token } = await harness.issue();
      assertRefused(await postIntrospect(harness.url, { token, client_id: 'nobody' }, asGateway));
      assertRefused(await postIntrospect(harness.url, { token, client_id: 'rs-suspended' }, asGateway));
      assertRefused(
        await postIntrospect(harness.url, { token, client_id: 'tpp-app' }, NGINX_HEADERS(otherTpp.certPem)),
      );
    });

    test('refuses a self-signed certificate that is not in the client key set', async () => {
      const { token } = await harness.issue();
      const stranger = await mintSelfSignedCertificate([{ CN: ['rs-self'] }]);
      assertRefused(await postIntrospect(harness.url, { token, client_id: 'rs-self' }, NGINX_HEADERS(stranger.pem)));
    });

    test('refuses a client assertion signed by another key, for another audience, expired, or too long-lived', async () => {
      const { token } = await harness.issue();
      const send = async (assertion: string) =>
        postIntrospect(
          harness.url,
          { token, client_assertion_type: JWT_BEARER, client_assertion: assertion },
          asGateway,
        );
      assertRefused(await send(await clientAssertion(uriKey, 'rs-jwt')));
      assertRefused(await send(await clientAssertion(inlineKey, 'rs-jwt', { aud: 'https://elsewhere.test' })));
      assertRefused(await send(await clientAssertion(inlineKey, 'rs-jwt', { exp: nowSeconds() - 120 })));
      assertRefused(await send(await clientAssertion(inlineKey, 'rs-jwt', { exp: nowSeconds() + 3600 })));
    });

    test('refuses a replayed client assertion (same jti)', async () => {
      const { token } = await harness.issue();
      const assertion = await clientAssertion(inlineKey, 'rs-jwt');
      const form = { token, client_assertion_type: JWT_BEARER, client_assertion: assertion };
      assert.equal((await postIntrospect(harness.url, form, asGateway)).status, 200);
      assertRefused(await postIntrospect(harness.url, form, asGateway));
    });

    test('refuses a client assertion of the wrong type, or naming another client than client_id', async () => {
      const { token } = await harness.issue();
      const assertion = await clientAssertion(inlineKey, 'rs-jwt');
      assertRefused(
        await postIntrospect(
          harness.url,
          { token, client_assertion_type: 'jwt', client_assertion: assertion },
          asGateway,
        ),
      );
      assertRefused(
        await postIntrospect(
          harness.url,
          { token, client_id: 'rs-tls', client_assertion_type: JWT_BEARER, client_assertion: assertion },
          asGateway,
        ),
      );
    });

    test('refuses a client assertion from a client registered for mutual TLS', async () => {
      const { token } = await harness.issue();
      const key = await generateSigningKey('PS256');
      peers.registerClient({
        clientId: 'rs-tls-with-keys',
        jwksJson: JSON.stringify({ keys: [key.publicJwk] }),
        metadata: { token_endpoint_auth_method: 'tls_client_auth', obip_resource_server: true },
      });
      assertRefused(
        await postIntrospect(
          harness.url,
          {
            token,
            client_assertion_type: JWT_BEARER,
            client_assertion: await clientAssertion(key, 'rs-tls-with-keys'),
          },
          asGateway,
        ),
      );
    });
  });

  describe('request validation', () => {
    test('a missing token is 400 invalid_request', async () => {
      const response = await postIntrospect(harness.url, { client_id: 'rs-tls' }, asGateway);
      assert.equal(response.status, 400);
      assert.equal(response.json().error, 'invalid_request');
      assertDocumented(response);
    });

    test('a repeated parameter is 400 invalid_request', async () => {
      const { token } = await harness.issue();
      const response = await postIntrospect(harness.url, { token: [token, token], client_id: 'rs-tls' }, asGateway);
      assert.equal(response.status, 400);
      assert.equal(response.json().error, 'invalid_request');
    });

    test('a body that is not a form is 415, a body over 16 KiB is 413, and GET is 405', async () => {
      const json = await fetch(`${harness.url}/introspect`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...asGateway },
        body: '{"token":"x"}',
      });
      assert.equal(json.status, 415);
      assert.equal(((await json.json()) as { error: string }).error, 'invalid_request');
      const large = await postIntrospect(harness.url, { token: 'x'.repeat(17 * 1024), client_id: 'rs-tls' }, asGateway);
      assert.equal(large.status, 413);
      assertDocumented(large);
      const get = await fetch(`${harness.url}/introspect`);
      assert.equal(get.status, 405);
      assert.equal(get.headers.get('allow'), 'POST');
    });
  });

  describe('RFC 9701 signed responses', () => {
    const publicJwks = () => ({ keys: responseKeys.map((key) => key.publicJwk) });

    test('verify against the public keys of SIGNING_KEYS_FILE, name the caller as aud and carry the response', async () => {
      const consentId = `jwt-${randomUUID()}`;
      peers.setConsent(consentId, 'CONSENT_STATUS_AUTHORISED', 'tpp-client');
      const { token } = await harness.issue({ consentId, cnf: { 'x5t#S256': 'thumb-jwt' } });
      const plain = (await introspect(token)).json();
      const response = await introspect(token, { accept: 'application/token-introspection+jwt' });
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('content-type'), 'application/token-introspection+jwt');
      assert.equal(response.headers.get('cache-control'), 'no-store');
      assertDocumented(response);
      const before = nowSeconds();
      const { payload, protectedHeader } = await jwtVerify(response.text, createLocalJWKSet(publicJwks()), {
        issuer: ISSUER,
        audience: 'rs-tls',
        typ: 'token-introspection+jwt',
        algorithms: ['PS256', 'ES256'],
      });
      assert.equal(protectedHeader.typ, 'token-introspection+jwt');
      assert.ok(typeof payload.iat === 'number' && Math.abs(payload.iat - before) <= 2);
      assert.deepEqual(payload.token_introspection, plain);
      assert.equal(payload.exp, undefined, 'the response JWT is not itself a token');
    });

    test('an inactive token is signed as {"active":false}', async () => {
      const response = await introspect(randomBytes(16).toString('hex'), {
        accept: 'application/token-introspection+jwt',
      });
      const { payload } = await jwtVerify(response.text, createLocalJWKSet(publicJwks()), { audience: 'rs-tls' });
      assert.deepEqual(payload.token_introspection, { active: false });
    });

    test("uses the caller's registered introspection_signed_response_alg", async () => {
      const { token } = await harness.issue();
      const response = await postIntrospect(
        harness.url,
        {
          token,
          client_assertion_type: JWT_BEARER,
          client_assertion: await clientAssertion(uriKey, 'rs-jwks-uri'),
        },
        { ...asGateway, accept: 'application/token-introspection+jwt' },
      );
      assert.equal(response.status, 200);
      assert.equal(decodeProtectedHeader(response.text).alg, 'ES256');
      const { payload } = await jwtVerify(response.text, createLocalJWKSet(publicJwks()), { audience: 'rs-jwks-uri' });
      assert.equal((payload.token_introspection as { active: boolean }).active, true);
    });
  });

  describe('other paths', () => {
    test('serves the OpenAPI document and answers unknown paths with the OAuth 404', async () => {
      const doc = await fetch(`${harness.url}/openapi.json`);
      assert.equal(doc.status, 200);
      assert.deepEqual(await doc.json(), JSON.parse(JSON.stringify(introspectionOpenApi)));
      const missing = await fetch(`${harness.url}/introspection`);
      assert.equal(missing.status, 404);
      assert.equal(((await missing.json()) as { error: string }).error, 'not_found');
    });
  });
});

describe('POST /introspect without signing keys', () => {
  let peers: Peers;
  let harness: Harness;
  let pki: TestPki;
  let gateway: IssuedCertificate;

  before(async () => {
    pki = await createTestPki();
    peers = await startPeers();
    harness = await startHarness({ peers, env: { RESOURCE_SERVER_CLIENT_IDS: 'rs-tls' } });
    gateway = await pki.issueTppCertificate({ orgId: 'org', softwareId: 'gateway2' });
    peers.registerClient({
      clientId: 'rs-tls',
      tlsClientAuthSubjectDn: 'CN=gateway2,OU=org,O=OpenBanking,C=GB',
      metadata: { token_endpoint_auth_method: 'tls_client_auth' },
    });
  });
  after(async () => {
    await harness?.stop();
    await peers?.stop();
  });

  test('answers a request for a signed response with 406 and still serves JSON', async () => {
    const { token } = await harness.issue();
    const headers = NGINX_HEADERS(gateway.certPem);
    const signed = await postIntrospect(
      harness.url,
      { token, client_id: 'rs-tls' },
      { ...headers, accept: 'application/token-introspection+jwt' },
    );
    assert.equal(signed.status, 406);
    assert.equal(signed.json().error, 'invalid_request');
    assertDocumented(signed);
    const plain = await postIntrospect(harness.url, { token, client_id: 'rs-tls' }, headers);
    assert.equal(plain.json().active, true);
  });
});
