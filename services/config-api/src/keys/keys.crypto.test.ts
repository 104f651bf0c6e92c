import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { createKeyVault } from './keys.crypto';

describe('the key vault', () => {
  const vault = createKeyVault(randomBytes(32));

  it('opens what it sealed, and the sealed form does not contain the plaintext', () => {
    const sealed = vault.seal('kid-1', '{"d":"private-scalar"}');
    assert.ok(!JSON.stringify(sealed).includes('private-scalar'));
    assert.equal(vault.open('kid-1', sealed), '{"d":"private-scalar"}');
  });

  it('refuses a sealed key moved onto another kid, altered, or opened with another key', () => {
    const sealed = vault.seal('kid-1', '{"d":"private-scalar"}');
    assert.throws(() => vault.open('kid-2', sealed));
    const flipped = Buffer.from(sealed.ciphertext, 'base64url');
    flipped[0] = flipped[0]! ^ 1;
    assert.throws(() => vault.open('kid-1', { ...sealed, ciphertext: flipped.toString('base64url') }));
    assert.throws(() => createKeyVault(randomBytes(32)).open('kid-1', sealed));
  });

  it('accepts only a 32-byte key-encryption key', () => {
    assert.throws(() => createKeyVault(randomBytes(16)));
  });
});
