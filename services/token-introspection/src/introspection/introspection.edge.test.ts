import assert from 'node:assert/strict';
import { request } from 'node:https';
import { after, before, describe, test } from 'node:test';
import {
  attachServerLogsOnFailure,
  createTestPki,
  startIngressTwin,
  type IngressTwin,
  type IssuedCertificate,
  type TestPki,
} from '@obip/testing';
import { startHarness, startPeers, type Harness, type Peers } from '../testing/introspection.harness';

function postThroughEdge(
  url: string,
  body: string,
  tls: { ca: string; cert?: string; key?: string },
  extraHeaders: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}/introspect`,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'content-length': Buffer.byteLength(body),
          ...extraHeaders,
        },
        ...tls,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('POST /introspect through the nginx ingress twin (mTLS host)', () => {
  let pki: TestPki;
  let peers: Peers;
  let harness: Harness;
  let twin: IngressTwin;
  let gateway: IssuedCertificate;

  attachServerLogsOnFailure({ sources: [{ name: 'nginx twin', logs: () => twin?.logs() ?? '' }] });

  before(async () => {
    pki = await createTestPki();
    peers = await startPeers();
    harness = await startHarness({ peers });
    twin = await startIngressTwin({ pki, upstreams: { 'token-introspection': harness.url } });
    gateway = await pki.issueTppCertificate({ orgId: '0015800001041REAAY', softwareId: 'bank-gateway' });
    peers.registerClient({
      clientId: 'bank-gateway',
      tlsClientAuthSubjectDn: 'CN=bank-gateway,OU=0015800001041REAAY,O=OpenBanking,C=GB',
      metadata: { token_endpoint_auth_method: 'tls_client_auth', obip_resource_server: true },
    });
  });
  after(async () => {
    await twin?.stop();
    await harness?.stop();
    await peers?.stop();
  });

  test('a resource server with a TPP certificate verified by the edge introspects a token', async () => {
    const { token, record } = await harness.issue({ grantType: 'client_credentials', subject: undefined });
    const response = await postThroughEdge(
      twin.mtlsUrl,
      new URLSearchParams({ token, client_id: 'bank-gateway' }).toString(),
      {
        ca: pki.caBundlePem,
        cert: gateway.chainPem,
        key: gateway.keyPem,
      },
    );
    assert.equal(response.status, 200);
    const body = JSON.parse(response.body) as Record<string, unknown>;
    assert.equal(body.active, true);
    assert.equal(body.client_id, record.clientId);
  });

  test('the edge overwrites a certificate header the client forged: the certificate presented in TLS decides', async () => {
    const { token } = await harness.issue();
    const other = await pki.issueTppCertificate({ orgId: '0015800001041REAAY', softwareId: 'other-tpp' });
    const response = await postThroughEdge(
      twin.mtlsUrl,
      new URLSearchParams({ token, client_id: 'bank-gateway' }).toString(),
      { ca: pki.caBundlePem, cert: other.chainPem, key: other.keyPem },
      { 'ssl-client-cert': encodeURIComponent(gateway.certPem), 'ssl-client-verify': 'SUCCESS' },
    );
    assert.equal(response.status, 401);
    assert.equal((JSON.parse(response.body) as { error: string }).error, 'invalid_client');
  });

  test('the public host does not route /introspect', async () => {
    const { token } = await harness.issue();
    const response = await postThroughEdge(twin.publicUrl, new URLSearchParams({ token }).toString(), {
      ca: pki.caBundlePem,
    });
    assert.equal(response.status, 404);
  });
});
