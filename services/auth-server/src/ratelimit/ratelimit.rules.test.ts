import { test } from 'node:test';
import assert from 'node:assert/strict';
import { claimedClientId, clientCounterSubject, rateLimitedEndpoint } from './ratelimit.rules';

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

test('the counter subject separates clients and certificates, and a client id cannot forge the separator', () => {
  const subjects = new Set([
    clientCounterSubject('tpp-1', 'cert-a'),
    clientCounterSubject('tpp-2', 'cert-a'),
    clientCounterSubject('tpp-1', 'cert-b'),
    clientCounterSubject('tpp-1', undefined),
    clientCounterSubject('tpp-1","cert-a', undefined),
  ]);
  assert.equal(subjects.size, 5);
});
