// Hostile input against auth-server (node-oidc-provider behind the nginx edge twin), every
// service real. Each case is one named test that sends what an attacker would and asserts the
// status and OAuth error the spec names, that nothing answered 5xx, that no token (or
// request_uri) came back, and that the stored state a refused request could have changed did not
// change: no new token, code or PAR record in Redis, and codes still redeemable afterwards.
//
// Client-certificate headers are sent through the edge (which must clear or overwrite them) and
// straight to auth-server's own port as a proxy would (where auth-server must refuse anything but
// one verified certificate); the other header formats are covered in auth-server.cert-formats.test.ts.
import assert from 'node:assert/strict';
import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { decodeJwt } from 'jose';
import * as oidc from 'openid-client';
import { Agent } from 'undici';
import { closeRedis, createRedis, type RedisClient } from '@obip/redis';
import {
  attachServerLogsOnFailure,
  testRedisPrefix,
  testRedisUrl,
  type ServiceProcess,
  type TestSoftware,
} from '@obip/testing';
import { loginAndConsent, platformLogSources, startPlatformWithGateway, type Platform } from '../platform/platform';
import {
  assertionClaims,
  assertRefused,
  craftJws,
  edgeCertificateHeaders,
  freshKey,
  getWith,
  postForm,
  publicKeyPem,
  storedState,
  type Answer,
  type HeaderLines,
  type Signer,
  withDeeplyNestedClaim,
} from './auth-server.hostile';

const NAME = 'hostile_auth';
const CUSTOMER = { username: 'amelia.hart', password: 'Sandbox-Amelia-1' };
const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const EVIL = 'evil.example';

interface Tpp {
  software: TestSoftware;
  clientId: string;
  config: oidc.Configuration;
}

let platform: Platform;
let gateway: oidc.Configuration;
let redis: RedisClient;
let publicAgent: Agent;
/**
 * Agents for requests whose Host names a spoofed host: undici checks the edge's certificate
 * against the Host header, and these requests aim at what the edge and auth-server do with it.
 */
let spoofingAgents: { public: Agent; mtls: Agent; dpop: Agent };
/** A TPP on the platform default (FAPI 2.0, certificate-bound tokens). */
let tpp: Tpp;
/** A TPP registered with dpop_bound_access_tokens. */
let dpopTpp: Tpp;
/** Another software with a certificate from the same trusted CA: what an attacker holds. */
let attacker: TestSoftware;
const prefix = testRedisPrefix(NAME);

attachServerLogsOnFailure({ sources: [platformLogSources(() => platform)] });

before(async () => {
  ({ platform, gateway } = await startPlatformWithGateway({ name: NAME }));
  // SCAN patterns are not prefixed by ioredis: this client has no prefix of its own.
  redis = createRedis({ url: testRedisUrl() });
  publicAgent = new Agent({ connect: { ca: platform.pki.caBundlePem } });
  [tpp, dpopTpp, attacker] = await Promise.all([
    registered({ response_types: ['code'] }),
    registered({ response_types: ['code'], dpop_bound_access_tokens: true }),
    platform.directory.registerSoftware({ roles: ['AISP'] }),
  ]);
  const spoofing = (software?: TestSoftware) =>
    new Agent({
      connect: {
        ca: platform.pki.caBundlePem,
        ...(software ? { cert: software.transport!.chainPem, key: software.transport!.keyPem } : {}),
        checkServerIdentity: () => undefined,
      },
    });
  spoofingAgents = { public: spoofing(), mtls: spoofing(tpp.software), dpop: spoofing(dpopTpp.software) };
});

after(async () => {
  await Promise.all([publicAgent, ...Object.values(spoofingAgents ?? {})].map((agent) => agent?.close()));
  if (redis) await closeRedis(redis);
  await platform?.stop();
});

async function registered(claims: Record<string, unknown>): Promise<Tpp> {
  const software = await platform.directory.registerSoftware({ roles: ['AISP'] });
  const { client_id: clientId } = await platform.register(software, claims);
  return { software, clientId, config: await platform.relyingParty(software, clientId) };
}

const mtls = (path: string) => `${platform.twin.mtlsUrl}${path}`;
const direct = (path: string) => `${platform.httpUrl('auth-server')}${path}`;
const certificateOf = (software: TestSoftware) => software.transport!.certPem;
const thumbprintOf = (software: TestSoftware) =>
  createHash('sha256')
    .update(new X509Certificate(certificateOf(software)).raw)
    .digest('base64url');

/** The client's own key, as the registration names it. */
const ownSigner = (software: TestSoftware): Signer => ({
  alg: software.signingKey.alg,
  privateJwk: software.signingKey.privateJwk,
});

/** The attacker's transport key: a key that a certificate of the trusted CA vouches for. */
const attackerTransportSigner = (): Signer => ({
  alg: createPrivateKey(attacker.transport!.keyPem).asymmetricKeyType === 'rsa' ? 'PS256' : 'ES256',
  pkcs8: attacker.transport!.keyPem,
});

/** A client assertion (RFC 7523), by default exactly what a well-behaved TPP sends. */
function assertion(
  client: Tpp,
  options: { signer?: Signer; header?: Record<string, unknown>; claims?: Record<string, unknown> } = {},
): Promise<string> {
  return craftJws(
    options.signer ?? ownSigner(client.software),
    { kid: client.software.signingKey.kid, typ: 'JWT', ...options.header },
    { ...assertionClaims(client.clientId, platform.issuer), ...options.claims },
  );
}

const clientAuth = (client: Tpp, jwt: string): Array<[string, string]> => [
  ['client_id', client.clientId],
  ['client_assertion_type', JWT_BEARER],
  ['client_assertion', jwt],
];

/** A client_credentials token request (the smallest request that authenticates a client). */
const clientCredentials = (client: Tpp, jwt: string): Array<[string, string]> => [
  ['grant_type', 'client_credentials'],
  ['scope', 'accounts'],
  ...clientAuth(client, jwt),
];

/** A TPP's call to the edge's mTLS host, presenting its transport certificate. */
const viaEdge = (
  path: string,
  form: ReadonlyArray<readonly [string, string]>,
  headers: HeaderLines = [],
  client: Tpp = tpp,
) => postForm(mtls(path), form, headers, platform.tppAgent(client.software));

/** What a proxy sends to auth-server's own port: the client certificate headers of `client`. */
const viaPort = (
  path: string,
  form: ReadonlyArray<readonly [string, string]>,
  headers: HeaderLines = edgeCertificateHeaders(certificateOf(tpp.software)),
  base = direct(''),
) => postForm(`${base}${path}`, form, headers);

/**
 * Runs a request that must be refused and checks the refusal and that Redis holds no record
 * (token, code, PAR request) it did not hold before.
 */
async function refusedWithoutTrace(run: () => Promise<Answer>, status: number, error: string | undefined) {
  const before = await storedState(redis, prefix);
  const answer = await run();
  assertRefused(answer, status, error);
  const afterwards = await storedState(redis, prefix);
  assert.deepEqual(newRecords(before, afterwards), [], 'the refused request stored nothing');
  return answer;
}

function newRecords(before: Set<string>, afterwards: Set<string>): string[] {
  return [...afterwards].filter((key) => !before.has(key));
}

async function introspect(token: string) {
  return oidc.tokenIntrospection(gateway, token);
}

/** FAPI 2.0 PAR + PKCE, the customer logs in and consents: a fresh code and what redeems it. */
async function authorize(client: Tpp, options: { DPoP?: oidc.DPoPHandle } = {}) {
  const verifier = oidc.randomPKCECodeVerifier();
  const redirectUri = client.software.redirectUris[0]!;
  const url = await oidc.buildAuthorizationUrlWithPAR(
    client.config,
    {
      redirect_uri: redirectUri,
      scope: 'openid accounts',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state: oidc.randomState(),
    },
    options.DPoP ? { DPoP: options.DPoP } : undefined,
  );
  const callback = await loginAndConsent(platform.browser(), url, CUSTOMER);
  const code = callback.searchParams.get('code');
  assert.ok(code, `a code came back: ${callback.href}`);
  return { code, verifier, redirectUri };
}

type Redeem = Awaited<ReturnType<typeof authorize>>;

async function codeExchange(client: Tpp, grant: Redeem, override: Record<string, string> = {}) {
  const fields: Record<string, string> = {
    grant_type: 'authorization_code',
    code: grant.code,
    redirect_uri: grant.redirectUri,
    code_verifier: grant.verifier,
    ...override,
  };
  return [...Object.entries(fields), ...clientAuth(client, await assertion(client))] as Array<[string, string]>;
}

/** The PAR body of a well-behaved TPP, as pairs; `override` replaces or (with undefined) removes fields. */
async function parForm(client: Tpp, override: Record<string, string | undefined> = {}) {
  const verifier = oidc.randomPKCECodeVerifier();
  const fields: Record<string, string | undefined> = {
    response_type: 'code',
    redirect_uri: client.software.redirectUris[0]!,
    scope: 'openid accounts',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state: oidc.randomState(),
    ...override,
  };
  const pairs = Object.entries(fields).filter((entry): entry is [string, string] => entry[1] !== undefined);
  return [...pairs, ...clientAuth(client, await assertion(client))];
}

/** The claims of a signed request object for PAR (RFC 9101 §4, FAPI 2.0 Message Signing 5.3.1). */
async function requestObjectClaims(client: Tpp, extra: Record<string, unknown> = {}) {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: client.clientId,
    aud: platform.issuer,
    client_id: client.clientId,
    response_type: 'code',
    redirect_uri: client.software.redirectUris[0]!,
    scope: 'openid accounts',
    state: oidc.randomState(),
    code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
    code_challenge_method: 'S256',
    iat: now,
    nbf: now,
    exp: now + 60,
    jti: oidc.randomState(),
    ...extra,
  };
}

async function parWithRequestObject(client: Tpp, requestObject: string, outer: Array<[string, string]> = []) {
  return viaEdge(
    '/par',
    [['request', requestObject], ...outer, ...clientAuth(client, await assertion(client))],
    [],
    client,
  );
}

/**
 * The JWS attacks shared by client assertions and request objects: each signs the claims it is
 * given for `client` in a way the verifier must not accept.
 */
const forbiddenSignatures: Array<{
  name: string;
  sign(client: Tpp, claims: Record<string, unknown>): Promise<string>;
}> = [
  {
    name: 'alg none',
    sign: (client, claims) => craftJws({ alg: 'none' }, { kid: client.software.signingKey.kid }, claims),
  },
  {
    name: 'HS256 keyed with the client public key (algorithm confusion)',
    sign: (client, claims) =>
      craftJws(
        { alg: 'HS256', secret: new TextEncoder().encode(publicKeyPem(client.software)) },
        { kid: client.software.signingKey.kid },
        claims,
      ),
  },
  {
    name: "RS256 with the client's own registered key (outside the FAPI allow-list)",
    sign: (client, claims) =>
      craftJws(
        { alg: 'RS256', privateJwk: client.software.signingKey.privateJwk },
        { kid: client.software.signingKey.kid },
        claims,
      ),
  },
  {
    name: 'ES512 (outside the FAPI allow-list)',
    sign: async (client, claims) =>
      craftJws(
        { alg: 'ES512', privateJwk: (await freshKey('ES512')).privateJwk },
        { kid: client.software.signingKey.kid },
        claims,
      ),
  },
  {
    name: "an attacker key smuggled in the jwk header under the client's kid",
    sign: async (client, claims) => {
      const key = await freshKey('PS256');
      return craftJws(
        { alg: 'PS256', privateJwk: key.privateJwk },
        { kid: client.software.signingKey.kid, jwk: key.publicJwk },
        claims,
      );
    },
  },
  {
    name: 'jku pointing at an attacker key set',
    sign: async (client, claims) => {
      const key = await freshKey('PS256');
      const kid = client.software.signingKey.kid;
      const jku = platform.directory.keyServer.publish(`/attacker/${oidc.randomState()}/jwks`, {
        keys: [{ ...key.publicJwk, kid, alg: 'PS256', use: 'sig' }],
      });
      return craftJws({ alg: 'PS256', privateJwk: key.privateJwk }, { kid, jku }, claims);
    },
  },
  {
    name: 'x5u pointing at an attacker certificate',
    sign: async (client, claims) => {
      // RFC 7515 §4.1.5: a PEM certificate (chain) whose key signed the JWS.
      const x5u = platform.directory.keyServer.respond(`/attacker/${oidc.randomState()}/cert.pem`, {
        headers: { 'content-type': 'application/pem-certificate-chain' },
        body: attacker.transport!.chainPem,
      });
      return craftJws(attackerTransportSigner(), { kid: client.software.signingKey.kid, x5u }, claims);
    },
  },
  {
    name: 'x5c carrying another TPP certificate from the trusted CA',
    sign: (client, claims) =>
      craftJws(
        attackerTransportSigner(),
        {
          kid: client.software.signingKey.kid,
          x5c: [new X509Certificate(certificateOf(attacker)).raw.toString('base64')],
        },
        claims,
      ),
  },
];

describe('client_assertion (RFC 7523 private_key_jwt at /token): 401 invalid_client, no token', () => {
  test('control: a well-formed assertion gets a certificate-bound token, which the state snapshot sees', async () => {
    const before = await storedState(redis, prefix);
    const answer = await viaEdge('/token', clientCredentials(tpp, await assertion(tpp)));
    assert.equal(answer.status, 200, answer.text);
    const added = newRecords(before, await storedState(redis, prefix));
    assert.equal(added.length, 1, added.join(', '));
    assert.match(added[0]!, /^tok:/);
    assert.deepEqual((await introspect(String(answer.body.access_token))).cnf, {
      'x5t#S256': thumbprintOf(tpp.software),
    });
  });

  for (const attack of forbiddenSignatures) {
    test(`client_assertion: ${attack.name}`, async () => {
      const jwt = await attack.sign(tpp, assertionClaims(tpp.clientId, platform.issuer));
      await refusedWithoutTrace(() => viaEdge('/token', clientCredentials(tpp, jwt)), 401, 'invalid_client');
    });
  }

  test('client_assertion: deeply nested JSON in aud (5 000 levels), validly signed', async () => {
    const jwt = await craftJws(
      ownSigner(tpp.software),
      { kid: tpp.software.signingKey.kid },
      withDeeplyNestedClaim(assertionClaims(tpp.clientId, platform.issuer), 'aud', 5_000),
    );
    await refusedWithoutTrace(() => viaEdge('/token', clientCredentials(tpp, jwt)), 401, 'invalid_client');
  });

  test('client_assertion replayed (the same jti a second time): 401 invalid_client', async () => {
    const jwt = await assertion(tpp);
    const first = await viaEdge('/token', clientCredentials(tpp, jwt));
    assert.equal(first.status, 200, first.text);
    await refusedWithoutTrace(() => viaEdge('/token', clientCredentials(tpp, jwt)), 401, 'invalid_client');
  });

  const claimAttacks: Array<[string, () => Record<string, unknown>]> = [
    ['expired', () => ({ iat: Math.floor(Date.now() / 1000) - 600, exp: Math.floor(Date.now() / 1000) - 300 })],
    ['without jti', () => ({ jti: undefined })],
    ['for another audience', () => ({ aud: `https://${EVIL}` })],
  ];
  for (const [name, claims] of claimAttacks) {
    test(`client_assertion ${name}, validly signed: 401 invalid_client`, async () => {
      const jwt = await assertion(tpp, { claims: claims() });
      await refusedWithoutTrace(() => viaEdge('/token', clientCredentials(tpp, jwt)), 401, 'invalid_client');
    });
  }

  test('client_assertion whose iss and sub name different clients (no client_id parameter): 401 invalid_client', async () => {
    // RFC 7523 §3: for client authentication iss and sub are both the client_id.
    const jwt = await assertion(tpp, { claims: { sub: dpopTpp.clientId } });
    const form = clientCredentials(tpp, jwt).filter(([name]) => name !== 'client_id');
    await refusedWithoutTrace(() => viaEdge('/token', form), 401, 'invalid_client');
  });

  test('client_id parameter naming another client than the assertion: 400 invalid_request', async () => {
    // Two client identifiers that contradict each other: the engine refuses the request as
    // malformed (RFC 6749 §5.2 invalid_request) before any key is looked up.
    const jwt = await assertion(tpp);
    const form = clientCredentials(tpp, jwt).map(([name, value]): [string, string] =>
      name === 'client_id' ? [name, dpopTpp.clientId] : [name, value],
    );
    await refusedWithoutTrace(() => viaEdge('/token', form), 400, 'invalid_request');
  });

  test('client_assertion: oversized (a 96 KiB claim, over the body limit), validly signed', async () => {
    const jwt = await assertion(tpp, { claims: { pad: 'x'.repeat(96 * 1024) } });
    await refusedWithoutTrace(() => viaEdge('/token', clientCredentials(tpp, jwt)), 400, 'invalid_request');
  });
});

describe('request object at PAR (RFC 9101, RFC 9126): 400 invalid_request_object, no request_uri', () => {
  test('control: a request object signed with the registered key is accepted, and the snapshot sees it', async () => {
    const requestObject = await craftJws(
      ownSigner(tpp.software),
      { kid: tpp.software.signingKey.kid, typ: 'oauth-authz-req+jwt' },
      await requestObjectClaims(tpp),
    );
    const before = await storedState(redis, prefix);
    const answer = await parWithRequestObject(tpp, requestObject);
    assert.equal(answer.status, 201, answer.text);
    assert.match(String(answer.body.request_uri), /^urn:ietf:params:oauth:request_uri:/);
    const added = newRecords(before, await storedState(redis, prefix));
    assert.deepEqual(
      added.map((key) => key.split(':').slice(0, 2).join(':')),
      ['oidc:PushedAuthorizationRequest'],
    );
  });

  for (const attack of forbiddenSignatures) {
    test(`request object: ${attack.name}`, async () => {
      const requestObject = await attack.sign(tpp, await requestObjectClaims(tpp));
      await refusedWithoutTrace(() => parWithRequestObject(tpp, requestObject), 400, 'invalid_request_object');
    });
  }

  test('request object: deeply nested JSON in aud (5 000 levels), validly signed', async () => {
    const requestObject = await craftJws(
      ownSigner(tpp.software),
      { kid: tpp.software.signingKey.kid },
      withDeeplyNestedClaim(await requestObjectClaims(tpp), 'aud', 5_000),
    );
    await refusedWithoutTrace(() => parWithRequestObject(tpp, requestObject), 400, 'invalid_request_object');
  });

  test('request object: oversized (a 96 KiB claim, over the body limit), validly signed', async () => {
    const requestObject = await craftJws(
      ownSigner(tpp.software),
      { kid: tpp.software.signingKey.kid },
      await requestObjectClaims(tpp, { pad: 'x'.repeat(96 * 1024) }),
    );
    await refusedWithoutTrace(() => parWithRequestObject(tpp, requestObject), 400, 'invalid_request');
  });

  test('request object: contradicting outer parameters are ignored, the signed ones rule (RFC 9101 §6.3)', async () => {
    const signed = await requestObjectClaims(tpp);
    const requestObject = await craftJws(
      ownSigner(tpp.software),
      { kid: tpp.software.signingKey.kid },
      { ...signed, code_challenge: await oidc.calculatePKCECodeChallenge('v'.repeat(43)) },
    );
    const outer: Array<[string, string]> = [
      ['redirect_uri', `https://${EVIL}/callback`],
      ['state', 'outer-state'],
      ['scope', 'openid payments'],
      ['code_challenge', await oidc.calculatePKCECodeChallenge('w'.repeat(43))],
      ['code_challenge_method', 'S256'],
    ];
    const pushed = await parWithRequestObject(tpp, requestObject, outer);
    assert.equal(pushed.status, 201, pushed.text);
    const authorizationUrl = new URL(`${platform.issuer}/authorize`);
    authorizationUrl.searchParams.set('client_id', tpp.clientId);
    authorizationUrl.searchParams.set('request_uri', String(pushed.body.request_uri));
    const callback = await loginAndConsent(platform.browser(), authorizationUrl, CUSTOMER);
    assert.equal(`${callback.origin}${callback.pathname}`, signed.redirect_uri, 'the signed redirect_uri');
    assert.equal(callback.searchParams.get('state'), signed.state, 'the signed state');
    const code = callback.searchParams.get('code')!;
    const grant = { code, verifier: 'v'.repeat(43), redirectUri: signed.redirect_uri };
    // The outer code_challenge was not stored: its verifier fails, the signed one's works.
    await refusedWithoutTrace(
      async () => viaEdge('/token', await codeExchange(tpp, grant, { code_verifier: 'w'.repeat(43) })),
      400,
      'invalid_grant',
    );
    const tokens = await viaEdge('/token', await codeExchange(tpp, grant));
    assert.equal(tokens.status, 200, tokens.text);
    assert.equal(tokens.body.scope, 'openid accounts', 'the signed scope');

    // RFC 9126 §4: a request_uri is one-time use; the second use gets the error page, no redirect.
    const again = await platform.browser().get(authorizationUrl.href);
    assert.equal(again.status, 400, again.body.slice(0, 300));
    assert.equal(again.location, undefined);
    assert.match(again.body, /<code>invalid_request_uri<\/code>/);
  });

  const lifetimeAttacks: Array<[string, () => Record<string, unknown>]> = [
    ['without exp', () => ({ exp: undefined })],
    [
      'valid for two hours (FAPI 2.0 Message Signing 5.3.1: at most 60 minutes)',
      () => ({ exp: Math.floor(Date.now() / 1000) + 7200 }),
    ],
    ['expired', () => ({ nbf: Math.floor(Date.now() / 1000) - 600, exp: Math.floor(Date.now() / 1000) - 300 })],
    ['for another audience', () => ({ aud: `https://${EVIL}` })],
  ];
  for (const [name, claims] of lifetimeAttacks) {
    test(`request object ${name}, validly signed`, async () => {
      const requestObject = await craftJws(
        ownSigner(tpp.software),
        { kid: tpp.software.signingKey.kid },
        await requestObjectClaims(tpp, claims()),
      );
      await refusedWithoutTrace(() => parWithRequestObject(tpp, requestObject), 400, 'invalid_request_object');
    });
  }

  test('request object: its client_id names another client than the authenticated one', async () => {
    const requestObject = await craftJws(
      ownSigner(tpp.software),
      { kid: tpp.software.signingKey.kid },
      await requestObjectClaims(tpp, { client_id: dpopTpp.clientId }),
    );
    await refusedWithoutTrace(() => parWithRequestObject(tpp, requestObject), 400, 'invalid_request_object');
  });
});

describe('DPoP proof (RFC 9449) at /token: 400 invalid_dpop_proof, no token', () => {
  const tokenUrl = () => mtls('/token');

  /** A server nonce (RFC 9449 §8), so that a refusal below is for the attack, not a missing nonce. */
  async function dpopNonce(): Promise<string> {
    const key = await freshKey('ES256');
    const proof = await craftJws(
      { alg: 'ES256', privateJwk: key.privateJwk },
      { typ: 'dpop+jwt', jwk: key.publicJwk },
      { htm: 'POST', htu: tokenUrl(), iat: Math.floor(Date.now() / 1000), jti: oidc.randomState() },
    );
    const answer = await viaEdge(
      '/token',
      clientCredentials(dpopTpp, await assertion(dpopTpp)),
      [['dpop', proof]],
      dpopTpp,
    );
    assertRefused(answer, 400, 'use_dpop_nonce');
    const nonce = answer.headers['dpop-nonce'];
    assert.ok(typeof nonce === 'string', 'DPoP-Nonce header');
    return nonce;
  }

  const proofClaims = (nonce: string, extra: Record<string, unknown> = {}) => ({
    htm: 'POST',
    htu: tokenUrl(),
    iat: Math.floor(Date.now() / 1000),
    jti: oidc.randomState(),
    nonce,
    ...extra,
  });

  const withProof = async (proof: string, headers: HeaderLines = [], agent = platform.tppAgent(dpopTpp.software)) =>
    postForm(tokenUrl(), clientCredentials(dpopTpp, await assertion(dpopTpp)), [['dpop', proof], ...headers], agent);

  test('control: a proof with the server nonce gets a DPoP-bound token', async () => {
    const key = await freshKey('ES256');
    const proof = await craftJws(
      { alg: 'ES256', privateJwk: key.privateJwk },
      { typ: 'dpop+jwt', jwk: key.publicJwk },
      proofClaims(await dpopNonce()),
    );
    const answer = await withProof(proof);
    assert.equal(answer.status, 200, answer.text);
    assert.equal(String(answer.body.token_type).toLowerCase(), 'dpop');
    assert.ok((await introspect(String(answer.body.access_token))).cnf, 'bound');
  });

  const attacks: Array<{ name: string; proof(nonce: string): Promise<string> }> = [
    {
      name: 'alg none',
      async proof(nonce) {
        const key = await freshKey('ES256');
        return craftJws({ alg: 'none' }, { typ: 'dpop+jwt', jwk: key.publicJwk }, proofClaims(nonce));
      },
    },
    {
      name: 'HS256 keyed with the public key in its own jwk header',
      async proof(nonce) {
        const key = await freshKey('ES256');
        const secret = new TextEncoder().encode(JSON.stringify(key.publicJwk));
        return craftJws({ alg: 'HS256', secret }, { typ: 'dpop+jwt', jwk: key.publicJwk }, proofClaims(nonce));
      },
    },
    {
      name: 'RS256 (outside the allow-list)',
      async proof(nonce) {
        const key = await freshKey('PS256');
        return craftJws(
          { alg: 'RS256', privateJwk: key.privateJwk },
          { typ: 'dpop+jwt', jwk: key.publicJwk },
          proofClaims(nonce),
        );
      },
    },
    {
      name: 'ES512 (outside the allow-list)',
      async proof(nonce) {
        const key = await freshKey('ES512');
        return craftJws(
          { alg: 'ES512', privateJwk: key.privateJwk },
          { typ: 'dpop+jwt', jwk: key.publicJwk },
          proofClaims(nonce),
        );
      },
    },
    {
      name: 'a private key in the jwk header (RFC 9449 §4.2: MUST NOT)',
      async proof(nonce) {
        const key = await freshKey('ES256');
        return craftJws(
          { alg: 'ES256', privateJwk: key.privateJwk },
          { typ: 'dpop+jwt', jwk: key.privateJwk },
          proofClaims(nonce),
        );
      },
    },
    {
      name: 'the key by reference (jku, x5c) instead of jwk',
      async proof(nonce) {
        const key = await freshKey('ES256');
        const jku = platform.directory.keyServer.publish(`/attacker/${oidc.randomState()}/jwks`, {
          keys: [{ ...key.publicJwk, kid: 'k', alg: 'ES256', use: 'sig' }],
        });
        return craftJws(
          attackerTransportSigner(),
          {
            typ: 'dpop+jwt',
            kid: 'k',
            jku,
            x5c: [new X509Certificate(certificateOf(attacker)).raw.toString('base64')],
          },
          proofClaims(nonce),
        );
      },
    },
    {
      name: 'typ JWT instead of dpop+jwt',
      async proof(nonce) {
        const key = await freshKey('ES256');
        return craftJws(
          { alg: 'ES256', privateJwk: key.privateJwk },
          { typ: 'JWT', jwk: key.publicJwk },
          proofClaims(nonce),
        );
      },
    },
    {
      name: 'deeply nested JSON as htu (600 levels), validly signed',
      async proof(nonce) {
        const key = await freshKey('ES256');
        return craftJws(
          { alg: 'ES256', privateJwk: key.privateJwk },
          { typ: 'dpop+jwt', jwk: key.publicJwk },
          withDeeplyNestedClaim(proofClaims(nonce), 'htu', 600),
        );
      },
    },
  ];

  for (const attack of attacks) {
    test(`DPoP proof: ${attack.name}`, async () => {
      const proof = await attack.proof(await dpopNonce());
      await refusedWithoutTrace(() => withProof(proof), 400, 'invalid_dpop_proof');
    });
  }

  test('DPoP proof replayed (the same jti a second time)', async () => {
    const key = await freshKey('ES256');
    const proof = await craftJws(
      { alg: 'ES256', privateJwk: key.privateJwk },
      { typ: 'dpop+jwt', jwk: key.publicJwk },
      proofClaims(await dpopNonce()),
    );
    const first = await withProof(proof);
    assert.equal(first.status, 200, first.text);
    await refusedWithoutTrace(() => withProof(proof), 400, 'invalid_dpop_proof');
  });

  test('DPoP proof for another method (htm GET)', async () => {
    const key = await freshKey('ES256');
    const proof = await craftJws(
      { alg: 'ES256', privateJwk: key.privateJwk },
      { typ: 'dpop+jwt', jwk: key.publicJwk },
      proofClaims(await dpopNonce(), { htm: 'GET' }),
    );
    await refusedWithoutTrace(() => withProof(proof), 400, 'invalid_dpop_proof');
  });

  test('DPoP proof: oversized (a 12 KiB header) ends at the edge with 400', async () => {
    const key = await freshKey('ES256');
    const proof = await craftJws(
      { alg: 'ES256', privateJwk: key.privateJwk },
      { typ: 'dpop+jwt', jwk: key.publicJwk },
      proofClaims(await dpopNonce(), { pad: 'x'.repeat(12 * 1024) }),
    );
    await refusedWithoutTrace(() => withProof(proof), 400, undefined);
  });

  test('DPoP proof: htu of a spoofed host, with X-Forwarded-Host and Host naming it, at the edge', async () => {
    const key = await freshKey('ES256');
    const proof = await craftJws(
      { alg: 'ES256', privateJwk: key.privateJwk },
      { typ: 'dpop+jwt', jwk: key.publicJwk },
      proofClaims(await dpopNonce(), { htu: `https://${EVIL}/token` }),
    );
    const spoofed: HeaderLines = [
      ['host', EVIL],
      ['x-forwarded-host', EVIL],
      ['x-forwarded-proto', 'https'],
      ['forwarded', `host=${EVIL};proto=https`],
    ];
    await refusedWithoutTrace(() => withProof(proof, spoofed, spoofingAgents.dpop), 400, 'invalid_dpop_proof');
  });

  test("DPoP proof: htu of a spoofed host, with X-Forwarded-Host naming it, at auth-server's port", async () => {
    const key = await freshKey('ES256');
    const proof = await craftJws(
      { alg: 'ES256', privateJwk: key.privateJwk },
      { typ: 'dpop+jwt', jwk: key.publicJwk },
      proofClaims(await dpopNonce(), { htu: `http://${EVIL}/token` }),
    );
    const headers: HeaderLines = [
      ...edgeCertificateHeaders(certificateOf(dpopTpp.software)),
      ['dpop', proof],
      ['x-forwarded-host', EVIL],
      ['x-forwarded-proto', 'http'],
      ['forwarded', `host=${EVIL};proto=http`],
    ];
    await refusedWithoutTrace(
      async () => viaPort('/token', clientCredentials(dpopTpp, await assertion(dpopTpp)), headers),
      400,
      'invalid_dpop_proof',
    );
  });
});

describe('spoofed X-Forwarded-Host / X-Forwarded-Proto / Forwarded aimed at the issuer', () => {
  const spoofed: HeaderLines = [
    ['x-forwarded-host', EVIL],
    ['x-forwarded-proto', 'http'],
    ['x-forwarded-port', '8080'],
    ['forwarded', `for=203.0.113.9;host=${EVIL};proto=http`],
  ];

  function assertDiscoveryUnspoofed(answer: Answer) {
    assert.equal(answer.status, 200, answer.text);
    assert.equal(answer.body.issuer, platform.issuer);
    const urls = Object.entries(answer.body).filter(
      ([name, value]) => typeof value === 'string' && /(_endpoint|_uri)$/.test(name),
    );
    assert.ok(urls.length >= 5, 'discovery lists its endpoints');
    for (const [name, value] of urls) {
      const origin = new URL(String(value)).origin;
      assert.ok([platform.issuer, platform.twin.mtlsUrl].includes(origin), `${name}: ${String(value)}`);
    }
    assert.doesNotMatch(answer.text, new RegExp(EVIL.replace('.', '\\.')));
  }

  test('discovery through the edge, with Host naming the spoofed host too', async () => {
    assertDiscoveryUnspoofed(
      await getWith(
        `${platform.issuer}/.well-known/openid-configuration`,
        [['host', EVIL], ...spoofed],
        spoofingAgents.public,
      ),
    );
  });

  test("discovery (RFC 8414 name) at auth-server's port, as a proxy would forward it", async () => {
    assertDiscoveryUnspoofed(await getWith(direct('/.well-known/oauth-authorization-server'), spoofed));
  });

  test("client_assertion whose aud is the spoofed host, at auth-server's port: 401 invalid_client", async () => {
    const jwt = await assertion(tpp, { claims: { aud: `http://${EVIL}` } });
    await refusedWithoutTrace(
      () =>
        viaPort('/token', clientCredentials(tpp, jwt), [
          ...edgeCertificateHeaders(certificateOf(tpp.software)),
          ...spoofed,
        ]),
      401,
      'invalid_client',
    );
  });

  test('client_assertion whose aud is the spoofed token endpoint, through the edge: 401 invalid_client', async () => {
    const jwt = await assertion(tpp, { claims: { aud: `https://${EVIL}/token` } });
    await refusedWithoutTrace(
      () => postForm(mtls('/token'), clientCredentials(tpp, jwt), [['host', EVIL], ...spoofed], spoofingAgents.mtls),
      401,
      'invalid_client',
    );
  });

  test("a code redeemed at auth-server's port with spoofed headers: the ID token's iss is the issuer", async () => {
    const grant = await authorize(tpp);
    const answer = await viaPort('/token', await codeExchange(tpp, grant), [
      ...edgeCertificateHeaders(certificateOf(tpp.software)),
      ...spoofed,
    ]);
    assert.equal(answer.status, 200, answer.text);
    assert.equal(decodeJwt(String(answer.body.id_token)).iss, platform.issuer);
  });
});

describe('client-certificate headers through the edge: cleared or overwritten', () => {
  const encodedOf = (software: TestSoftware) => encodeURIComponent(certificateOf(software));
  const forgeries: Array<{ name: string; headers: () => HeaderLines }> = [
    {
      name: "another TPP's certificate with ssl-client-verify SUCCESS",
      headers: () => [
        ['ssl-client-cert', encodedOf(attacker)],
        ['ssl-client-verify', 'SUCCESS'],
        ['ssl-client-subject-dn', `CN=${attacker.softwareId}`],
      ],
    },
    {
      name: 'ssl-client-cert and ssl-client-verify each repeated',
      headers: () => [
        ['ssl-client-cert', encodedOf(attacker)],
        ['ssl-client-cert', 'garbage'],
        ['ssl-client-verify', 'SUCCESS'],
        ['ssl-client-verify', 'FAILED:forged'],
      ],
    },
    {
      name: 'ssl-client-verify FAILED and NONE from the client',
      headers: () => [
        ['ssl-client-verify', 'FAILED:unable to verify the first certificate'],
        ['ssl-client-verify', 'NONE'],
      ],
    },
    {
      name: "the underscore spelling ssl_client_cert with another TPP's certificate",
      headers: () => [
        ['ssl_client_cert', encodedOf(attacker)],
        ['ssl_client_verify', 'SUCCESS'],
      ],
    },
  ];

  for (const forgery of forgeries) {
    test(`mTLS host, ${forgery.name}: the token is bound to the certificate presented in TLS`, async () => {
      const answer = await viaEdge('/token', clientCredentials(tpp, await assertion(tpp)), forgery.headers());
      assert.equal(answer.status, 200, answer.text);
      assert.deepEqual((await introspect(String(answer.body.access_token))).cnf, {
        'x5t#S256': thumbprintOf(tpp.software),
      });
    });
  }

  test('mTLS host, an oversized ssl-client-cert (20 KiB) ends at the edge with 400', async () => {
    await refusedWithoutTrace(
      async () =>
        viaEdge('/token', clientCredentials(tpp, await assertion(tpp)), [['ssl-client-cert', 'A'.repeat(20 * 1024)]]),
      400,
      undefined,
    );
  });

  test('mTLS host without a client certificate, forged headers claiming one: 400 at the edge', async () => {
    await refusedWithoutTrace(
      async () =>
        postForm(
          mtls('/token'),
          clientCredentials(tpp, await assertion(tpp)),
          edgeCertificateHeaders(certificateOf(tpp.software)),
          publicAgent,
        ),
      400,
      undefined,
    );
  });

  const publicForgeries: Array<[string, () => HeaderLines]> = [
    [
      'a malformed certificate with ssl-client-verify SUCCESS',
      () => [
        ['ssl-client-cert', encodeURIComponent('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----')],
        ['ssl-client-verify', 'SUCCESS'],
      ],
    ],
    [
      'a certificate with ssl-client-verify FAILED',
      () => [
        ['ssl-client-cert', encodedOf(attacker)],
        ['ssl-client-verify', 'FAILED:unable to get local issuer certificate'],
      ],
    ],
    [
      'a certificate with ssl-client-verify NONE',
      () => [
        ['ssl-client-cert', encodedOf(attacker)],
        ['ssl-client-verify', 'NONE'],
      ],
    ],
    [
      'ssl-client-cert repeated, one of them garbage',
      () => [
        ['ssl-client-cert', 'not-a-certificate'],
        ['ssl-client-cert', encodedOf(attacker)],
        ['ssl-client-verify', 'SUCCESS'],
      ],
    ],
  ];
  for (const [name, headers] of publicForgeries) {
    test(`public host, ${name}: cleared by the edge (the same headers at the port: 401 invalid_client)`, async () => {
      const throughEdge = await getWith(`${platform.issuer}/.well-known/openid-configuration`, headers(), publicAgent);
      assert.equal(throughEdge.status, 200, throughEdge.text);
      assertRefused(await getWith(direct('/.well-known/openid-configuration'), headers()), 401, 'invalid_client');
    });
  }
});

describe("client-certificate headers at auth-server's own port (as a proxy would send them)", () => {
  const pem = () => certificateOf(tpp.software);
  const encoded = () => encodeURIComponent(pem());

  test('control: one verified certificate authenticates and binds the token', async () => {
    const answer = await viaPort('/token', clientCredentials(tpp, await assertion(tpp)));
    assert.equal(answer.status, 200, answer.text);
    assert.deepEqual((await introspect(String(answer.body.access_token))).cnf, {
      'x5t#S256': thumbprintOf(tpp.software),
    });
  });

  const cases: Array<{ name: string; headers: () => HeaderLines }> = [
    {
      name: 'ssl-client-cert repeated',
      headers: () => [
        ['ssl-client-cert', encoded()],
        ['ssl-client-cert', encoded()],
        ['ssl-client-verify', 'SUCCESS'],
      ],
    },
    {
      name: 'ssl-client-verify repeated',
      headers: () => [
        ['ssl-client-cert', encoded()],
        ['ssl-client-verify', 'SUCCESS'],
        ['ssl-client-verify', 'SUCCESS'],
      ],
    },
    {
      name: 'ssl-client-verify FAILED beside a certificate',
      headers: () => [
        ['ssl-client-cert', encoded()],
        ['ssl-client-verify', 'FAILED:certificate has expired'],
      ],
    },
    {
      name: 'ssl-client-verify NONE beside a certificate',
      headers: () => [
        ['ssl-client-cert', encoded()],
        ['ssl-client-verify', 'NONE'],
      ],
    },
    {
      name: 'ssl-client-verify in lower case',
      headers: () => [
        ['ssl-client-cert', encoded()],
        ['ssl-client-verify', 'success'],
      ],
    },
    {
      name: 'ssl-client-verify SUCCESS joined with a forged status on one line',
      headers: () => [
        ['ssl-client-cert', encoded()],
        ['ssl-client-verify', 'SUCCESS, FAILED:x'],
      ],
    },
    { name: 'a certificate without ssl-client-verify', headers: () => [['ssl-client-cert', encoded()]] },
    { name: 'ssl-client-verify SUCCESS without a certificate', headers: () => [['ssl-client-verify', 'SUCCESS']] },
    {
      name: 'a value that is not PEM',
      headers: () => [
        ['ssl-client-cert', 'MIIBkTCB%2B'],
        ['ssl-client-verify', 'SUCCESS'],
      ],
    },
    {
      name: 'two certificates (the chain) in one header',
      headers: () => [
        ['ssl-client-cert', encodeURIComponent(tpp.software.transport!.chainPem)],
        ['ssl-client-verify', 'SUCCESS'],
      ],
    },
    {
      name: 'a PEM block whose body is not X.509',
      headers: () => [
        ['ssl-client-cert', encodeURIComponent('-----BEGIN CERTIFICATE-----\nAAAAAAAA\n-----END CERTIFICATE-----')],
        ['ssl-client-verify', 'SUCCESS'],
      ],
    },
    {
      name: 'text after the certificate',
      headers: () => [
        ['ssl-client-cert', encodeURIComponent(`${pem()}\nssl-client-verify: SUCCESS`)],
        ['ssl-client-verify', 'SUCCESS'],
      ],
    },
    {
      name: 'broken URL encoding',
      headers: () => [
        ['ssl-client-cert', `${encoded().slice(0, 40)}%E0%A4%A`],
        ['ssl-client-verify', 'SUCCESS'],
      ],
    },
  ];

  for (const hostile of cases) {
    test(`${hostile.name}: 401 invalid_client`, async () => {
      await refusedWithoutTrace(
        async () => viaPort('/token', clientCredentials(tpp, await assertion(tpp)), hostile.headers()),
        401,
        'invalid_client',
      );
    });
  }

  test('an oversized ssl-client-cert (20 KiB): 431, before any parsing', async () => {
    await refusedWithoutTrace(
      async () =>
        viaPort('/token', clientCredentials(tpp, await assertion(tpp)), [
          ['ssl-client-cert', 'A'.repeat(20 * 1024)],
          ['ssl-client-verify', 'SUCCESS'],
        ]),
      431,
      undefined,
    );
  });
});

describe('races across replicas and requests', () => {
  let replica: ServiceProcess;
  before(async () => {
    replica = await platform.startReplica('auth-server');
  });

  test('the same client_assertion jti sent to two auth-server replicas at once: exactly one succeeds', async () => {
    const replicaUrl = `http://127.0.0.1:${replica.ports.http}`;
    for (let round = 0; round < 5; round += 1) {
      const before = await storedState(redis, prefix);
      const form = clientCredentials(tpp, await assertion(tpp));
      const answers = await Promise.all([viaPort('/token', form), viaPort('/token', form, undefined, replicaUrl)]);
      const statuses = answers.map((answer) => answer.status).sort();
      assert.deepEqual(statuses, [200, 401], `round ${round}: ${answers.map((answer) => answer.text).join(' | ')}`);
      assertRefused(
        answers.find((answer) => answer.status === 401)!,
        401,
        'invalid_client',
      );
      const added = newRecords(before, await storedState(redis, prefix));
      assert.equal(added.length, 1, `one token record: ${added.join(', ')}`);
    }
  });

  test('an authorization code redeemed twice at once: at most one wins, and no token of it stays live (RFC 6749 §4.1.2)', async (t) => {
    const grant = await authorize(tpp);
    const before = await storedState(redis, prefix);
    const answers = await Promise.all([
      codeExchange(tpp, grant).then((form) => viaEdge('/token', form)),
      codeExchange(tpp, grant).then((form) => viaEdge('/token', form)),
    ]);
    const shown = answers.map((answer) => `${answer.status} ${answer.text}`).join(' | ');
    const winners = answers.filter((answer) => answer.status === 200);
    // The code is consumed once (an atomic claim in Redis); the other request is a replay, which
    // revokes the grant. If the replay lands while the winner's tokens are being written, the
    // winner's write is refused too (adapter.redis.ts): both fail closed with invalid_grant.
    assert.ok(winners.length <= 1, shown);
    t.diagnostic(`requests that got tokens: ${winners.length} of 2`);
    for (const loser of answers.filter((answer) => answer.status !== 200)) assertRefused(loser, 400, 'invalid_grant');
    for (const winner of winners) {
      assert.deepEqual(await introspect(String(winner.body.access_token)), { active: false });
      assert.deepEqual(await introspect(String(winner.body.refresh_token)), { active: false });
    }
    assert.deepEqual(newRecords(before, await storedState(redis, prefix)), [], `no token record left: ${shown}`);
    await refusedWithoutTrace(async () => viaEdge('/token', await codeExchange(tpp, grant)), 400, 'invalid_grant');
  });

  test('an authorization code replayed after it was redeemed: the tokens already issued are revoked', async () => {
    const grant = await authorize(tpp);
    const won = await viaEdge('/token', await codeExchange(tpp, grant));
    assert.equal(won.status, 200, won.text);
    const { access_token: accessToken, refresh_token: refreshToken } = won.body;
    assert.equal((await introspect(String(accessToken))).active, true);
    await refusedWithoutTrace(async () => viaEdge('/token', await codeExchange(tpp, grant)), 400, 'invalid_grant');
    assert.deepEqual(await introspect(String(accessToken)), { active: false });
    assert.deepEqual(await introspect(String(refreshToken)), { active: false });
    const refresh = await viaEdge('/token', [
      ['grant_type', 'refresh_token'],
      ['refresh_token', String(refreshToken)],
      ...clientAuth(tpp, await assertion(tpp)),
    ]);
    assertRefused(refresh, 400, 'invalid_grant');
  });
});

describe('redirect_uri near-misses at PAR: 400 invalid_request, no request_uri', () => {
  // Registered: https://tpp.example.com/callback; FAPI 2.0 SP 5.3.2.2: exact string comparison.
  const nearMisses: Array<[string, string]> = [
    ['host in upper case', 'https://TPP.EXAMPLE.COM/callback'],
    ['path in another case', 'https://tpp.example.com/Callback'],
    ['trailing slash', 'https://tpp.example.com/callback/'],
    ['extra query', 'https://tpp.example.com/callback?next=https://evil.example'],
    ['fragment', 'https://tpp.example.com/callback#x'],
    ['userinfo', 'https://tpp.example.com@evil.example/callback'],
    ['userinfo on the registered host', 'https://attacker@tpp.example.com/callback'],
    ['encoded traversal', 'https://tpp.example.com/callback/%2e%2e/%2e%2e/evil'],
    ['different port', 'https://tpp.example.com:8443/callback'],
    ['explicit default port', 'https://tpp.example.com:443/callback'],
    ['http instead of https', 'http://tpp.example.com/callback'],
  ];

  for (const [name, redirectUri] of nearMisses) {
    test(`redirect_uri: ${name}`, async () => {
      assert.equal(tpp.software.redirectUris[0], 'https://tpp.example.com/callback');
      await refusedWithoutTrace(
        async () => viaEdge('/par', await parForm(tpp, { redirect_uri: redirectUri })),
        400,
        'invalid_request',
      );
    });
  }
});

describe('PKCE (RFC 7636, FAPI 2.0 SP 5.3.2.2: S256 only)', () => {
  const parCases: Array<[string, Record<string, string | undefined>]> = [
    ['code_challenge_method plain', { code_challenge_method: 'plain', code_challenge: 'a'.repeat(43) }],
    ['no code_challenge', { code_challenge: undefined, code_challenge_method: undefined }],
    ['code_challenge_method S512', { code_challenge_method: 'S512' }],
  ];
  for (const [name, override] of parCases) {
    test(`PAR with ${name}: 400 invalid_request`, async () => {
      await refusedWithoutTrace(async () => viaEdge('/par', await parForm(tpp, override)), 400, 'invalid_request');
    });
  }

  describe('one code, attacked at the token endpoint, then redeemed by the legitimate request', () => {
    let grant: Redeem;
    before(async () => {
      grant = await authorize(tpp);
    });

    const tokenCases: Array<[string, Record<string, string>, string]> = [
      ['code_verifier of 42 characters (< 43)', { code_verifier: 'a'.repeat(42) }, 'invalid_request'],
      ['code_verifier of 129 characters (> 128)', { code_verifier: 'a'.repeat(129) }, 'invalid_request'],
      [
        'code_verifier with characters outside the unreserved set',
        { code_verifier: `${'a'.repeat(40)}+/=%` },
        'invalid_request',
      ],
      ['the wrong code_verifier', { code_verifier: oidc.randomPKCECodeVerifier() }, 'invalid_grant'],
      ['the code_challenge itself as verifier (plain)', {}, 'invalid_grant'],
      ['no code_verifier', { code_verifier: '' }, 'invalid_grant'],
      ['another redirect_uri', { redirect_uri: 'https://tpp.example.com/callback/' }, 'invalid_grant'],
    ];
    for (const [name, override, error] of tokenCases) {
      test(`token request with ${name}: 400 ${error}`, async () => {
        const fields = name.includes('plain')
          ? { code_verifier: await oidc.calculatePKCECodeChallenge(grant.verifier) }
          : override;
        await refusedWithoutTrace(async () => viaEdge('/token', await codeExchange(tpp, grant, fields)), 400, error);
      });
    }

    const repeats: Array<[string, (form: Array<[string, string]>) => Array<[string, string]>]> = [
      ['code', (form) => [...form, ['code', 'another-code']]],
      ['grant_type', (form) => [...form, ['grant_type', 'client_credentials']]],
      ['code_verifier', (form) => [...form, ['code_verifier', oidc.randomPKCECodeVerifier()]]],
      [
        'client_assertion',
        (form) => [...form, ['client_assertion', form.find(([name]) => name === 'client_assertion')![1]]],
      ],
    ];
    for (const [parameter, repeat] of repeats) {
      test(`token request with ${parameter} repeated: 400 invalid_request`, async () => {
        await refusedWithoutTrace(
          async () => viaEdge('/token', repeat(await codeExchange(tpp, grant))),
          400,
          'invalid_request',
        );
      });
    }

    test('the legitimate request still redeems the code afterwards', async () => {
      const answer = await viaEdge('/token', await codeExchange(tpp, grant));
      assert.equal(answer.status, 200, answer.text);
      assert.equal((await introspect(String(answer.body.access_token))).active, true);
    });
  });
});

describe('repeated parameters at PAR: 400 invalid_request, no request_uri', () => {
  const repeats: Array<[string, (form: Array<[string, string]>) => Array<[string, string]>]> = [
    ['client_id (another client)', (form) => [...form, ['client_id', dpopTpp.clientId]]],
    ['client_id (the same value)', (form) => [...form, ['client_id', tpp.clientId]]],
    ['redirect_uri', (form) => [...form, ['redirect_uri', `https://${EVIL}/callback`]]],
    ['scope', (form) => [...form, ['scope', 'openid payments']]],
    ['code_challenge', (form) => [...form, ['code_challenge', 'b'.repeat(43)]]],
    ['response_type', (form) => [...form, ['response_type', 'code id_token']]],
  ];
  for (const [parameter, repeat] of repeats) {
    test(`PAR with ${parameter} repeated`, async () => {
      await refusedWithoutTrace(async () => viaEdge('/par', repeat(await parForm(tpp))), 400, 'invalid_request');
    });
  }
});

test('auth-server logged no error for any of the cases above (no 5xx, no engine server_error)', () => {
  const errors = platform
    .service('auth-server')
    .output()
    .split('\n')
    .filter((line) => /"level":"(error|fatal)"/.test(line));
  assert.deepEqual(errors, []);
});
