import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkSigningJwks, generateSigningJwk, KeyConfigurationError, loadKeyMaterial } from './keys.signing';

const refusal = (setting: string) => (error: unknown) =>
  error instanceof KeyConfigurationError && error.code === 'invalid_key_configuration' && error.setting === setting;

test('generates development keys once, keeps them private on disk, and reuses them', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'obip-keys-'));
  try {
    const first = await loadKeyMaterial({ DEV_KEYS_DIR: dir });
    assert.deepEqual(first.developmentDefaults, ['SIGNING_KEYS_FILE', 'COOKIE_KEYS', 'DPOP_NONCE_SECRET']);
    assert.deepEqual(first.jwks.keys.map((key) => key.alg).sort(), ['ES256', 'PS256']);
    assert.equal(first.dpopNonceSecret.length, 32);
    assert.equal(statSync(join(dir, 'auth-server-dev-keys.json')).mode & 0o777, 0o600);
    const second = await loadKeyMaterial({ DEV_KEYS_DIR: dir });
    assert.deepEqual(second.jwks, first.jwks);
    assert.deepEqual(second.cookieKeys, first.cookieKeys);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('reads the signing keys from SIGNING_KEYS_FILE and uses no development material for them', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'obip-keys-'));
  try {
    const file = join(dir, 'jwks.json');
    writeFileSync(
      file,
      JSON.stringify({ keys: [await generateSigningJwk('PS256'), await generateSigningJwk('ES256')] }),
    );
    const material = await loadKeyMaterial({
      DEV_KEYS_DIR: dir,
      SIGNING_KEYS_FILE: file,
      COOKIE_KEYS: ['k'.repeat(32)],
      DPOP_NONCE_SECRET: Buffer.alloc(32, 7).toString('base64url'),
    });
    assert.deepEqual(material.developmentDefaults, []);
    assert.deepEqual(material.jwks, JSON.parse(readFileSync(file, 'utf8')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('refuses a JWKS with an RS256 key, a public-only key, or without an ES256 key', async () => {
  const ps256 = await generateSigningJwk('PS256');
  const es256 = await generateSigningJwk('ES256');
  assert.throws(() => checkSigningJwks({ keys: [{ ...ps256, alg: 'RS256' }, es256] }, 'X'), refusal('X'));
  const { d: _d, ...publicOnly } = es256;
  assert.throws(() => checkSigningJwks({ keys: [ps256, publicOnly] }, 'X'), refusal('X'));
  assert.throws(() => checkSigningJwks({ keys: [ps256] }, 'X'), refusal('X'));
  assert.throws(() => checkSigningJwks({ keys: [ps256, { ...es256, kid: ps256.kid }] }, 'X'), refusal('X'));
  assert.doesNotThrow(() => checkSigningJwks({ keys: [ps256, es256] }, 'X'));
});

test('an unreadable SIGNING_KEYS_FILE stops start-up naming the setting', async () => {
  await assert.rejects(
    loadKeyMaterial({ DEV_KEYS_DIR: tmpdir(), SIGNING_KEYS_FILE: '/nonexistent/jwks.json' }),
    refusal('SIGNING_KEYS_FILE'),
  );
});
