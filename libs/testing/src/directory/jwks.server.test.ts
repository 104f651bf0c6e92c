import assert from 'node:assert/strict';
import { request } from 'node:https';
import { after, before, describe, test } from 'node:test';
import { createTestPki } from '../pki/test-pki';
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

describe('JWKS server over TLS', () => {
  test('serves on an https URL with the certificate it is given', async () => {
    const pki = await createTestPki();
    const issued = await pki.issueServerCertificate({ hostnames: ['127.0.0.1'] });
    const server = await startJwksServer({ tls: { certPem: issued.chainPem, keyPem: issued.keyPem } });
    try {
      const url = server.publish('/tls/jwks', { keys: [{ kty: 'EC', kid: 'k1' }] });
      assert.match(url, /^https:\/\/127\.0\.0\.1:\d+\/tls\/jwks$/);
      const body = await new Promise<string>((resolve, reject) => {
        const req = request(url, { ca: pki.root.certPem }, (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => resolve(text));
        });
        req.on('error', reject);
        req.end();
      });
      assert.deepEqual(JSON.parse(body), { keys: [{ kty: 'EC', kid: 'k1' }] });
    } finally {
      await server.stop();
    }
  });
});
