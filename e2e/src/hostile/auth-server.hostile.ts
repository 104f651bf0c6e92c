// What the hostile-input corpus of auth-server sends and checks: raw requests (so that a test
// controls every header line and form field, repeats included), JWTs signed the ways FAPI
// forbids, and snapshots of the stored state a refused request must leave alone.
import assert from 'node:assert/strict';
import { createPublicKey, randomUUID } from 'node:crypto';
import { CompactSign, exportJWK, generateKeyPair, importJWK, importPKCS8, type JWK } from 'jose';
import { request, type Dispatcher } from 'undici';
import type { RedisClient } from '@obip/redis';
import type { TestSoftware } from '@obip/testing';

/** What a hostile request got back. */
export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Record<string, unknown>;
  text: string;
}

/** Header lines as sent: a name may repeat (`[['ssl-client-cert', a], ['ssl-client-cert', b]]`). */
export type HeaderLines = ReadonlyArray<readonly [string, string]>;

/**
 * POSTs a form (pairs, so a field may repeat) with exactly the header lines given; undici sends a
 * repeated name as repeated lines.
 *
 * @example
 * await postForm(`${twin.mtlsUrl}/par`, [['client_id', id], ['client_id', other]], [], agent);
 */
export async function postForm(
  url: string,
  form: ReadonlyArray<readonly [string, string]>,
  headers: HeaderLines = [],
  dispatcher?: Dispatcher,
): Promise<Answer> {
  const body = new URLSearchParams(form.map(([name, value]): [string, string] => [name, value])).toString();
  return send(url, 'POST', [['content-type', 'application/x-www-form-urlencoded'], ...headers], body, dispatcher);
}

/** GET with exactly the header lines given. */
export function getWith(url: string, headers: HeaderLines = [], dispatcher?: Dispatcher): Promise<Answer> {
  return send(url, 'GET', headers, undefined, dispatcher);
}

async function send(
  url: string,
  method: 'GET' | 'POST',
  headers: HeaderLines,
  body: string | undefined,
  dispatcher: Dispatcher | undefined,
): Promise<Answer> {
  const response = await request(url, {
    method,
    headers: headers.flatMap(([name, value]) => [name, value]),
    ...(body === undefined ? {} : { body }),
    ...(dispatcher ? { dispatcher } : {}),
  });
  const text = await response.body.text();
  let parsed: Record<string, unknown> = {};
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // nginx answers its own refusals in HTML
  }
  return { status: response.statusCode, headers: response.headers, body: parsed, text };
}

/**
 * The refusal every case asserts: the status and OAuth `error` the spec names, never a 5xx, an
 * `error_description` without a stack trace, and no token in the answer.
 */
export function assertRefused(answer: Answer, status: number, error: string | undefined): void {
  const shown = `${answer.status} ${answer.text.slice(0, 300)}`;
  assert.ok(answer.status < 500, `no 5xx: ${shown}`);
  assert.equal(answer.status, status, shown);
  if (error !== undefined) assert.equal(answer.body.error, error, shown);
  for (const field of ['access_token', 'refresh_token', 'id_token', 'request_uri']) {
    assert.equal(answer.body[field], undefined, `no ${field} was issued: ${shown}`);
  }
  assert.doesNotMatch(answer.text, /\n\s+at .+:\d+:\d+/, 'no stack trace');
}

/**
 * The platform's records that a refused request must not add, as keys under its Redis prefix:
 * libs/token-store records (every access, client-credentials and refresh token issued),
 * authorization codes and PAR requests. Read by SCAN (never KEYS); `redis` is a client without a
 * key prefix (ioredis does not prefix SCAN patterns), `prefix` the platform's REDIS_KEY_PREFIX.
 */
export async function storedState(redis: RedisClient, prefix: string): Promise<Set<string>> {
  const found = new Set<string>();
  for (const pattern of ['tok:*', 'oidc:AuthorizationCode:*', 'oidc:PushedAuthorizationRequest:*']) {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}${pattern}`, 'COUNT', 1000);
      for (const key of keys) {
        const name = key.slice(prefix.length);
        // Index sets and revocation markers are not records.
        if (!/^tok:(idx|revoked):/.test(name)) found.add(name);
      }
      cursor = next;
    } while (cursor !== '0');
  }
  return found;
}

/** How a crafted JWS is signed. */
export type Signer =
  | { alg: 'none' }
  | { alg: 'HS256'; secret: Uint8Array }
  | { alg: string; privateJwk: JWK }
  | { alg: string; pkcs8: string };

/**
 * Signs a compact JWS with any header and algorithm (the payload as claims, or as JSON text
 * when it must be built by hand), FAPI-forbidden ones included (`none`, HS256
 * keyed with a public key, RS256, ES512) and header parameters a verifier must not trust (`jwk`,
 * `jku`, `x5u`, `x5c`).
 *
 * @example
 * await craftJws({ alg: 'none' }, { typ: 'JWT' }, { iss: clientId });
 */
export async function craftJws(
  signer: Signer,
  header: Record<string, unknown>,
  payload: Record<string, unknown> | string,
): Promise<string> {
  const protectedHeader = { ...header, alg: signer.alg };
  const json = typeof payload === 'string' ? payload : JSON.stringify(payload);
  const bytes = new TextEncoder().encode(json);
  if (signer.alg === 'none') {
    const encode = (text: string) => Buffer.from(text).toString('base64url');
    return `${encode(JSON.stringify(protectedHeader))}.${encode(json)}.`;
  }
  let key: Parameters<CompactSign['sign']>[0];
  if ('secret' in signer) key = signer.secret;
  else if ('pkcs8' in signer) key = await importPKCS8(signer.pkcs8, signer.alg);
  else if ('privateJwk' in signer) {
    // The JWK's own `alg` (PS256) would bind it to one algorithm; RS256 must be tried with it too.
    const { alg: _alg, ...jwk } = signer.privateJwk;
    key = await importJWK(jwk, signer.alg);
  } else throw new TypeError(`no key for ${signer.alg}`);
  return new CompactSign(bytes).setProtectedHeader(protectedHeader).sign(key);
}

/** A fresh key pair of `alg` as private and public JWKs (e.g. an attacker's, or an ES512 key). */
export async function freshKey(alg: 'ES256' | 'ES512' | 'PS256'): Promise<{ privateJwk: JWK; publicJwk: JWK }> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { privateJwk: await exportJWK(privateKey), publicJwk: await exportJWK(publicKey) };
}

/** The software's public signing key as SPKI PEM: the "secret" of the RS/HS confusion attack. */
export function publicKeyPem(software: TestSoftware): string {
  return createPublicKey({ key: software.signingKey.publicJwk, format: 'jwk' })
    .export({ type: 'spki', format: 'pem' })
    .toString();
}

/** RFC 7523 §3 claims of a client assertion for `clientId`, audience the issuer (FAPI 2.0 SP 5.3.2.1-7). */
export function assertionClaims(clientId: string, audience: string): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return { iss: clientId, sub: clientId, aud: audience, jti: randomUUID(), iat: now, exp: now + 60 };
}

/**
 * `claims` as JSON text with `name` set to an object nested `depth` levels deep
 * (`{"a":{"a":…}}`), to stress parsers and cloning; built as text because JSON.stringify itself
 * runs out of stack on such values.
 */
export function withDeeplyNestedClaim(claims: Record<string, unknown>, name: string, depth: number): string {
  const nested = `${'{"a":'.repeat(depth)}"bottom"${'}'.repeat(depth)}`;
  const { [name]: _replaced, ...rest } = claims;
  return `${JSON.stringify(rest).slice(0, -1)},${JSON.stringify(name)}:${nested}}`;
}

/**
 * The headers ingress-nginx sends upstream for a verified client certificate (what a proxy
 * writes when it calls auth-server's own port): the URL-encoded PEM leaf and `SUCCESS`.
 */
export function edgeCertificateHeaders(certPem: string): HeaderLines {
  return [
    ['ssl-client-cert', encodeURIComponent(certPem)],
    ['ssl-client-verify', 'SUCCESS'],
  ];
}
