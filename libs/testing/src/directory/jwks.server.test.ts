import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startJwksServer, type JwksServer } from './jwks.server';

describe('JWKS server', () => {
  let server: JwksServer;
  before(async () => {
    server = await startJwksServer();
  });
  after(() => server.stop());

  test('serves a published key set on a loopback URL and counts requests', async () => {
    const url = server.publish('/a/jwks', { keys: [{ kty: 'EC', kid: 'k1' }] });
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/a\/jwks$/);
    const response = await fetch(url);
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { keys: [{ kty: 'EC', kid: 'k1' }] });
    assert.equal(server.hits('/a/jwks'), 1);
  });

  test('answers unknown paths with 404', async () => {
    assert.equal((await fetch(`${server.url}/nothing`)).status, 404);
  });

  test('serves raw responses for negative tests', async () => {
    const url = server.respond('/redirect', { status: 302, headers: { location: 'http://elsewhere.example/' } });
    const response = await fetch(url, { redirect: 'manual' });
    assert.equal(response.status, 302);
    assert.equal(response.headers.get('location'), 'http://elsewhere.example/');
  });
});
