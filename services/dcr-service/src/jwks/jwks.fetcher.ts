import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import type { JSONWebKeySet } from 'jose';
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
  if (remaining <= 0) return Promise.reject(new JwksFetchError('timed out'));
  return new Promise((resolve, reject) => {
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(url, {
      method: 'GET',
      headers: { accept: 'application/jwk-set+json, application/json' },
      lookup: options.allowPrivate ? undefined : publicOnlyLookup,
      agent: false,
    });
    const timer = setTimeout(() => req.destroy(new JwksFetchError('timed out')), remaining);
    const fail = (error: unknown) => {
      clearTimeout(timer);
      reject(error instanceof JwksFetchError ? error : new JwksFetchError('the request failed', error));
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
        fail(new JwksFetchError(`the server answered ${status}`));
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

// ---- address policy ----

const PRIVATE_RANGES = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  PRIVATE_RANGES.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
  ['64:ff9b::', 96],
] as const) {
  PRIVATE_RANGES.addSubnet(network, prefix, 'ipv6');
}

/** True for loopback, private (RFC 1918, ULA), link-local, CGNAT, multicast and reserved addresses. */
export function isPrivateAddress(address: string): boolean {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (mapped) return isPrivateAddress(mapped[1]!);
  const family = isIP(address);
  if (family === 0) return true;
  return PRIVATE_RANGES.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/** A `lookup` that fails the connection when any resolved address is private. */
const publicOnlyLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
    if (error) return callback(error, '', 0);
    const refused = addresses.find((entry) => isPrivateAddress(entry.address));
    if (refused || addresses.length === 0) {
      return callback(new JwksFetchError('private, loopback and link-local addresses are refused'), '', 0);
    }
    if (options.all) return callback(null, addresses as unknown as string, 0);
    const [first] = addresses;
    return callback(null, first!.address, first!.family);
  });
};
