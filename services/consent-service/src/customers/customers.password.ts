/**
 * Customer password hashes: scrypt from node:crypto (RFC 7914), stored as
 * `scrypt$<N>$<r>$<p>$<salt base64url>$<hash base64url>` so the parameters travel with the hash
 * and can be raised later without invalidating old ones.
 */
import { randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const KEY_LENGTH = 32;
/**
 * OWASP Password Storage Cheat Sheet: scrypt N=2^17, r=8, p=1, or one of its listed equivalents.
 * This one, N=2^14, r=8, p=5, needs 16 MiB per check instead of 128 MiB (128·N·r bytes): a login
 * in flight held 128 MiB of consent-service's memory, and logins on the pool's four threads took
 * the process past its container limit (bench/README.md, scenario 4). Older hashes keep their
 * parameters and still verify.
 */
export const DEFAULT_SCRYPT = { N: 16_384, r: 8, p: 5 } as const;
const MAX_MEMORY = 256 * 1024 * 1024;

function scrypt(password: string, salt: Buffer, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scryptCallback(password.normalize('NFKC'), salt, KEY_LENGTH, { ...options, maxmem: MAX_MEMORY }, (error, key) =>
      error ? reject(error) : resolve(key),
    );
  });
}

/**
 * @example
 * const stored = await hashPassword('correct horse battery staple');
 */
export async function hashPassword(
  password: string,
  parameters: { N: number; r: number; p: number } = DEFAULT_SCRYPT,
): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, parameters);
  return [
    'scrypt',
    parameters.N,
    parameters.r,
    parameters.p,
    salt.toString('base64url'),
    key.toString('base64url'),
  ].join('$');
}

/** True when `password` matches `stored`; false for a malformed hash. Constant-time comparison. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  if (![N, r, p].every((value) => Number.isInteger(value) && value > 0)) return false;
  const salt = Buffer.from(parts[4]!, 'base64url');
  const expected = Buffer.from(parts[5]!, 'base64url');
  if (expected.length !== KEY_LENGTH) return false;
  const actual = await scrypt(password, salt, { N, r, p });
  return timingSafeEqual(actual, expected);
}
