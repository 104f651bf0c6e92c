import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/** A private JWK encrypted at rest: AES-256-GCM, the kid as additional data. */
export interface SealedKey {
  iv: string;
  ciphertext: string;
  tag: string;
}

/**
 * Seals and opens private signing keys with the key-encryption key, so a copy of the database
 * alone never yields a signing key. The kid is bound as additional authenticated data: a sealed
 * key moved onto another record does not open.
 *
 * @example
 * const vault = createKeyVault(Buffer.from(settings.KEY_ENCRYPTION_KEY, 'base64url'));
 * const sealed = vault.seal(kid, JSON.stringify(privateJwk));
 */
export function createKeyVault(keyEncryptionKey: Buffer) {
  if (keyEncryptionKey.length !== 32) throw new Error('the key-encryption key must be 32 bytes');
  return {
    seal(kid: string, plaintext: string): SealedKey {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', keyEncryptionKey, iv);
      cipher.setAAD(Buffer.from(kid, 'utf8'));
      const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return {
        iv: iv.toString('base64url'),
        ciphertext: ciphertext.toString('base64url'),
        tag: cipher.getAuthTag().toString('base64url'),
      };
    },
    open(kid: string, sealed: SealedKey): string {
      const decipher = createDecipheriv('aes-256-gcm', keyEncryptionKey, Buffer.from(sealed.iv, 'base64url'));
      decipher.setAAD(Buffer.from(kid, 'utf8'));
      decipher.setAuthTag(Buffer.from(sealed.tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(sealed.ciphertext, 'base64url')), decipher.final()]).toString(
        'utf8',
      );
    },
  };
}

export type KeyVault = ReturnType<typeof createKeyVault>;
