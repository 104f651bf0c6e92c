import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DomainError } from '@obip/errors';
import { generateSigningKey, startJwksServer, type JwksServer } from '@obip/testing';
import { createJwksCache } from './jwks.cache';
import { isPrivateAddress } from '@obip/http';
import { JwksFetchError } from './jwks.errors';
import { fetchJwks, MAX_JWKS_BYTES } from './jwks.fetcher';

// Generous on purpose: the first fetch of a run pays for undici's warm-up, which a loaded CI
// machine can stretch past a second. The timeout itself has its own test below.
const FETCH_TIMEOUT_MS = 10_000;
const allowed = { timeoutMs: FETCH_TIMEOUT_MS, allowPrivate: true };

async function assertFetchRefused(promise: Promise<unknown>): Promise<void> {
  await assert.rejects(promise, (error: unknown) => error instanceof DomainError && error.code === 'jwks_unavailable');
}

describe('JWKS fetching', () => {
  let server: JwksServer;
  before(async () => {
    server = await startJwksServer();
  });
  after(() => server.stop());

  test('fetches a key set from an allowed loopback URL', async () => {
    const key = await generateSigningKey('ES256');
    const jwks = await fetchJwks(server.publish('/ok', { keys: [{ ...key.publicJwk }] }), allowed);
    assert.equal(jwks.keys[0]?.kid, key.kid);
  });

  test('refuses loopback and private addresses unless allowed', async () => {
    const url = server.publish('/private', { keys: [] });
    await assertFetchRefused(fetchJwks(url, { timeoutMs: FETCH_TIMEOUT_MS, allowPrivate: false }));
    await assertFetchRefused(
      fetchJwks(url.replace('127.0.0.1', 'localhost'), { timeoutMs: FETCH_TIMEOUT_MS, allowPrivate: false }),
    );
    for (const address of [
      '10.1.2.3',
      '172.16.0.1',
      '192.168.1.1',
      '169.254.169.254',
      '::1',
      'fd00::1',
      '::ffff:127.0.0.1',
    ]) {
      assert.equal(isPrivateAddress(address), true, address);
    }
    assert.equal(isPrivateAddress('8.8.8.8'), false);
  });

  test('gives up on a slow server after the timeout', async () => {
    // The server would answer with a valid key set, so only the timeout can refuse it. The
    // elapsed bound is the server's delay, not a wall-clock guess: a loaded CI machine once
    // stretched the 200 ms timeout past 1.5 s.
    const serverDelayMs = 30_000;
    const url = server.respond('/slow', { delayMs: serverDelayMs, body: '{"keys":[]}' });
    const started = Date.now();
    await assert.rejects(
      fetchJwks(url, { timeoutMs: 200, allowPrivate: true }),
      (error: unknown) =>
        error instanceof JwksFetchError && error.transient && /timed out/.test(error.description ?? ''),
    );
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 200 && elapsed < serverDelayMs, `gave up after ${elapsed} ms`);
  });

  test('refuses a body over 64 KiB, declared or streamed', async () => {
    const big = `{"keys":[],"pad":"${'a'.repeat(MAX_JWKS_BYTES)}"}`;
    await assertFetchRefused(fetchJwks(server.respond('/big', { body: big }), allowed));
    await assertFetchRefused(
      fetchJwks(server.respond('/big-chunked', { headers: { 'transfer-encoding': 'chunked' }, body: big }), allowed),
    );
  });

  test('follows a redirect on the same host and refuses one to another host', async () => {
    server.publish('/target', { keys: [] });
    const same = server.respond('/same', { status: 302, headers: { location: '/target' } });
    assert.deepEqual(await fetchJwks(same, allowed), { keys: [] });
    const other = server.respond('/other', {
      status: 302,
      headers: { location: `http://localhost:${server.port}/target` },
    });
    await assertFetchRefused(fetchJwks(other, allowed));
  });

  test('refuses a non-200 answer and a body that is not a JWK Set', async () => {
    await assertFetchRefused(fetchJwks(`${server.url}/missing`, allowed));
    await assertFetchRefused(fetchJwks(server.respond('/not-jwks', { body: '{"keys":"no"}' }), allowed));
  });

  test('caches a key set and fetches it again when a JWS names an unknown kid', async () => {
    const first = await generateSigningKey('PS256');
    const url = server.publish('/rotating', { keys: [{ ...first.publicJwk }] });
    const cache = createJwksCache({
      fetcher: fetchJwks,
      timeoutMs: FETCH_TIMEOUT_MS,
      ttlMs: 60_000,
      refreshCooldownMs: 0,
      allowPrivate: true,
    });
    await cache.keyFor(url, { alg: 'PS256', kid: first.kid }, { trusted: false });
    await cache.keyFor(url, { alg: 'PS256', kid: first.kid }, { trusted: false });
    assert.equal(server.hits('/rotating'), 1);
    const second = await generateSigningKey('PS256');
    server.publish('/rotating', { keys: [{ ...second.publicJwk }] });
    await cache.keyFor(url, { alg: 'PS256', kid: second.kid }, { trusted: false });
    assert.equal(server.hits('/rotating'), 2);
  });

  test('does not refetch for an unknown kid within the cooldown', async () => {
    const key = await generateSigningKey('PS256');
    const url = server.publish('/cooldown', { keys: [{ ...key.publicJwk }] });
    const cache = createJwksCache({
      fetcher: fetchJwks,
      timeoutMs: FETCH_TIMEOUT_MS,
      ttlMs: 60_000,
      refreshCooldownMs: 60_000,
      allowPrivate: true,
    });
    await cache.keyFor(url, { alg: 'PS256', kid: key.kid }, { trusted: false });
    await assert.rejects(cache.keyFor(url, { alg: 'PS256', kid: 'unknown' }, { trusted: false }));
    assert.equal(server.hits('/cooldown'), 1);
  });
});
