import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { writePkiFiles } from './pki.files';
import { generateSigningKey, jwkThumbprint } from './signing-keys';
import { createTestPki, savePki, type TestPki } from './test-pki';

describe('createTestPki', () => {
  let pki: TestPki;
  before(async () => {
    pki = await createTestPki();
  });

  test('builds a root and an issuing CA with obip test names', () => {
    const root = new X509Certificate(pki.root.certPem);
    const issuing = new X509Certificate(pki.issuing.certPem);
    assert.equal(root.ca, true);
    assert.equal(issuing.ca, true);
    assert.ok(root.verify(root.publicKey), 'root is self-signed');
    assert.ok(issuing.checkIssued(root) && issuing.verify(root.publicKey), 'issuing CA is signed by the root');
    assert.equal(pki.issuing.subject, 'CN=obip Test Issuing CA,O=obip test,C=GB');
    assert.equal(issuing.subject, 'C=GB\nO=obip test\nCN=obip Test Issuing CA');
  });

  test('issues a TPP transport certificate shaped like the OB directory’s', async () => {
    const tpp = await pki.issueTppCertificate({ orgId: '0015800001041REAAY', softwareId: 'Sw4Tpp1' });
    const cert = new X509Certificate(tpp.certPem);
    // ASN.1 order, as Node prints it: C, O, OU, CN.
    assert.equal(cert.subject, 'C=GB\nO=OpenBanking\nOU=0015800001041REAAY\nCN=Sw4Tpp1');
    assert.equal(cert.ca, false);
    assert.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.2'], 'extendedKeyUsage clientAuth');
    assert.equal(cert.publicKey.asymmetricKeyType, 'rsa');
    assert.ok(cert.checkIssued(new X509Certificate(pki.issuing.certPem)));
    assert.ok(cert.checkPrivateKey(createPrivateKey(tpp.keyPem)), 'keyPem matches the certificate');
    assert.match(tpp.keyPem, /^-----BEGIN PRIVATE KEY-----/);
    assert.equal(tpp.chainPem.match(/BEGIN CERTIFICATE/g)?.length, 2, 'leaf and issuing CA');
  });

  test('issues an EC TPP certificate on request, with a custom organisation name', async () => {
    const tpp = await pki.issueTppCertificate({
      orgId: 'org1',
      softwareId: 'sw1',
      keyAlg: 'EC',
      orgName: 'Acme Payments',
    });
    const cert = new X509Certificate(tpp.certPem);
    assert.equal(cert.publicKey.asymmetricKeyType, 'ec');
    assert.equal(cert.subject, 'C=GB\nO=Acme Payments\nOU=org1\nCN=sw1');
  });

  test('issues a server certificate for localhost and 127.0.0.1', async () => {
    const server = await pki.issueServerCertificate({ hostnames: ['localhost', '127.0.0.1'] });
    const cert = new X509Certificate(server.certPem);
    assert.equal(cert.checkHost('localhost'), 'localhost');
    assert.equal(cert.checkIP('127.0.0.1'), '127.0.0.1');
    assert.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.1'], 'extendedKeyUsage serverAuth');
  });

  test('honours an explicit validity period, e.g. for an expired certificate', async () => {
    const notAfter = new Date(Date.now() - 60_000);
    const tpp = await pki.issueTppCertificate({
      orgId: 'o',
      softwareId: 's',
      notBefore: new Date(Date.now() - 3600_000),
      notAfter,
    });
    assert.equal(new X509Certificate(tpp.certPem).validToDate.getTime(), Math.floor(notAfter.getTime() / 1000) * 1000);
  });

  test('generates a different PKI each time', async () => {
    const other = await createTestPki();
    assert.notEqual(other.root.certPem, pki.root.certPem);
  });

  test('rebuilt from its saved CAs, it issues certificates that chain to the same root (a sandbox that keeps its data)', async () => {
    const reloaded = await createTestPki({ saved: JSON.parse(JSON.stringify(savePki(pki, 'obip Test'))) });
    assert.equal(reloaded.caBundlePem, pki.caBundlePem);
    assert.equal(reloaded.issuing.subject, pki.issuing.subject);
    const tpp = new X509Certificate((await reloaded.issueTppCertificate({ orgId: 'Org1', softwareId: 'Sw1' })).certPem);
    const issuing = new X509Certificate(pki.issuing.certPem);
    assert.ok(tpp.checkIssued(issuing) && tpp.verify(issuing.publicKey), 'signed by the original issuing CA');
  });

  test('keeps its CAs valid for as long as asked', async () => {
    const longLived = await createTestPki({ caValidityDays: 365 });
    const root = new X509Certificate(longLived.root.certPem);
    const days = (Date.parse(root.validTo) - Date.now()) / 86_400_000;
    assert.ok(days > 364 && days <= 365, `root valid for ${days} more days`);
  });

  test('writes PEM files for nginx, the private key readable by its owner only', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'obip-pki-test-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const files = await writePkiFiles(dir, pki);
    assert.equal(await readFile(files.caBundle, 'utf8'), pki.caBundlePem);
    assert.equal((await stat(files.serverKey)).mode & 0o777, 0o600);
    assert.equal((await readFile(files.serverCert, 'utf8')).match(/BEGIN CERTIFICATE/g)?.length, 2);
  });
});

describe('generateSigningKey', () => {
  for (const alg of ['PS256', 'ES256'] as const) {
    test(`creates a ${alg} key pair whose kid is its RFC 7638 thumbprint`, async () => {
      const key = await generateSigningKey(alg);
      assert.equal(key.publicJwk.alg, alg);
      assert.equal(key.publicJwk.use, 'sig');
      assert.equal(key.kid, jwkThumbprint(key.publicJwk));
      assert.equal(key.privateJwk.kid, key.kid);
      assert.equal(key.publicJwk.d, undefined, 'no private member in the public JWK');
      assert.equal('key_ops' in key.publicJwk, false);

      const data = Buffer.from('payload');
      const options =
        alg === 'PS256'
          ? { padding: 6 /* RSA_PKCS1_PSS_PADDING */, saltLength: 32 }
          : { dsaEncoding: 'ieee-p1363' as const };
      const privateKey = createPrivateKey({ key: key.privateJwk, format: 'jwk' });
      const publicKey = createPublicKey({ key: key.publicJwk, format: 'jwk' });
      const signature = sign('sha256', data, { key: privateKey, ...options });
      assert.ok(verify('sha256', data, { key: publicKey, ...options }, signature));
    });
  }

  test('computes the RFC 7638 §3.1 example thumbprint', () => {
    const jwk = {
      kty: 'RSA',
      e: 'AQAB',
      n:
        '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMs' +
        'tn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91' +
        'CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw',
    };
    assert.equal(jwkThumbprint(jwk), 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs');
  });
});
