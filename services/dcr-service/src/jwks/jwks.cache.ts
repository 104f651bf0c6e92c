import { createLocalJWKSet, errors as joseErrors, type JSONWebKeySet, type JWSHeaderParameters } from 'jose';
import type { KeyResolver } from '../registration/registration.rules';
import type { FetchJwksOptions, JwksFetcher } from './jwks.fetcher';

export interface JwksCacheOptions {
  fetcher: JwksFetcher;
  timeoutMs: number;
  /** How long a fetched set is used before it is fetched again. */
  ttlMs: number;
  /** Least time between two refetches of one set triggered by an unknown `kid`. */
  refreshCooldownMs: number;
  /** Allow private addresses and http for TPP-supplied URIs (sandbox, tests). */
  allowPrivate: boolean;
  now?: () => number;
}

interface Entry {
  jwks: JSONWebKeySet;
  resolve: ReturnType<typeof createLocalJWKSet>;
  fetchedAt: number;
}

/**
 * The key resolver of the registration rules: key sets by URI, cached for `ttlMs`, fetched
 * again when a JWS names a `kid` the cached set lacks (a TPP rotated its keys) — at most once per
 * `refreshCooldownMs`, so a flood of unknown kids cannot turn the bank into a load generator.
 * Concurrent fetches of one URI share one request.
 *
 * @example
 * const keys = createJwksCache({ fetcher: fetchJwks, timeoutMs: 3000, ttlMs: 300_000, refreshCooldownMs: 10_000, allowPrivate: false });
 * await compactVerify(jws, (header) => keys.keyFor(uri, header, { trusted: false }));
 */
export function createJwksCache(options: JwksCacheOptions): KeyResolver & {
  /** The cached (or freshly fetched) key set at `uri`. */
  keySet(uri: string, trusted: boolean): Promise<JSONWebKeySet>;
  /**
   * Drops the key set at `uri`, and keeps none a fetch still under way brings back: the next use
   * fetches it again. For a directory that stopped being trusted, whose keys must not outlive it.
   */
  forget(uri: string): void;
} {
  const now = options.now ?? Date.now;
  const entries = new Map<string, Entry>();
  const inFlight = new Map<string, Promise<Entry>>();

  const fetchOptions = (trusted: boolean): FetchJwksOptions => ({
    timeoutMs: options.timeoutMs,
    allowPrivate: trusted || options.allowPrivate,
  });

  // Fetches and cached sets are kept apart by trust: a set fetched for a URI from our own
  // settings (a directory) skips the private-address rule, so it must never answer for the same
  // URI named by a TPP (a software statement naming the directory's loopback key set).
  const flightKey = (uri: string, trusted: boolean) => `${trusted ? 't' : 'u'} ${uri}`;

  function load(uri: string, trusted: boolean): Promise<Entry> {
    const key = flightKey(uri, trusted);
    let pending = inFlight.get(key);
    if (!pending) {
      // Only the fetch still registered under `key` may store its result: `forget` unregisters it.
      const fetching: Promise<Entry> = options
        .fetcher(uri, fetchOptions(trusted))
        .then((jwks) => {
          const entry = { jwks, resolve: createLocalJWKSet(jwks), fetchedAt: now() };
          if (inFlight.get(key) === fetching) entries.set(key, entry);
          return entry;
        })
        .finally(() => {
          if (inFlight.get(key) === fetching) inFlight.delete(key);
        });
      pending = fetching;
      inFlight.set(key, pending);
    }
    return pending;
  }

  async function current(uri: string, trusted: boolean): Promise<Entry> {
    const cached = entries.get(flightKey(uri, trusted));
    if (cached && now() - cached.fetchedAt < options.ttlMs) return cached;
    return load(uri, trusted);
  }

  return {
    async keySet(uri, trusted) {
      return (await current(uri, trusted)).jwks;
    },

    async keyFor(uri, header: JWSHeaderParameters, { trusted }) {
      const entry = await current(uri, trusted);
      try {
        return await entry.resolve(header);
      } catch (error) {
        const unknownKid = error instanceof joseErrors.JWKSNoMatchingKey;
        if (!unknownKid || now() - entry.fetchedAt < options.refreshCooldownMs) throw error;
        const refreshed = await load(uri, trusted);
        return refreshed.resolve(header);
      }
    },

    forget(uri) {
      entries.delete(flightKey(uri, true));
      entries.delete(flightKey(uri, false));
      inFlight.delete(flightKey(uri, true));
      inFlight.delete(flightKey(uri, false));
    },
  };
}
