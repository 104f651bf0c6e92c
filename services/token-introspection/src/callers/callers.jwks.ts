// Key sets behind callers' jwks_uris: fetched with a timeout and a size limit, never from a
// private address unless allowed (SSRF), cached, and fetched again at most once per cooldown
// when a client rotates its keys.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import type { JSONWebKeySet } from 'jose';
import { isPrivateAddress, publicOnlyLookup } from '@obip/http';
import type { CallerKeySets } from './callers.service';

/** A caller key set is a few keys; 64 KiB is generous (OBIE DCR uses the same bound). */
export const MAX_JWKS_BYTES = 64 * 1024;

export interface CallerKeySetsOptions {
  /** Whole-fetch budget. */
  timeoutMs: number;
  /** How long a fetched set is reused. */
  ttlMs: number;
  /** Least time between two forced refetches of one set (unknown kid). Default 10 000. */
  refreshCooldownMs?: number;
  /** Allow http and private, loopback and link-local addresses (sandbox, tests). */
  allowPrivate: boolean;
  maxBytes?: number;
  /** Clock in ms, for tests. */
  now?: () => number;
}

interface Entry {
  jwks: JSONWebKeySet;
  fetchedAt: number;
}

/**
 * Creates the CallerKeySets adapter. Concurrent fetches of one URI share one request.
 *
 * @example
 * const keySets = createHttpCallerKeySets({ timeoutMs: 2000, ttlMs: 300_000, allowPrivate: false });
 * await keySets.keySet('https://gateway.bank.example/jwks');
 */
export function createHttpCallerKeySets(options: CallerKeySetsOptions): CallerKeySets {
  const now = options.now ?? Date.now;
  const cooldownMs = options.refreshCooldownMs ?? 10_000;
  const entries = new Map<string, Entry>();
  const inFlight = new Map<string, Promise<Entry>>();

  function load(uri: string): Promise<Entry> {
    let pending = inFlight.get(uri);
    if (!pending) {
      pending = fetchKeySet(uri, options)
        .then((jwks) => {
          const entry = { jwks, fetchedAt: now() };
          entries.set(uri, entry);
          return entry;
        })
        .finally(() => inFlight.delete(uri));
      inFlight.set(uri, pending);
    }
    return pending;
  }

  return {
    async keySet(uri, { refresh = false } = {}) {
      const cached = entries.get(uri);
      if (cached) {
        const age = now() - cached.fetchedAt;
        if (refresh ? age < cooldownMs : age < options.ttlMs) return cached.jwks;
      }
      return (await load(uri)).jwks;
    },
  };
}

/** Fetches one JWK Set: https only (unless allowPrivate), no redirects, bounded in time and size. */
export async function fetchKeySet(uri: string, options: CallerKeySetsOptions): Promise<JSONWebKeySet> {
  const url = new URL(uri);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && options.allowPrivate))
    throw new Error('jwks_uri must use https');
  if (url.username || url.password) throw new Error('jwks_uri must not carry credentials');
  const literal = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(literal) && !options.allowPrivate && isPrivateAddress(literal))
    throw new Error('jwks_uri points at a private address');
  const body = await get(url, options);
  const value: unknown = JSON.parse(body.toString('utf8'));
  const keys = (value as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || !keys.every((key) => typeof key === 'object' && key !== null && !Array.isArray(key)))
    throw new Error('jwks_uri did not return a JWK Set');
  return { keys: keys as JSONWebKeySet['keys'] };
}

function get(url: URL, options: CallerKeySetsOptions): Promise<Buffer> {
  const maxBytes = options.maxBytes ?? MAX_JWKS_BYTES;
  return new Promise((resolve, reject) => {
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(url, {
      method: 'GET',
      headers: { accept: 'application/jwk-set+json, application/json' },
      lookup: options.allowPrivate ? undefined : publicOnlyLookup,
      agent: false,
    });
    const timer = setTimeout(() => req.destroy(new Error('jwks_uri timed out')), options.timeoutMs);
    const fail = (error: unknown) => {
      clearTimeout(timer);
      reject(error);
    };
    req.once('error', fail);
    req.once('response', (res: IncomingMessage) => {
      if (res.statusCode !== 200) {
        res.resume();
        fail(new Error(`jwks_uri answered ${res.statusCode}`));
        return;
      }
      if (Number(res.headers['content-length'] ?? 0) > maxBytes) {
        req.destroy(new Error(`jwks_uri body larger than ${maxBytes} bytes`));
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBytes) req.destroy(new Error(`jwks_uri body larger than ${maxBytes} bytes`));
        else chunks.push(chunk);
      });
      res.once('error', fail);
      res.once('end', () => {
        clearTimeout(timer);
        resolve(Buffer.concat(chunks));
      });
    });
    req.end();
  });
}
