/**
 * The portal's cookies: a random id signed with HMAC-SHA256 (the state lives server-side, in
 * Redis), so a forged or altered cookie is refused before any lookup. Keys rotate: the first
 * signs, every one verifies.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export interface CookieOptions {
  /** Secure, and the `__Secure-` name prefix, when the portal is served over https. */
  secure: boolean;
  /** Max-Age in seconds; omitted for a browser-session cookie. */
  maxAgeSeconds?: number;
}

/** The cookies' path: they are the portal's only, not auth-server's on the same host. */
export const COOKIE_PATH = '/portal';

const sign = (key: string, value: string) => createHmac('sha256', key).update(value).digest('base64url');

/**
 * Signs and verifies cookie values with rotating keys.
 *
 * @example
 * const signer = createCookieSigner(['k'.repeat(32)]);
 * signer.verify(signer.sign('abc')); // 'abc'
 */
export function createCookieSigner(keys: readonly string[]) {
  if (keys.length === 0) throw new TypeError('at least one cookie key is required');
  return {
    sign: (value: string) => `${value}.${sign(keys[0]!, value)}`,
    /** The value when one of the keys signed it; undefined otherwise. */
    verify(signed: string | undefined): string | undefined {
      if (!signed) return undefined;
      const at = signed.lastIndexOf('.');
      if (at <= 0) return undefined;
      const value = signed.slice(0, at);
      const mac = Buffer.from(signed.slice(at + 1));
      for (const key of keys) {
        const expected = Buffer.from(sign(key, value));
        if (expected.length === mac.length && timingSafeEqual(expected, mac)) return value;
      }
      return undefined;
    },
  };
}

export type CookieSigner = ReturnType<typeof createCookieSigner>;

/** The cookie's name: with `__Secure-` over https (RFC 6265bis §4.1.3.1), so only a secure origin can set it. */
export function cookieName(base: string, secure: boolean): string {
  return secure ? `__Secure-${base}` : base;
}

/**
 * A Set-Cookie value: HttpOnly, SameSite=Lax (the sign-in returns by a top-level redirect, which
 * Lax allows; cross-site subrequests and POSTs carry no cookie), Path=/portal, Secure over https.
 */
export function serializeCookie(name: string, value: string, options: CookieOptions): string {
  return [
    `${name}=${value}`,
    `Path=${COOKIE_PATH}`,
    'HttpOnly',
    'SameSite=Lax',
    ...(options.secure ? ['Secure'] : []),
    ...(options.maxAgeSeconds === undefined ? [] : [`Max-Age=${options.maxAgeSeconds}`]),
  ].join('; ');
}

/** A Set-Cookie value that removes the cookie. */
export function clearCookie(name: string, secure: boolean): string {
  return serializeCookie(name, '', { secure, maxAgeSeconds: 0 });
}

/** The value of one cookie in a Cookie header; undefined when absent or present more than once. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  const values = header
    .split(';')
    .map((part) => part.trim())
    .filter((part) => part.startsWith(`${name}=`))
    .map((part) => part.slice(name.length + 1));
  return values.length === 1 ? values[0] : undefined;
}
