// Hostile input at dcr-service's registration API (OBIE DCR 3.3, RFC 7591/7592), every case a
// real request to a real process and each asserting the status and RFC 7591 error code, no 5xx,
// no credential issued and the service's database unchanged (every collection counted):
//
// - SSRF: the only URL dcr-service fetches for a TPP is the software statement's
//   `software_jwks_endpoint` (the SSA is signed by a trusted directory, so a hostile value enters
//   only through a directory that signs it; the request's own `jwks_uri` must equal it and is
//   never fetched). With DCR_ALLOW_PRIVATE_JWKS_URIS=false (a dcr-service of its own, called as
//   the edge calls it) loopback, link-local, RFC 1918, ULA and IPv4-mapped addresses and names
//   that resolve to loopback are refused without a connection (a trap server counts them); with
//   the platform's sandbox setting (true) the same loopback key set is fetched and registers;
// - MongoDB operator objects in request claims and in the client id of /register/{id};
// - malformed requests: not a JWS, alg none, HS256, embedded keys, SSAs signed by an unknown
//   key, too old, from an untrusted issuer, another bank's aud, replayed requests and software
//   statements, oversized and deeply nested bodies, wrong content types;
// - RFC 7592 management with another client's registration access token.
import assert from 'node:assert/strict';
import { createHmac, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  attachServerLogsOnFailure,
  freePort,
  generateSigningKey,
  serviceMongoEnv,
  startJwksServer,
  startServiceProcess,
  testMongoUrl,
  testRedisPrefix,
  testRedisUrl,
  type IssueSsaOptions,
  type JwksServer,
  type MintRequestOptions,
  type ServiceProcess,
  type TestSoftware,
} from '@obip/testing';
import { BANK, platformLogSources, startPlatform, type Platform } from '../platform/platform';
import { assertCleanRefusal, databaseSnapshot, send, storedDocument, type Reply } from './services.harness';

const NAME = 'hostile_dcr';
const STRICT_DB = 'hostile_dcr_strict';

let platform: Platform;
/** A dcr-service with DCR_ALLOW_PRIVATE_JWKS_URIS=false (production's default). */
let strict: ServiceProcess;
/** A key server on loopback: SSRF targets point at it, and it counts every request it gets. */
let trap: JwksServer;
let stateDir: string;

attachServerLogsOnFailure({
  sources: [platformLogSources(() => platform), { name: 'strict dcr-service', logs: () => strict?.output() ?? '' }],
});

before(async () => {
  [platform, trap] = await Promise.all([startPlatform({ name: NAME }), startJwksServer()]);
  stateDir = mkdtempSync(join(tmpdir(), 'obip-hostile-dcr-'));
  const caFile = join(stateDir, 'ca.pem');
  writeFileSync(caFile, platform.pki.caBundlePem);
  strict = await startServiceProcess({
    entry: 'services/dcr-service/src/main.ts',
    env: {
      ...serviceMongoEnv(testMongoUrl(STRICT_DB)),
      REDIS_URL: testRedisUrl(),
      REDIS_KEY_PREFIX: testRedisPrefix(STRICT_DB),
      HTTP_PORT: String(await freePort()),
      GRPC_PORT: String(await freePort()),
      OPS_PORT: '0',
      DCR_TRUSTED_DIRECTORIES: JSON.stringify([platform.directory.trustEntry]),
      DCR_ACCEPTED_AUDIENCES: BANK,
      DCR_TRUSTED_CA_FILE: caFile,
      DCR_ALLOW_PRIVATE_JWKS_URIS: 'false',
      DCR_REGISTRATION_BASE_URL: `${platform.twin.mtlsUrl}/register`,
      TOKENS_GRPC_TARGET: platform.grpcAddress('auth-server'),
    },
    // Started while the platform's own services may still be warming up on a loaded machine.
    timeoutMs: 90_000,
  });
});
after(async () => {
  strict?.kill();
  await strict?.exited;
  await Promise.all([platform?.stop(), trap?.stop()]);
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

// ---- calls ----

/** `/register[/{clientId}]` through the edge's mTLS host, presenting the software's certificate. */
function viaEdge(
  software: TestSoftware,
  method: string,
  options: { path?: string; token?: string; body?: string | Buffer; contentType?: string } = {},
): Promise<Reply> {
  return send(`${platform.twin.mtlsUrl}/register${options.path ?? ''}`, {
    method,
    headers: {
      accept: 'application/json',
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...(options.body === undefined ? {} : { 'content-type': options.contentType ?? 'application/jose' }),
    },
    ...(options.body === undefined ? {} : { body: options.body }),
    dispatcher: platform.tppAgent(software),
  });
}

/** POST /register at the strict dcr-service, with the certificate headers the edge would set (ingress-nginx format). */
function viaStrict(software: TestSoftware, jws: string): Promise<Reply> {
  return send(`http://127.0.0.1:${strict.ports.http}/register`, {
    method: 'POST',
    headers: {
      accept: 'application/json',
      'content-type': 'application/jose',
      'ssl-client-cert': encodeURIComponent(software.transport!.certPem),
      'ssl-client-verify': 'SUCCESS',
    },
    body: jws,
  });
}

/** A registration request (OBIE conformance metadata) with a software statement from the platform's directory. */
function mint(
  software: TestSoftware,
  options: Partial<Omit<MintRequestOptions, 'ssa'>> & { ssa?: IssueSsaOptions } = {},
): string {
  const { ssa, ...request } = options;
  return platform.directory.mintRegistrationRequest(software, {
    ssa: platform.directory.issueSsa(software, ssa),
    aud: BANK,
    ...request,
  });
}

/** A registered client of a new software, with its RFC 7592 registration access token. */
async function registered(): Promise<{ software: TestSoftware; clientId: string; token: string }> {
  const software = await platform.directory.registerSoftware();
  const reply = await viaEdge(software, 'POST', { body: mint(software) });
  assert.equal(reply.status, 201, reply.text);
  return { software, clientId: String(reply.body!.client_id), token: String(reply.body!.registration_access_token) };
}

/** RFC 7591 §3.2.2: 400 (or the given status) with the error code, no client and no credential in the body. */
function assertRegistrationError(reply: Reply, status: number, error: string, rule?: RegExp): void {
  assertCleanRefusal(reply, error);
  assert.equal(reply.status, status, reply.text);
  assert.equal(reply.body?.error, error, reply.text);
  if (rule) assert.match(String(reply.body?.error_description), rule);
  assert.equal(reply.body?.client_id, undefined, 'no client_id issued');
  assert.equal(reply.body?.registration_access_token, undefined, 'no registration access token issued');
}

/**
 * Runs `act` and asserts that the database (`dcr` of the platform, or the strict service's) is as
 * it was, but for the documents `added` names (e.g. the audit entry of a revoked token).
 */
async function unchanged<T>(
  where: 'platform' | 'strict',
  act: () => Promise<T>,
  added: Record<string, number> = {},
): Promise<T> {
  const snapshot = () =>
    where === 'platform' ? databaseSnapshot(NAME, 'dcr') : databaseSnapshot('', 'dcr', testMongoUrl(STRICT_DB));
  const before = await snapshot();
  const result = await act();
  const expected = { ...before };
  for (const [collection, count] of Object.entries(added)) expected[collection] = (expected[collection] ?? 0) + count;
  assert.deepEqual(await snapshot(), expected, 'the database is unchanged');
  return result;
}

// ---- SSRF ----

describe('SSRF through software_jwks_endpoint, DCR_ALLOW_PRIVATE_JWKS_URIS=false: refused before any connection', () => {
  const REFUSED =
    /^rule 2 request signature: the key set could not be fetched: private, loopback and link-local addresses are refused$/;
  const targets: Array<{ name: string; url: (port: number) => string; rule?: RegExp }> = [
    { name: 'loopback 127.0.0.1', url: (port) => `https://127.0.0.1:${port}/ssrf/jwks` },
    { name: 'loopback [::1]', url: (port) => `https://[::1]:${port}/ssrf/jwks` },
    { name: 'link-local 169.254.169.254 (cloud metadata)', url: () => 'https://169.254.169.254/latest/meta-data/' },
    { name: 'private 10.0.0.0/8', url: () => 'https://10.20.30.40/jwks' },
    { name: 'private 172.16.0.0/12', url: () => 'https://172.31.255.1/jwks' },
    { name: 'private 192.168.0.0/16', url: () => 'https://192.168.1.10/jwks' },
    { name: 'IPv6 ULA fc00::/7', url: () => 'https://[fd12:3456:789a::1]/jwks' },
    { name: 'IPv4-mapped IPv6 loopback', url: (port) => `https://[::ffff:127.0.0.1]:${port}/ssrf/jwks` },
    { name: 'IPv4-mapped IPv6 metadata address', url: () => 'https://[::ffff:169.254.169.254]/latest/meta-data/' },
    { name: 'a decimal IPv4 literal for loopback', url: (port) => `https://2130706433:${port}/ssrf/jwks` },
    { name: 'the name localhost (resolves to loopback)', url: (port) => `https://localhost:${port}/ssrf/jwks` },
    {
      name: 'plain http on loopback',
      url: (port) => `http://127.0.0.1:${port}/ssrf/jwks`,
      rule: /^rule 2 request signature: the key set could not be fetched: the URL must use https$/,
    },
  ];
  for (const { name, url, rule } of targets) {
    test(`refuses ${name} signed into a trusted software statement: 400 invalid_client_metadata, no request made`, async () => {
      const software = await platform.directory.registerSoftware();
      const path = '/ssrf/jwks';
      trap.publish(path, { keys: [{ ...software.signingKey.publicJwk }] });
      const hitsBefore = trap.hits(path);
      const target = url(trap.port);
      const reply = await unchanged('strict', () =>
        viaStrict(software, mint(software, { ssa: { claims: { software_jwks_endpoint: target } } })),
      );
      assertRegistrationError(reply, 400, 'invalid_client_metadata', rule ?? REFUSED);
      assert.equal(trap.hits(path), hitsBefore, 'the target was never contacted');
    });
  }

  test("the trusted directory's own (loopback) key set named as the software's: refused, though already fetched as trusted", async () => {
    // The directory's key set is fetched (as trusted) to verify every software statement; naming
    // the same URL as a TPP key set must not reuse that fetch past the private-address rule.
    const software = await platform.directory.registerSoftware();
    const reply = await unchanged('strict', () =>
      viaStrict(
        software,
        mint(software, {
          key: platform.directory.signingKey,
          ssa: { claims: { software_jwks_endpoint: platform.directory.jwksUri } },
        }),
      ),
    );
    assertRegistrationError(
      reply,
      400,
      'invalid_client_metadata',
      /^rule 2 request signature: the key set could not be fetched: the URL must use https$/,
    );
  });

  test('the same software with a public https key set URL is refused only for that reason (control)', async () => {
    // An https URL on a public address that cannot answer here: the refusal is a fetch failure,
    // not the private-address rule, so the rule above is what refused the cases before.
    const software = await platform.directory.registerSoftware();
    const reply = await unchanged('strict', () =>
      viaStrict(software, mint(software, { ssa: { claims: { software_jwks_endpoint: 'https://192.0.2.1:9/jwks' } } })),
    );
    assert.ok(reply.status === 400 || reply.status === 503, reply.text);
    assert.doesNotMatch(String(reply.body?.error_description), /private, loopback and link-local/);
  });
});

describe('SSRF with the sandbox setting DCR_ALLOW_PRIVATE_JWKS_URIS=true: loopback key sets are fetched', () => {
  for (const host of ['127.0.0.1', 'localhost']) {
    test(`a software_jwks_endpoint on ${host} registers (201) and was fetched`, async () => {
      const software = await platform.directory.registerSoftware();
      const path = `/allowed/${software.softwareId}/jwks`;
      trap.publish(path, { keys: [{ ...software.signingKey.publicJwk }] });
      const endpoint = `http://${host}:${trap.port}${path}`;
      const reply = await viaEdge(software, 'POST', {
        body: mint(software, { ssa: { claims: { software_jwks_endpoint: endpoint } } }),
      });
      assert.equal(reply.status, 201, reply.text);
      assert.equal(reply.body!.jwks_uri, endpoint);
      assert.ok(trap.hits(path) >= 1, 'the key set was fetched');
    });
  }
});

describe("the request's own jwks_uri or jwks: never fetched, refused", () => {
  for (const where of ['platform', 'strict'] as const) {
    test(`${where}: a jwks_uri on loopback other than the SSA's is refused (rule 9), not fetched`, async () => {
      const software = await platform.directory.registerSoftware();
      const path = `/request-jwks/${software.softwareId}`;
      const jwksUri = trap.publish(path, { keys: [{ ...software.signingKey.publicJwk }] });
      const jws = mint(software, { claims: { jwks_uri: jwksUri.replace('http:', 'https:') } });
      // On the strict service the SSA's own key set (the directory's, on loopback) is refused
      // first (rule 2 runs before rule 9): no URL the client sent is looked at either way.
      const reply = await unchanged(where, () =>
        where === 'platform' ? viaEdge(software, 'POST', { body: jws }) : viaStrict(software, jws),
      );
      assertRegistrationError(
        reply,
        400,
        'invalid_client_metadata',
        where === 'platform'
          ? /^rule 9 jwks_uri: jwks_uri must be the software statement software_jwks_endpoint$/
          : /^rule 2 request signature: the key set could not be fetched: /,
      );
      assert.equal(trap.hits(path), 0, 'the jwks_uri was never contacted');
    });
  }

  test('an inline jwks with the attacker key is refused (rule 9)', async () => {
    const software = await platform.directory.registerSoftware();
    const attacker = await generateSigningKey('PS256');
    const reply = await unchanged('platform', () =>
      viaEdge(software, 'POST', { body: mint(software, { claims: { jwks: { keys: [attacker.publicJwk] } } }) }),
    );
    assertRegistrationError(reply, 400, 'invalid_client_metadata', /^rule 9 jwks: inline jwks is not accepted/);
  });
});

// ---- operator injection ----

describe('MongoDB operator objects in registration input', () => {
  const claimCases: Array<{ name: string; claims: Record<string, unknown>; error: string; rule: RegExp }> = [
    {
      name: 'scope {"$gt": ""}',
      claims: { scope: { $gt: '' } },
      error: 'invalid_client_metadata',
      rule: /^rule 7 scope: scope is required/,
    },
    {
      name: 'redirect_uris [{"$ne": null}]',
      claims: { redirect_uris: [{ $ne: null }] },
      error: 'invalid_redirect_uri',
      rule: /^rule 5 redirect_uris: redirect_uris must be a non-empty array of strings$/,
    },
    {
      name: 'software_id {"$ne": null}',
      claims: { software_id: { $ne: null } },
      error: 'invalid_software_statement',
      rule: /^rule 4 software_id: software_id does not match the software statement$/,
    },
    {
      name: 'token_endpoint_auth_method {"$in": [...]}',
      claims: { token_endpoint_auth_method: { $in: ['private_key_jwt'] } },
      error: 'invalid_client_metadata',
      rule: /^rule 6 token_endpoint_auth_method:/,
    },
  ];
  for (const { name, claims, error, rule } of claimCases) {
    test(`POST /register with ${name}: 400 ${error}`, async () => {
      const software = await platform.directory.registerSoftware();
      const reply = await unchanged('platform', () => viaEdge(software, 'POST', { body: mint(software, { claims }) }));
      assertRegistrationError(reply, 400, error, rule);
    });
  }

  test('PUT /register/{id} with client_id {"$ne": null}: 400 invalid_client_metadata, the client unchanged', async () => {
    const { software, clientId, token } = await registered();
    const stored = await storedDocument(NAME, 'dcr', 'clients', clientId);
    assert.ok(stored, 'the client is stored under its id');
    const reply = await unchanged('platform', () =>
      viaEdge(software, 'PUT', {
        path: `/${clientId}`,
        token,
        body: mint(software, { claims: { client_id: { $ne: null }, scope: 'openid accounts payments' } }),
      }),
    );
    assertRegistrationError(
      reply,
      400,
      'invalid_client_metadata',
      /^update immutable claims: client_id cannot change$/,
    );
    assert.deepEqual(await storedDocument(NAME, 'dcr', 'clients', clientId), stored, 'the stored client is unchanged');
  });

  test('PUT /register/{id} with scope {"$set": …}: 400, the client unchanged', async () => {
    const { software, clientId, token } = await registered();
    const stored = await storedDocument(NAME, 'dcr', 'clients', clientId);
    const reply = await unchanged('platform', () =>
      viaEdge(software, 'PUT', {
        path: `/${clientId}`,
        token,
        body: mint(software, { claims: { scope: { $set: { status: 'active', scope: 'payments' } } } }),
      }),
    );
    assertRegistrationError(reply, 400, 'invalid_client_metadata', /^rule 7 scope:/);
    assert.deepEqual(await storedDocument(NAME, 'dcr', 'clients', clientId), stored);
  });

  for (const [name, path] of [
    ['a client id {"$ne":null} in the path', `/${encodeURIComponent('{"$ne":null}')}`],
    ['a client id [$ne]=x query on a real id', '/CLIENT?client_id[$ne]=x&clientId[$gt]='],
  ] as const) {
    test(`GET /register with ${name}: 401 invalid_token, nothing read`, async () => {
      const { software, clientId, token } = await registered();
      // Another client's registration access token, so that only an injection could match.
      const other = await registered();
      const stored = await storedDocument(NAME, 'dcr', 'clients', clientId);
      // The one write: RFC 7592, the presented token is revoked (and audited) as used for another client.
      const reply = await unchanged(
        'platform',
        () => viaEdge(software, 'GET', { path: path.replace('CLIENT', clientId), token: other.token }),
        { client_audit: 1 },
      );
      assertCleanRefusal(reply, name);
      assert.equal(reply.status, 401, reply.text);
      assert.equal(reply.body?.error, 'invalid_token');
      assert.equal(reply.body?.client_id, undefined, 'no registration disclosed');
      assert.deepEqual(await storedDocument(NAME, 'dcr', 'clients', clientId), stored, 'the client is unchanged');
      assert.equal(
        (await viaEdge(other.software, 'GET', { path: `/${other.clientId}`, token: other.token })).status,
        401,
        'the presented token was revoked',
      );
      // The owner's own token still reads its client: nothing was revoked for it.
      assert.equal((await viaEdge(software, 'GET', { path: `/${clientId}`, token })).status, 200);
    });
  }
});

// ---- malformed requests ----

describe('malformed registration requests: 4xx with the RFC 7591 code, no client created', () => {
  const now = () => Math.floor(Date.now() / 1000);
  const cases: Array<{
    name: string;
    body: (software: TestSoftware) => Promise<string> | string;
    contentType?: string;
    status?: number;
    error: string;
    rule?: RegExp;
  }> = [
    {
      name: 'a body that is not a JWS',
      body: () => 'this is not a JWS',
      error: 'invalid_client_metadata',
      rule: /^rule 2 request JWS: the request is not a readable compact JWS$/,
    },
    {
      name: 'a request with alg none',
      body: (software) => mint(software, { alg: 'none' }),
      error: 'invalid_client_metadata',
      rule: /^rule 2 request JWS: alg ["']none["'] is not allowed/,
    },
    {
      name: 'a request with HS256 (keyed with the public key, the classic confusion)',
      body: (software) => {
        const claims = JSON.parse(Buffer.from(mint(software).split('.')[1]!, 'base64url').toString()) as object;
        const input = `${b64({ alg: 'HS256', typ: 'JWT', kid: software.signingKey.kid })}.${b64(claims)}`;
        const mac = createHmac('sha256', JSON.stringify(software.signingKey.publicJwk)).update(input).digest();
        return `${input}.${mac.toString('base64url')}`;
      },
      error: 'invalid_client_metadata',
      rule: /^rule 2 request JWS: alg ["']HS256["'] is not allowed/,
    },
    {
      name: 'a request carrying its own key in a jwk header',
      body: async (software) => {
        const attacker = await generateSigningKey('PS256');
        return mint(software, { key: attacker, header: { jwk: attacker.publicJwk } });
      },
      error: 'invalid_client_metadata',
      rule: /^rule 2 request JWS: the jwk header is not allowed/,
    },
    {
      name: 'a request signed by another key than the software statement names',
      body: async (software) => mint(software, { key: await generateSigningKey('PS256') }),
      error: 'invalid_client_metadata',
      rule: /^rule 2 request signature:/,
    },
    {
      name: 'a request addressed (aud) to another bank',
      body: (software) => mint(software, { aud: '0015800001ZZZZZAAX' }),
      error: 'invalid_client_metadata',
      rule: /^rule 3 aud: aud does not identify this bank$/,
    },
    {
      name: 'a software statement signed by an unknown key under the trusted issuer',
      body: async (software) => mint(software, { ssa: { key: await generateSigningKey('PS256') } }),
      error: 'invalid_software_statement',
      rule: /^rule 4 SSA signature:/,
    },
    {
      name: 'a software statement with alg none',
      body: (software) => mint(software, { ssa: { alg: 'none' } }),
      error: 'invalid_software_statement',
      rule: /^rule 4 SSA signature: alg ["']none["'] is not allowed/,
    },
    {
      name: 'a software statement issued two hours ago (past the acceptance window)',
      body: (software) => mint(software, { ssa: { claims: { iat: now() - 7_200 } } }),
      error: 'invalid_software_statement',
      rule: /^rule 4 SSA iat: the software statement is older than/,
    },
    {
      name: 'a software statement from an untrusted issuer',
      body: async (software) =>
        mint(software, { ssa: { key: await generateSigningKey('PS256'), claims: { iss: 'Evil Directory' } } }),
      error: 'unapproved_software_statement',
      rule: /^rule 4 issuer: the software statement issuer ["']Evil Directory["'] is not trusted$/,
    },
    {
      name: 'a software statement that is not a JWT',
      body: (software) => mint(software, { claims: { software_statement: 'not-a-jwt' } }),
      error: 'invalid_software_statement',
      rule: /^rule 4 software_statement: the software statement is not a readable JWT$/,
    },
    {
      name: 'a software statement that is an operator object',
      body: (software) => mint(software, { claims: { software_statement: { $ne: null } } }),
      error: 'invalid_software_statement',
      rule: /^rule 4 software_statement: software_statement is required$/,
    },
    {
      name: 'contacts nested 2 000 levels deep (within the 64 KiB body limit)',
      body: (software) => {
        let nested: unknown = 'tech@tpp.example.com';
        for (let depth = 0; depth < 2_000; depth += 1) nested = [nested];
        return mint(software, { claims: { contacts: nested } });
      },
      error: 'invalid_client_metadata',
      rule: /^rule 7 contacts:/,
    },
    {
      name: 'a 70 KiB body',
      body: (software) => mint(software, { claims: { client_uri: `https://tpp.example.com/${'a'.repeat(70_000)}` } }),
      status: 413,
      error: 'invalid_request',
    },
    {
      name: 'Content-Type text/plain',
      body: (software) => mint(software),
      contentType: 'text/plain',
      status: 415,
      error: 'invalid_request',
    },
    {
      name: 'Content-Type application/json (RFC 7591 JSON is off: OBIE requires a JWS)',
      body: () => JSON.stringify({ software_statement: { $ne: null }, redirect_uris: { $gt: '' } }),
      contentType: 'application/json',
      status: 415,
      error: 'invalid_request',
    },
  ];
  for (const { name, body, contentType, status, error, rule } of cases) {
    test(`refuses ${name}`, async () => {
      const software = await platform.directory.registerSoftware();
      const payload = await body(software);
      const reply = await unchanged('platform', () =>
        viaEdge(software, 'POST', { body: payload, ...(contentType ? { contentType } : {}) }),
      );
      assertRegistrationError(reply, status ?? 400, error, rule);
    });
  }

  test('the same request sent twice: the second is refused (its software statement was used), one client', async () => {
    const software = await platform.directory.registerSoftware();
    const jws = mint(software);
    const first = await viaEdge(software, 'POST', { body: jws });
    assert.equal(first.status, 201, first.text);
    const replay = await unchanged('platform', () => viaEdge(software, 'POST', { body: jws }));
    assertRegistrationError(
      replay,
      400,
      'invalid_software_statement',
      /^rule 4 SSA jti: the software statement was already used$/,
    );
  });

  test('a request jti used again with a fresh software statement is refused as a replay', async () => {
    const software = await platform.directory.registerSoftware();
    const jti = randomUUID();
    assert.equal((await viaEdge(software, 'POST', { body: mint(software, { claims: { jti } }) })).status, 201);
    const replay = await unchanged('platform', () =>
      viaEdge(software, 'POST', { body: mint(software, { claims: { jti } }) }),
    );
    assertRegistrationError(
      replay,
      400,
      'invalid_client_metadata',
      /^rule 3 jti: this jti was already used \(replay\)$/,
    );
  });

  test('a software statement used again in a new request is refused (DCR_SSA_REPLAY_CHECK)', async () => {
    const software = await platform.directory.registerSoftware();
    const ssa = platform.directory.issueSsa(software);
    const request = () =>
      platform.directory.mintRegistrationRequest(software, { ssa, aud: BANK, claims: { jti: randomUUID() } });
    assert.equal((await viaEdge(software, 'POST', { body: request() })).status, 201);
    const again = await unchanged('platform', () => viaEdge(software, 'POST', { body: request() }));
    assertRegistrationError(
      again,
      400,
      'invalid_software_statement',
      /^rule 4 SSA jti: the software statement was already used$/,
    );
  });

  test('a request without a client certificate (straight to the service, no edge header) is 401 invalid_client', async () => {
    const software = await platform.directory.registerSoftware();
    const reply = await unchanged('strict', () =>
      send(`http://127.0.0.1:${strict.ports.http}/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/jose', accept: 'application/json' },
        body: mint(software),
      }),
    );
    assertRegistrationError(reply, 401, 'invalid_client', /^rule 1 client certificate:/);
  });
});

// ---- RFC 7592 management with another client's credential ----

describe("another client's registration access token on /register/{id}", () => {
  for (const method of ['GET', 'PUT', 'DELETE'] as const) {
    test(`${method}: 401 invalid_token, the target untouched, the presented token revoked`, async () => {
      const victim = await registered();
      const attacker = await registered();
      const stored = await storedDocument(NAME, 'dcr', 'clients', victim.clientId);
      const reply = await viaEdge(attacker.software, method, {
        path: `/${victim.clientId}`,
        token: attacker.token,
        ...(method === 'PUT'
          ? { body: mint(attacker.software, { claims: { scope: 'openid accounts payments' } }) }
          : {}),
      });
      assertCleanRefusal(reply, method);
      assert.equal(reply.status, 401, reply.text);
      assert.equal(reply.body?.error, 'invalid_token');
      assert.match(reply.headers.get('www-authenticate') ?? '', /^Bearer error="invalid_token"/);
      assert.equal(reply.body?.client_id, undefined);
      const after = await storedDocument(NAME, 'dcr', 'clients', victim.clientId);
      assert.deepEqual(after, stored, "the victim's registration is unchanged");
      // RFC 7592 / OBIE DCR: a token presented for another client is revoked.
      const own = await viaEdge(attacker.software, 'GET', { path: `/${attacker.clientId}`, token: attacker.token });
      assert.equal(own.status, 401, "the attacker's token no longer works");
      assert.equal(
        (await viaEdge(victim.software, 'GET', { path: `/${victim.clientId}`, token: victim.token })).status,
        200,
        "the victim's token still works",
      );
    });
  }
});

function b64(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}
