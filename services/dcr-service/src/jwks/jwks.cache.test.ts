import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { JSONWebKeySet } from 'jose';
import { generateSigningKey } from '@obip/testing';
import { createJwksCache } from './jwks.cache';
import type { JwksFetcher } from './jwks.fetcher';

const URI = 'https://directory.example/jwks';

/** A fetcher that counts its calls and answers when `release` is called (or at once). */
function countingFetcher(jwks: JSONWebKeySet, options: { held?: boolean } = {}) {
  let calls = 0;
  const waiting: Array<() => void> = [];
  const fetcher: JwksFetcher = async () => {
    calls += 1;
    if (options.held) await new Promise<void>((resolve) => waiting.push(resolve));
    return jwks;
  };
  return { fetcher, calls: () => calls, release: () => waiting.splice(0).forEach((resolve) => resolve()) };
}

const cacheWith = (fetcher: JwksFetcher) =>
  createJwksCache({ fetcher, timeoutMs: 1_000, ttlMs: 300_000, refreshCooldownMs: 10_000, allowPrivate: false });

describe('the JWKS cache', () => {
  test('reuses a key set within its TTL', async () => {
    const key = await generateSigningKey('PS256');
    const source = countingFetcher({ keys: [{ ...key.publicJwk }] });
    const keys = cacheWith(source.fetcher);
    await keys.keyFor(URI, { alg: 'PS256', kid: key.kid }, { trusted: true });
    await keys.keyFor(URI, { alg: 'PS256', kid: key.kid }, { trusted: true });
    assert.equal(source.calls(), 1);
  });

  test('fetches a forgotten key set again at its next use', async () => {
    const key = await generateSigningKey('PS256');
    const source = countingFetcher({ keys: [{ ...key.publicJwk }] });
    const keys = cacheWith(source.fetcher);
    await keys.keySet(URI, true);
    keys.forget(URI);
    await keys.keySet(URI, true);
    assert.equal(source.calls(), 2);
  });

  test('does not keep a key set whose fetch was under way when it was forgotten', async () => {
    const key = await generateSigningKey('ES256');
    const source = countingFetcher({ keys: [{ ...key.publicJwk }] }, { held: true });
    const keys = cacheWith(source.fetcher);
    const underWay = keys.keySet(URI, true);
    await new Promise((resolve) => setImmediate(resolve));
    keys.forget(URI);
    source.release();
    await underWay;

    const next = keys.keySet(URI, true);
    await new Promise((resolve) => setImmediate(resolve));
    source.release();
    await next;
    assert.equal(source.calls(), 2);
  });
});
