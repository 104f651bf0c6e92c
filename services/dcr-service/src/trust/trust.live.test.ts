import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { before, describe, test } from 'node:test';
import { defaultPlatformSettings, type PlatformConfig, type TrustedDirectory } from '@obip/platform-config';
import { createTestPki, type TestPki } from '@obip/testing';
import { createLiveTrust, trustFromPlatformConfig, withdrawnDirectories, type EnvironmentTrust } from './trust.live';

const published = (overrides: Partial<TrustedDirectory> = {}): TrustedDirectory => ({
  id: 'ob',
  name: 'OB Directory',
  issuer: 'OpenBanking Ltd',
  jwksUri: 'https://keystore.openbanking.org.uk/keystore/openbanking.jwks',
  environment: 'production',
  status: 'active',
  ...overrides,
});

const platformConfig = (change: Partial<PlatformConfig> = {}): PlatformConfig => ({
  settings: defaultPlatformSettings('https://bank.example'),
  directories: [],
  trustAnchors: [],
  ...change,
});

describe('trust from a platform config', () => {
  let pki: TestPki;
  let environmentCa: X509Certificate;
  const anchor = () => ({
    fingerprint: 'a'.repeat(64),
    subject: 'CN=obip Test Issuing CA',
    notAfter: '2099-01-01T00:00:00Z',
    pem: pki.issuing.certPem,
  });

  before(async () => {
    pki = await createTestPki();
    environmentCa = new X509Certificate(pki.root.certPem);
  });

  const environment = (casFromFile: boolean): EnvironmentTrust => ({
    directories: [{ issuer: 'from the environment', jwksUri: 'https://env.example/jwks', environment: 'sandbox' }],
    trustedCas: casFromFile ? [environmentCa] : [],
    casFromFile,
  });

  test('trusts the active directories only, as issuer, jwksUri and environment', () => {
    const trust = trustFromPlatformConfig(
      platformConfig({
        directories: [published(), published({ id: 'old', issuer: 'Retired Directory', status: 'disabled' })],
      }),
      environment(false),
    );
    assert.deepEqual(trust.directories, [
      {
        issuer: 'OpenBanking Ltd',
        jwksUri: 'https://keystore.openbanking.org.uk/keystore/openbanking.jwks',
        environment: 'production',
      },
    ]);
  });

  test('while config-api holds no directory, DCR_TRUSTED_DIRECTORIES stays in force', () => {
    const env = environment(false);
    assert.deepEqual(trustFromPlatformConfig(platformConfig(), env).directories, env.directories);
  });

  test('once config-api holds directories, only its active ones are trusted, the environment none', () => {
    const published = platformConfig({
      directories: [
        {
          id: 'd-1',
          name: 'Disabled directory',
          issuer: 'Disabled Ltd',
          jwksUri: 'https://disabled.example/jwks',
          environment: 'sandbox',
          status: 'disabled',
        },
      ],
    });
    assert.deepEqual(trustFromPlatformConfig(published, environment(false)).directories, []);
  });

  test('published trust anchors are the CAs when DCR_TRUSTED_CA_FILE is unset', () => {
    const trust = trustFromPlatformConfig(platformConfig({ trustAnchors: [anchor()] }), environment(false));
    assert.deepEqual(
      trust.trustedCas.map((ca) => ca.fingerprint256),
      [new X509Certificate(pki.issuing.certPem).fingerprint256],
    );
  });

  test('DCR_TRUSTED_CA_FILE, when set, takes precedence over published trust anchors', () => {
    const trust = trustFromPlatformConfig(platformConfig({ trustAnchors: [anchor()] }), environment(true));
    assert.deepEqual(trust.trustedCas, [environmentCa]);
  });

  test('a trust anchor that is not a certificate throws, so the version in force is kept', () => {
    assert.throws(() =>
      trustFromPlatformConfig(
        platformConfig({ trustAnchors: [{ ...anchor(), pem: 'not a certificate' }] }),
        environment(false),
      ),
    );
  });
});

describe('withdrawn directories', () => {
  const a = { issuer: 'A', jwksUri: 'https://a.example/jwks', environment: 'sandbox' as const };
  const b = { issuer: 'B', jwksUri: 'https://b.example/jwks', environment: 'sandbox' as const };

  test('are the ones removed, or whose key set URL changed; unchanged ones are kept', () => {
    assert.deepEqual(withdrawnDirectories([a, b], [b]), [a]);
    assert.deepEqual(withdrawnDirectories([a, b], [{ ...a, jwksUri: 'https://a.example/jwks-2' }, b]), [a]);
    assert.deepEqual(withdrawnDirectories([a], [a, b]), []);
  });

  test('the live trust replaces its value whole and reports what it withdrew', () => {
    const trust = createLiveTrust({ directories: [a, b], trustedCas: [] });
    assert.equal(trust.version(), undefined);
    assert.deepEqual(trust.replace({ directories: [b], trustedCas: [] }, 7), [a]);
    assert.deepEqual(trust.current().directories, [b]);
    assert.equal(trust.version(), 7);
  });
});
