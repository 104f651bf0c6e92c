import assert from 'node:assert/strict';
import { constants, createPublicKey, verify, type JsonWebKey } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { createTestPki } from '../pki/test-pki';
import { signCompactJws } from './compact-jws';
import { createTestDirectory, type TestDirectory } from './test-directory';

function decodePart(jws: string, index: number): Record<string, unknown> {
  return JSON.parse(Buffer.from(jws.split('.')[index]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** Verifies a compact JWS with node:crypto alone, as an independent check of the signer. */
function verifiesWith(jws: string, jwk: JsonWebKey): boolean {
  const [header, payload, signature] = jws.split('.') as [string, string, string];
  const { alg } = decodePart(jws, 0);
  const key = createPublicKey({ key: jwk, format: 'jwk' });
  const data = Buffer.from(`${header}.${payload}`);
  const bytes = Buffer.from(signature, 'base64url');
  if (alg === 'PS256') {
    return verify('sha256', data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, bytes);
  }
  if (alg === 'ES256') return verify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, bytes);
  return verify('sha256', data, { key, padding: constants.RSA_PKCS1_PADDING }, bytes);
}

async function fetchJson(url: string): Promise<{ keys: JsonWebKey[] }> {
  const response = await fetch(url);
  assert.equal(response.status, 200);
  return (await response.json()) as { keys: JsonWebKey[] };
}

describe('test directory', () => {
  let directory: TestDirectory;

  before(async () => {
    directory = await createTestDirectory({ pki: await createTestPki() });
  });
  after(() => directory.stop());

  test('signs software statements with PS256 by default, verifiable with the key at its JWKS URI', async () => {
    const software = await directory.registerSoftware();
    const ssa = directory.issueSsa(software);
    const header = decodePart(ssa, 0);
    assert.equal(header.alg, 'PS256');
    assert.equal(header.kid, directory.signingKey.kid);
    const { keys } = await fetchJson(directory.jwksUri);
    assert.ok(verifiesWith(ssa, keys[0]!));
  });

  test('puts the OB claim set in the software statement', async () => {
    const software = await directory.registerSoftware({ roles: ['AISP'], redirectUris: ['https://a.example/cb'] });
    const claims = decodePart(directory.issueSsa(software), 1);
    for (const claim of [
      'iss',
      'iat',
      'jti',
      'software_id',
      'software_client_id',
      'software_client_name',
      'software_roles',
      'software_redirect_uris',
      'software_jwks_endpoint',
      'software_logo_uri',
      'software_environment',
      'org_id',
      'org_name',
      'org_status',
    ]) {
      assert.ok(claim in claims, `missing ${claim}`);
    }
    assert.equal(claims.iss, directory.issuer);
    assert.equal(claims.software_id, software.softwareId);
    assert.deepEqual(claims.software_roles, ['AISP']);
    assert.equal(claims.org_status, 'Active');
    assert.match(software.softwareId, /^[0-9A-Za-z]{22}$/);
  });

  test('overrides and removes claims on request', async () => {
    const software = await directory.registerSoftware();
    const claims = decodePart(directory.issueSsa(software, { claims: { org_status: 'Revoked', jti: undefined } }), 1);
    assert.equal(claims.org_status, 'Revoked');
    assert.equal('jti' in claims, false);
  });

  test('serves each software JWKS and mints requests signed with the software key (ES256)', async () => {
    const software = await directory.registerSoftware({ alg: 'ES256' });
    const request = directory.mintRegistrationRequest(software, { ssa: directory.issueSsa(software), aud: 'bank' });
    assert.equal(decodePart(request, 0).alg, 'ES256');
    const claims = decodePart(request, 1);
    assert.equal(claims.iss, software.softwareId);
    assert.equal(claims.aud, 'bank');
    assert.equal((claims.exp as number) - (claims.iat as number), 300);
    const { keys } = await fetchJson(software.jwksUri);
    assert.ok(verifiesWith(request, keys[0]!));
  });

  test('issues a transport certificate naming the software and organisation', async () => {
    const software = await directory.registerSoftware();
    assert.ok(software.transport);
    const { X509Certificate } = await import('node:crypto');
    const subject = new X509Certificate(software.transport.certPem).subject;
    assert.match(subject, new RegExp(`CN=${software.softwareId}`));
    assert.match(subject, new RegExp(`OU=${software.orgId}`));
  });

  test('publishes a rotated key in place of the old one', async () => {
    const software = await directory.registerSoftware();
    const oldKid = software.signingKey.kid;
    const rotated = await directory.rotateSoftwareKey(software);
    const { keys } = await fetchJson(software.jwksUri);
    assert.deepEqual(
      keys.map((key) => (key as { kid?: string }).kid),
      [rotated.kid],
    );
    assert.notEqual(rotated.kid, oldKid);
  });

  test('signs with RS256 and none only when asked, so verifiers can be tested against them', async () => {
    const software = await directory.registerSoftware();
    const rs256 = signCompactJws({}, { a: 1 }, software.signingKey.privateJwk, 'RS256');
    assert.ok(verifiesWith(rs256, software.signingKey.publicJwk));
    assert.equal(signCompactJws({}, { a: 1 }, undefined, 'none').split('.')[2], '');
  });
});
