// Discovery and JWKS served from a copy per engine (provider.documents.ts): first on real
// node-oidc-provider instances swapped as live.engine.ts swaps them, then through the ingress twin
// with a signing key rotation.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { JWK } from 'jose';
import Provider from 'oidc-provider';
import { Agent, fetch as undiciFetch } from 'undici';
import { createHttpApp } from '@obip/http';
import { createLogger } from '@obip/observability';
import { attachServerLogsOnFailure } from '@obip/testing';
import { generateSigningJwk } from '../keys/keys.signing';
import { startHarness, type Harness } from '../testing/auth-server.harness';
import { ENGINE_DOCUMENT_MAX_AGE_SECONDS, matchesIfNoneMatch } from './provider.documents';
import { engineHandler } from './provider.http';

const PUBLIC_ORIGIN = 'https://auth.bank.example';
const MTLS_ORIGIN = 'https://mtls.auth.bank.example';
const CACHE_CONTROL = `public, max-age=${ENGINE_DOCUMENT_MAX_AGE_SECONDS}`;

/** An engine with its own keys that counts the requests it handles itself. */
async function countingEngine(scopes: string[] = ['openid']) {
  const keys = [await generateSigningJwk('ES256')];
  const provider = new Provider(PUBLIC_ORIGIN, {
    jwks: { keys },
    scopes,
    features: { devInteractions: { enabled: false } },
  });
  provider.proxy = true;
  const engine = { provider, kids: keys.map((key) => key.kid), requests: 0 };
  provider.use(async (_ctx, next) => {
    engine.requests += 1;
    await next();
  });
  return engine;
}

describe('discovery and JWKS kept per engine', () => {
  let server: Server;
  let base: string;
  let current: Awaited<ReturnType<typeof countingEngine>>;

  before(async () => {
    current = await countingEngine();
    const app = createHttpApp({ logger: createLogger({ service: 'test', level: 'silent' }) });
    app.use(engineHandler(() => current.provider, { publicOrigin: PUBLIC_ORIGIN, mtlsOrigin: MTLS_ORIGIN }));
    server = createServer(app).listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  const get = (path: string, headers: Record<string, string> = {}, method = 'GET') =>
    fetch(`${base}${path}`, { method, headers });

  /** The headers a client or cache acts on, to compare the engine's answer with the kept copy's. */
  const headersOf = (response: Response) =>
    Object.fromEntries(
      ['content-type', 'content-length', 'cache-control', 'etag', 'vary', 'access-control-allow-origin'].map((name) => [
        name,
        response.headers.get(name),
      ]),
    );

  test('the engine renders discovery once; later requests get the same bytes and headers, cacheable with a strong ETag', async () => {
    const first = await get('/.well-known/openid-configuration');
    const firstBody = await first.text();
    assert.equal(first.status, 200);
    assert.equal(current.requests, 1);
    assert.equal(first.headers.get('cache-control'), CACHE_CONTROL);
    assert.match(first.headers.get('etag') ?? '', /^"[A-Za-z0-9_-]{43}"$/);
    const metadata = JSON.parse(firstBody) as Record<string, unknown>;
    assert.equal(metadata.issuer, PUBLIC_ORIGIN);
    assert.equal(metadata.jwks_uri, `${PUBLIC_ORIGIN}/jwks`);

    const second = await get('/.well-known/openid-configuration?ignored=1');
    assert.equal(await second.text(), firstBody);
    assert.deepEqual(headersOf(second), headersOf(first));
    // RFC 8414 metadata: the same document, from the same copy.
    const oauth = await get('/.well-known/oauth-authorization-server');
    assert.equal(await oauth.text(), firstBody);
    assert.equal(oauth.headers.get('etag'), first.headers.get('etag'));
    assert.equal(current.requests, 1, 'the engine was not asked again');
  });

  test('JWKS keeps the engine’s media type and answers CORS as the engine does', async () => {
    const first = await get('/jwks', { origin: 'https://tpp.example' });
    const body = await first.text();
    const second = await get('/jwks', { origin: 'https://other-tpp.example' });
    assert.equal(await second.text(), body);
    assert.equal(second.headers.get('content-type'), 'application/jwk-set+json; charset=utf-8');
    assert.equal(second.headers.get('access-control-allow-origin'), 'https://other-tpp.example');
    assert.equal(second.headers.get('vary'), 'Origin');
    assert.equal((await get('/jwks')).headers.get('access-control-allow-origin'), '*');
    assert.deepEqual(
      (JSON.parse(body) as { keys: JWK[] }).keys.map((key) => key.kid),
      current.kids,
    );
    assert.ok(
      (JSON.parse(body) as { keys: JWK[] }).keys.every((key) => key.d === undefined),
      'public keys only',
    );
  });

  test('answers a matching If-None-Match with 304 and no body, anything else with the document', async () => {
    const { headers } = await get('/jwks');
    const etag = headers.get('etag')!;
    for (const ifNoneMatch of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
      const response = await get('/jwks', { 'if-none-match': ifNoneMatch });
      assert.equal(response.status, 304, ifNoneMatch);
      assert.equal(await response.text(), '');
      assert.equal(response.headers.get('etag'), etag);
      assert.equal(response.headers.get('cache-control'), CACHE_CONTROL);
    }
    const stale = await get('/jwks', { 'if-none-match': '"not-this-one"' });
    assert.equal(stale.status, 200);
    assert.ok((await stale.text()).includes('"keys"'));

    const head = await get('/jwks', {}, 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('etag'), etag);
    assert.ok(Number(head.headers.get('content-length')) > 0);
  });

  test('a new engine (key rotation, live settings) is served from the next request, never an old copy', async () => {
    const before = await get('/jwks');
    const oldEtag = before.headers.get('etag')!;
    const oldDiscovery = await (await get('/.well-known/openid-configuration')).json();

    current = await countingEngine(['openid', 'accounts']);
    const rotated = await get('/jwks', { 'if-none-match': oldEtag });
    assert.equal(rotated.status, 200, 'the old ETag no longer matches');
    assert.notEqual(rotated.headers.get('etag'), oldEtag);
    assert.deepEqual(
      ((await rotated.json()) as { keys: JWK[] }).keys.map((key) => key.kid),
      current.kids,
    );
    const discovery = (await (await get('/.well-known/openid-configuration')).json()) as { scopes_supported: string[] };
    assert.deepEqual(discovery.scopes_supported, ['openid', 'accounts']);
    assert.notDeepEqual(discovery, oldDiscovery);
    assert.equal(current.requests, 2, 'each document rendered once by the new engine');
    await get('/jwks');
    assert.equal(current.requests, 2);
  });

  test('leaves every other engine route and method to the engine', async () => {
    const requests = current.requests;
    assert.equal((await get('/jwks', {}, 'POST')).status, 404);
    assert.equal((await get('/jwks/extra')).status, 404);
    assert.equal(current.requests, requests + 2);
  });
});

describe('matchesIfNoneMatch', () => {
  test('compares entity tags weakly and accepts *, per RFC 9110 §13.1.2', () => {
    assert.equal(matchesIfNoneMatch(undefined, '"a"'), false);
    assert.equal(matchesIfNoneMatch('"a"', '"a"'), true);
    assert.equal(matchesIfNoneMatch('W/"a"', '"a"'), true);
    assert.equal(matchesIfNoneMatch('"b" , "a"', '"a"'), true);
    assert.equal(matchesIfNoneMatch('*', '"a"'), true);
    assert.equal(matchesIfNoneMatch('"ab"', '"a"'), false);
    assert.equal(matchesIfNoneMatch('a', '"a"'), false);
  });
});

describe('JWKS through the ingress twin while SIGNING_KEYS_FILE rotates', () => {
  let harness: Harness;
  let publicAgent: Agent;
  const dir = mkdtempSync(join(tmpdir(), 'obip-auth-documents-'));
  const file = join(dir, 'signing-keys.json');
  attachServerLogsOnFailure({ sources: [{ name: 'ingress twin', logs: () => harness?.twin.logs() ?? '' }] });

  const writeKeys = (keys: JWK[]) => {
    writeFileSync(`${file}.tmp`, JSON.stringify({ keys }));
    renameSync(`${file}.tmp`, file);
  };
  const jwks = (headers: Record<string, string> = {}) =>
    undiciFetch(`${harness.issuer}/jwks`, { dispatcher: publicAgent, headers });

  before(async () => {
    writeKeys([await generateSigningJwk('PS256'), await generateSigningJwk('ES256')]);
    harness = await startHarness({ env: { SIGNING_KEYS_FILE: file, SIGNING_KEYS_RELOAD_MS: '100' } });
    publicAgent = new Agent({ connect: { ca: harness.pki.caBundlePem } });
  });
  after(async () => {
    await publicAgent?.close();
    await harness?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a revalidation after the rotation gets the new key set, not 304', async () => {
    const first = await jwks();
    await first.text();
    const etag = first.headers.get('etag')!;
    assert.equal(first.headers.get('cache-control'), CACHE_CONTROL);
    assert.equal((await jwks({ 'if-none-match': etag })).status, 304);

    const next = [await generateSigningJwk('PS256'), await generateSigningJwk('ES256')];
    writeKeys(next);
    const until = Date.now() + 30_000;
    for (;;) {
      const response = await jwks({ 'if-none-match': etag });
      if (response.status === 200) {
        const body = (await response.json()) as { keys: JWK[] };
        assert.deepEqual(
          body.keys.map((key) => key.kid),
          next.map((key) => key.kid),
        );
        assert.notEqual(response.headers.get('etag'), etag);
        break;
      }
      assert.equal(response.status, 304);
      assert.ok(Date.now() < until, 'the rotated keys were never served');
      await sleep(25);
    }
  });
});
