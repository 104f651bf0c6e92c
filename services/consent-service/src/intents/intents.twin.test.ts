import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpsRequest } from 'node:https';
import {
  attachServerLogsOnFailure,
  createTestPki,
  startIngressTwin,
  type IngressTwin,
  type IssuedCertificate,
} from '@obip/testing';
import {
  nginxCertificateHeaders,
  seedAccessToken,
  startConsentFixture,
  thumbprintOf,
  type ConsentFixture,
} from '../test-fixtures/consent-fixture';

const AISP = '/open-banking/v3.1/aisp/account-access-consents';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

/** One HTTPS request to the twin, presenting `client` as the TLS client certificate. */
function send(
  url: string,
  ca: string,
  client: IssuedCertificate,
  options: { method: string; headers: Record<string, string>; body?: unknown },
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    const req = httpsRequest(
      url,
      {
        method: options.method,
        ca,
        cert: client.chainPem,
        key: client.keyPem,
        agent: false,
        headers: { ...options.headers, ...(payload ? { 'content-type': 'application/json' } : {}) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: text ? (JSON.parse(text) as unknown) : undefined,
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

describe('intent APIs through the nginx ingress twin (mTLS host)', () => {
  let fixture: ConsentFixture;
  let twin: IngressTwin;
  let tpp: IssuedCertificate;
  let otherTpp: IssuedCertificate;

  before(async () => {
    fixture = await startConsentFixture('twin');
    const pki = await createTestPki();
    tpp = await pki.issueTppCertificate({ orgId: '0015800001041REAAY', softwareId: 'SwTwinTpp' });
    otherTpp = await pki.issueTppCertificate({ orgId: '0015800001041REAAY', softwareId: 'SwOtherTpp' });
    twin = await startIngressTwin({ pki, upstreams: { 'consent-service': fixture.url } });
  });
  after(async () => {
    await twin?.stop();
    await fixture?.close();
  });
  attachServerLogsOnFailure({ sources: [{ name: 'nginx', logs: () => twin?.logs() ?? '' }] });

  test('a TPP creates and reads its consent with a token bound to the certificate it presented at the edge', async () => {
    const token = await seedAccessToken(fixture.tokens, {
      clientId: 'tpp-twin',
      scope: 'accounts',
      thumbprint: thumbprintOf(tpp.certPem),
    });
    const created = await send(`${twin.mtlsUrl}${AISP}`, twin.caBundlePem, tpp, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'x-fapi-interaction-id': 'f1a3bd6e-6b5c-4a57-9d8e-3e2b7c1f0a11' },
      body: { Data: { Permissions: ['ReadAccountsBasic', 'ReadBalances'] }, Risk: {} },
    });
    assert.equal(created.status, 201);
    assert.equal(created.headers['x-fapi-interaction-id'], 'f1a3bd6e-6b5c-4a57-9d8e-3e2b7c1f0a11');
    const consentId = (created.body as { Data: { ConsentId: string } }).Data.ConsentId;
    const read = await send(`${twin.mtlsUrl}${AISP}/${consentId}`, twin.caBundlePem, tpp, {
      method: 'GET',
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(read.status, 200);
    assert.equal((read.body as { Data: { Status: string } }).Data.Status, 'AwaitingAuthorisation');
  });

  test('a token bound to another certificate is refused even when the client forges the certificate header', async () => {
    // The edge overwrites ssl-client-cert with the certificate of the TLS session, so sending
    // the other TPP's certificate in the header does not borrow its token.
    const token = await seedAccessToken(fixture.tokens, {
      clientId: 'tpp-other',
      scope: 'accounts',
      thumbprint: thumbprintOf(otherTpp.certPem),
    });
    const reply = await send(`${twin.mtlsUrl}${AISP}`, twin.caBundlePem, tpp, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, ...nginxCertificateHeaders(otherTpp.certPem) },
      body: { Data: { Permissions: ['ReadAccountsBasic'] }, Risk: {} },
    });
    assert.equal(reply.status, 401);
  });
});
