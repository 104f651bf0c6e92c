import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestPki, mintSelfSignedCertificate, type TestPki } from '@obip/testing';
import { startConfigApiHarness, type ConfigApiHarness } from '../testing/config-api.harness';

let harness: ConfigApiHarness;
let pki: TestPki;
before(async () => {
  harness = await startConfigApiHarness({ name: 'config-anchors' });
  pki = await createTestPki({ name: 'obip Anchor Test' });
});
after(() => harness.stop());

async function upload(pem: string) {
  const response = await harness.call('/v1/trust-anchors', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ pem }),
  });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are read field by field and checked against the OpenAPI document
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

describe('/v1/trust-anchors', () => {
  it('admits a CA certificate, lists it with subject, fingerprint and expiry, and writes the CA bundle', async () => {
    const created = await upload(pki.root.certPem);
    assert.equal(created.status, 201);
    assert.match(created.body.fingerprint, /^[0-9a-f]{64}$/);
    assert.match(created.body.subject, /obip Anchor Test/);
    // The test CA lives seven days, inside the default 30-day warning window.
    assert.equal(created.body.expiring, true);
    assert.equal(created.body.expired, false);

    const listed = (await (await harness.call('/v1/trust-anchors')).json()) as {
      trustAnchors: Array<{ fingerprint: string }>;
    };
    assert.deepEqual(
      listed.trustAnchors.map((anchor) => anchor.fingerprint),
      [created.body.fingerprint],
    );
    assert.equal(harness.published.trustAnchors.at(-1), pki.root.certPem.trim() + '\n');
    const metrics = await harness.registry.metrics();
    assert.match(
      metrics,
      new RegExp(`obip_trust_anchor_expiry_timestamp_seconds\\{fingerprint="${created.body.fingerprint}"`),
    );
  });

  it('refuses the same CA twice (409)', async () => {
    assert.equal((await upload(pki.issuing.certPem)).status, 201);
    assert.equal((await upload(pki.issuing.certPem)).status, 409);
  });

  it('refuses a certificate that is not a CA, a bad PEM, two certificates at once, and extra text', async () => {
    const tpp = await pki.issueTppCertificate({ orgId: '0015800001041REAAY', softwareId: 'NotACa' });
    const selfSignedLeaf = await mintSelfSignedCertificate([{ CN: ['leaf'] }]);
    const cases: Array<[string, string]> = [
      ['a TPP leaf certificate', tpp.certPem],
      ['a self-signed leaf without basicConstraints cA', selfSignedLeaf.pem],
      [
        'a PEM whose body is not a certificate',
        '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n',
      ],
      ['no PEM at all', 'hello'],
      ['two certificates', pki.root.certPem + pki.issuing.certPem],
      ['a certificate followed by a private key', pki.root.certPem + pki.root.keyPem],
    ];
    const before = harness.published.trustAnchors.length;
    for (const [what, pem] of cases) {
      const response = await upload(pem);
      assert.equal(response.status, 400, what);
      assert.equal(response.body.code, 'invalid_certificate', what);
    }
    assert.equal(harness.published.trustAnchors.length, before, 'nothing was published');
  });

  it('removes an anchor, rewrites the bundle without it, and audits both changes', async () => {
    const listed = (await (await harness.call('/v1/trust-anchors')).json()) as {
      trustAnchors: Array<{ fingerprint: string; pem: string }>;
    };
    const root = listed.trustAnchors.find((anchor) => anchor.pem.trim() === pki.root.certPem.trim())!;
    assert.equal((await harness.call(`/v1/trust-anchors/${root.fingerprint}`, { method: 'DELETE' })).status, 204);
    assert.equal((await harness.call(`/v1/trust-anchors/${root.fingerprint}`, { method: 'DELETE' })).status, 404);
    assert.ok(!harness.published.trustAnchors.at(-1)!.includes(pki.root.certPem.trim()));
    assert.ok(harness.published.trustAnchors.at(-1)!.includes(pki.issuing.certPem.trim()));
    const issuing = listed.trustAnchors.find((anchor) => anchor.pem.trim() === pki.issuing.certPem.trim())!;
    const last = await harness.call(`/v1/trust-anchors/${issuing.fingerprint}`, { method: 'DELETE' });
    assert.equal(last.status, 409, 'the last anchor stays: an empty bundle would lock every TPP out');
    assert.equal(((await last.json()) as { code: string }).code, 'last_trust_anchor');
    const audit = (await (
      await harness.call(`/v1/audit?resource=trust-anchor&resourceId=${root.fingerprint}`)
    ).json()) as {
      entries: Array<{ action: string }>;
    };
    assert.deepEqual(
      audit.entries.map((entry) => entry.action),
      ['trust-anchor.delete', 'trust-anchor.create'],
    );
  });
});
