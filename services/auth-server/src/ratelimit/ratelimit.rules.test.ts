import { test } from 'node:test';
import assert from 'node:assert/strict';
import { claimedClientId, fixedWindow, limitPerWindow, rateLimitedEndpoint, rateLimitKey } from './ratelimit.rules';

const jwt = (payload: Record<string, unknown>) =>
  ['{"alg":"PS256"}', JSON.stringify(payload)].map((part) => Buffer.from(part).toString('base64url')).join('.') +
  '.c2ln';

test('only POST /token and POST /par are limited', () => {
  assert.equal(rateLimitedEndpoint('POST', '/token'), 'token');
  assert.equal(rateLimitedEndpoint('POST', '/par'), 'par');
  assert.equal(rateLimitedEndpoint('GET', '/token'), undefined);
  assert.equal(rateLimitedEndpoint('POST', '/revoke'), undefined);
});

test('the claimed client is client_id, else the sub (then iss) of the client assertion', () => {
  assert.equal(
    claimedClientId(new URLSearchParams({ client_id: 'tpp-1', client_assertion: jwt({ sub: 'x' }) })),
    'tpp-1',
  );
  assert.equal(claimedClientId(new URLSearchParams({ client_assertion: jwt({ sub: 'tpp-2', iss: 'y' }) })), 'tpp-2');
  assert.equal(claimedClientId(new URLSearchParams({ client_assertion: jwt({ iss: 'tpp-3' }) })), 'tpp-3');
  assert.equal(claimedClientId(new URLSearchParams({ client_assertion: 'not a jwt' })), undefined);
  assert.equal(claimedClientId(new URLSearchParams({ grant_type: 'client_credentials' })), undefined);
});

test('per-minute limits are scaled to the window, rounded up, never below one', () => {
  assert.equal(limitPerWindow(600, 60_000), 600);
  assert.equal(limitPerWindow(60, 3_000), 3);
  assert.equal(limitPerWindow(100, 1_000), 2);
  assert.equal(limitPerWindow(1, 1_000), 1);
});

test('windows are aligned to the epoch so every replica counts into the same one', () => {
  assert.deepEqual(fixedWindow(125_000, 60_000), { index: 2, resetInMs: 55_000 });
  assert.deepEqual(fixedWindow(120_000, 60_000), { index: 2, resetInMs: 60_000 });
});

test('the key separates endpoints, clients, certificates and windows', () => {
  const keys = new Set([
    rateLimitKey('token', 'tpp-1', 'cert-a', 1),
    rateLimitKey('par', 'tpp-1', 'cert-a', 1),
    rateLimitKey('token', 'tpp-2', 'cert-a', 1),
    rateLimitKey('token', 'tpp-1', 'cert-b', 1),
    rateLimitKey('token', 'tpp-1', undefined, 1),
    rateLimitKey('token', 'tpp-1', 'cert-a', 2),
  ]);
  assert.equal(keys.size, 6);
  assert.ok(!rateLimitKey('token', 'a'.repeat(5_000), 'c', 1).includes('aaaa'), 'the client id is hashed');
});
