import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { exportJWK, generateKeyPair } from 'jose';
import { PortalKeyError, checkPortalJwks, loadPortalKeys } from './portal.keys';

describe('the portal’s keys', () => {
  const dir = mkdtempSync(join(tmpdir(), 'obip-portal-keys-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('without settings, development material is generated once, kept, and named for the warning', async () => {
    const first = await loadPortalKeys({ DEV_KEYS_DIR: join(dir, 'dev') });
    const again = await loadPortalKeys({ DEV_KEYS_DIR: join(dir, 'dev') });
    assert.deepEqual(first.developmentDefaults, ['PORTAL_CLIENT_KEYS_FILE', 'PORTAL_COOKIE_KEYS']);
    assert.equal(first.signing.alg, 'ES256');
    assert.equal(again.signing.kid, first.signing.kid, 'a restart keeps the key');
    assert.deepEqual(again.cookieKeys, first.cookieKeys);
    assert.equal(first.publicJwks.keys.length, 1);
    assert.equal(first.publicJwks.keys[0]!.d, undefined, 'only the public half is registered');
  });

  test('a mounted JWKS signs with its first key and registers every key', async () => {
    const keys = await Promise.all(
      ['ES256', 'PS256'].map(async (alg, index) => ({
        ...(await exportJWK((await generateKeyPair(alg, { extractable: true })).privateKey)),
        kid: `k${index}`,
        alg,
      })),
    );
    const file = join(dir, 'portal-keys.json');
    writeFileSync(file, JSON.stringify({ keys }));
    const loaded = await loadPortalKeys({
      DEV_KEYS_DIR: join(dir, 'unused'),
      PORTAL_CLIENT_KEYS_FILE: file,
      PORTAL_COOKIE_KEYS: ['c'.repeat(32)],
    });
    assert.deepEqual(loaded.developmentDefaults, []);
    assert.equal(loaded.signing.kid, 'k0');
    assert.deepEqual(
      loaded.publicJwks.keys.map((key) => [key.kid, key.d]),
      [
        ['k0', undefined],
        ['k1', undefined],
      ],
    );
  });

  test('refuses a JWKS without private keys, with a symmetric or unknown alg, or a duplicate kid', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const privateJwk = { ...(await exportJWK(privateKey)), kid: 'a', alg: 'ES256' };
    const cases: unknown[] = [
      { keys: [] },
      { keys: [{ ...(await exportJWK(publicKey)), kid: 'a', alg: 'ES256' }] },
      { keys: [{ ...privateJwk, alg: 'HS256' }] },
      { keys: [{ ...privateJwk, alg: 'RS256' }] },
      { keys: [privateJwk, privateJwk] },
      { keys: [{ ...privateJwk, kid: undefined }] },
    ];
    for (const jwks of cases) {
      assert.throws(() => checkPortalJwks(jwks, 'PORTAL_CLIENT_KEYS_FILE'), PortalKeyError, JSON.stringify(jwks));
    }
  });
});
