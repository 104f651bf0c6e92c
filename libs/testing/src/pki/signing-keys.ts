import { createHash, webcrypto, type JsonWebKey } from 'node:crypto';

export type SigningAlg = 'PS256' | 'ES256';
export type Jwk = JsonWebKey & { kid: string; alg: SigningAlg; use: 'sig' };

export interface SigningKey {
  kid: string;
  alg: SigningAlg;
  /** Private JWK with `kid`, `alg`, `use: "sig"`: for signing request objects, SSAs, assertions. */
  privateJwk: Jwk;
  /** The public half, ready to put in a JWKS. */
  publicJwk: Jwk;
}

// FAPI 1.0 Advanced 8.6 / FAPI 2.0 SP 5.4: PS256 or ES256 only.
const ALGORITHMS = {
  PS256: { name: 'RSA-PSS', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
  ES256: { name: 'ECDSA', namedCurve: 'P-256' },
} as const;

// RFC 7638 §3.2: the required members of each key type, which the thumbprint covers.
const THUMBPRINT_MEMBERS: Record<string, readonly string[]> = {
  RSA: ['e', 'kty', 'n'],
  EC: ['crv', 'kty', 'x', 'y'],
};

/**
 * RFC 7638 JWK thumbprint (SHA-256, base64url): the JSON of the required members in
 * lexicographic order, without whitespace.
 */
export function jwkThumbprint(jwk: webcrypto.JsonWebKey): string {
  const members = THUMBPRINT_MEMBERS[jwk.kty ?? ''];
  if (!members) throw new TypeError(`no thumbprint members defined for kty ${jwk.kty}`);
  const canonical = `{${members.map((m) => `${JSON.stringify(m)}:${JSON.stringify((jwk as Record<string, unknown>)[m])}`).join(',')}}`;
  return createHash('sha256').update(canonical).digest('base64url');
}

/**
 * Generates a JWS signing key pair with WebCrypto and exports it as JWKs. The `kid` is the
 * RFC 7638 thumbprint, so it is stable for the key and unique in a JWKS.
 *
 * @example
 * const { privateJwk, publicJwk } = await generateSigningKey('PS256');
 * const jwks = { keys: [publicJwk] };
 */
export async function generateSigningKey(alg: SigningAlg): Promise<SigningKey> {
  const params = ALGORITHMS[alg];
  if (!params) throw new TypeError(`unsupported signing algorithm ${String(alg)}: use PS256 or ES256`);
  const pair = (await webcrypto.subtle.generateKey(params, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const exported = await webcrypto.subtle.exportKey('jwk', pair.privateKey);
  const kid = jwkThumbprint(exported);
  // WebCrypto adds `ext` and `key_ops`; a JWKS carries `use` instead (RFC 7517 §4.3).
  const { ext: _ext, key_ops: _ops, d, p, q, dp, dq, qi, ...publicMembers } = exported;
  const publicJwk: Jwk = { ...publicMembers, kid, alg, use: 'sig' };
  const privateJwk: Jwk = { ...publicJwk, d, ...(p === undefined ? {} : { p, q, dp, dq, qi }) };
  return { kid, alg, privateJwk, publicJwk };
}
