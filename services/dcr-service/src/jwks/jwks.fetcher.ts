import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import type { JSONWebKeySet } from 'jose';
import { PrivateAddressError, isPrivateAddress, publicOnlyLookup } from '@obip/http';
import { JwksFetchError } from './jwks.errors';

/** OBIE DCR issue 3: JWKS responses are at most 64 KiB. */
export const MAX_JWKS_BYTES = 64 * 1024;
const MAX_REDIRECTS = 3;

export interface FetchJwksOptions {
  /** Whole-fetch budget, redirects included. */
  timeoutMs: number;
  /** Largest body accepted. Default {@link MAX_JWKS_BYTES}. */
  maxBytes?: number;
  /**
   * Allow private, loopback and link-local addresses, and plain http (sandbox and tests, and
   * URLs an operator configured). Off for TPP-supplied URLs in production: a TPP must not make
   * the bank call into its own network (SSRF).
   */
  allowPrivate: boolean;
}

export type JwksFetcher = (url: string, options: FetchJwksOptions) => Promise<JSONWebKeySet>;

/**
 * Fetches a JSON Web Key Set with the limits OBIE DCR asks of a bank calling TPP endpoints: a
 * timeout, a size limit, redirects followed only on the same host (at most three), and no
 * private-network addresses unless allowed. The address check runs on the resolved addresses
 * at connect time (a custom `lookup`), so DNS rebinding cannot slip a private address past it.
 *
 * @example
 * const jwks = await fetchJwks('https://keystore.example/tpp.jwks', { timeoutMs: 3000, allowPrivate: false });
 */
export const fetchJwks: JwksFetcher = async (url, options) => {
  const deadline = Date.now() + options.timeoutMs;
  let current = parseUrl(url, options);
  for (let redirects = 0; ; redirects += 1) {
    const response = await get(current, options, deadline);
    if (response.redirect === undefined) return parseJwks(response.body);
    if (redirects >= MAX_REDIRECTS) throw new JwksFetchError('too many redirects');
    const next = parseUrl(new URL(response.redirect, current).toString(), options);
    if (next.hostname !== current.hostname || next.port !== current.port) {
      throw new JwksFetchError('redirect to another host refused');
    }
    current = next;
  }
};

function parseUrl(text: string, options: FetchJwksOptions): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch (cause) {
    throw new JwksFetchError('not an absolute URL', cause);
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && options.allowPrivate)) {
    throw new JwksFetchError('the URL must use https');
  }
  if (url.username || url.password) throw new JwksFetchError('the URL must not carry credentials');
  const literal = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(literal) && !options.allowPrivate && isPrivateAddress(literal)) {
    throw new JwksFetchError('private, loopback and link-local addresses are refused');
  }
  return url;
}

interface RawResponse {
  redirect?: string;
  body: Buffer;
}

function get(url: URL, options: FetchJwksOptions, deadline: number): Promise<RawResponse> {
  const maxBytes = options.maxBytes ?? MAX_JWKS_BYTES;
  const remaining = deadline - Date.now();
  if (remaining <= 0) return Promise.reject(new JwksFetchError('timed out', undefined, { transient: true }));
  return new Promise((resolve, reject) => {
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(url, {
      method: 'GET',
      headers: { accept: 'application/jwk-set+json, application/json' },
      lookup: options.allowPrivate ? undefined : publicOnlyLookup,
      agent: false,
    });
    const timer = setTimeout(
      () => req.destroy(new JwksFetchError('timed out', undefined, { transient: true })),
      remaining,
    );
    const fail = (error: unknown) => {
      clearTimeout(timer);
      if (error instanceof PrivateAddressError) {
        reject(new JwksFetchError('private, loopback and link-local addresses are refused', error));
      } else
        reject(
          error instanceof JwksFetchError
            ? error
            : new JwksFetchError('the request failed', error, { transient: true }),
        );
    };
    req.once('error', fail);
    req.once('response', (res: IncomingMessage) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location) {
        res.resume();
        clearTimeout(timer);
        resolve({ redirect: res.headers.location, body: Buffer.alloc(0) });
        return;
      }
      if (status !== 200) {
        res.resume();
        fail(new JwksFetchError(`the server answered ${status}`, undefined, { transient: status >= 500 }));
        return;
      }
      const declared = Number(res.headers['content-length'] ?? NaN);
      if (declared > maxBytes) {
        req.destroy(new JwksFetchError(`larger than ${maxBytes} bytes`));
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBytes) req.destroy(new JwksFetchError(`larger than ${maxBytes} bytes`));
        else chunks.push(chunk);
      });
      res.once('error', fail);
      res.once('end', () => {
        clearTimeout(timer);
        resolve({ body: Buffer.concat(chunks) });
      });
    });
    req.end();
  });
}

function parseJwks(body: Buffer): JSONWebKeySet {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch (cause) {
    throw new JwksFetchError('the response is not JSON', cause);
  }
  const keys = (value as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || !keys.every((key) => typeof key === 'object' && key !== null && !Array.isArray(key))) {
    throw new JwksFetchError('the response is not a JWK Set');
  }
  return { keys: keys as JSONWebKeySet['keys'] };
}
