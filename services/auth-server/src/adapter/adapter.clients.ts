import { errors, type Adapter, type AdapterPayload } from 'oidc-provider';
import { clientsV1 } from '@obip/contracts';
import { DomainError } from '@obip/errors';
import type { GrpcClient } from '@obip/grpc';
import { isAdministratorClient } from '../provider/provider.admin';
import { FIRST_PARTY_METADATA } from '../provider/provider.configuration';
import {
  isPlatformProfile,
  requireProfileMetadata,
  type PlatformProfile,
  type ProfilePolicy,
} from '../provider/provider.profile.rules';

export type ClientRegistryGrpcClient = GrpcClient<typeof clientsV1.ClientRegistryClient.service>;

export interface ClientAdapterOptions {
  registry: ClientRegistryGrpcClient;
  /** How long a client read from dcr-service is reused (ms). 0 disables the cache. */
  cacheTtlMs: number;
  /**
   * The platform's profile policy (default profile, PAR for FAPI 1.0), read on every lookup so a
   * live settings change applies to cached clients too.
   */
  policy: ProfilePolicy | (() => ProfilePolicy);
  /**
   * How long before its expiry a cached client is read again in the background, while the cached
   * answer keeps serving (ms), so that a client in use never expires under its requests. Default
   * a tenth of `cacheTtlMs`, at most 5 s.
   */
  refreshAheadMs?: number;
  /** Largest number of clients kept. Default 10 000. */
  maxEntries?: number;
  now?: () => number;
}

export interface ClientAdapter extends Adapter {
  /** Forgets a cached client, e.g. when dcr-service reports a change. */
  invalidate(clientId: string): void;
}

const PROFILE_FROM_PROTO: Partial<Record<clientsV1.FapiProfile, PlatformProfile>> = {
  [clientsV1.FapiProfile.FAPI_PROFILE_FAPI1_ADVANCED]: 'fapi1-advanced',
  [clientsV1.FapiProfile.FAPI_PROFILE_FAPI2_SECURITY]: 'fapi2-security',
  [clientsV1.FapiProfile.FAPI_PROFILE_FAPI2_MESSAGE_SIGNING]: 'fapi2-message-signing',
};

/**
 * Engine client metadata from a dcr-service client: the registered metadata, its JWKS and
 * certificate binding, and what its FAPI profile requires (see requireProfileMetadata).
 * Undefined for a client that may not authenticate (suspended or pending), so the engine
 * answers invalid_client as for an unknown one.
 */
export function engineMetadataOf(client: clientsV1.Client, policy: ProfilePolicy): Record<string, unknown> | undefined {
  if (client.status !== clientsV1.ClientStatus.CLIENT_STATUS_ACTIVE) return undefined;
  const metadata = JSON.parse(client.metadataJson) as Record<string, unknown>;
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) return undefined;
  metadata.client_id = client.clientId;
  if (client.jwksJson) {
    // The registry resolved the keys behind jwks_uri under its own fetch policy (size, timeout,
    // no private addresses); the engine uses those and never fetches the URI itself.
    metadata.jwks = JSON.parse(client.jwksJson) as unknown;
    delete metadata.jwks_uri;
  }
  if (client.tlsClientAuthSubjectDn) metadata.tls_client_auth_subject_dn = client.tlsClientAuthSubjectDn;
  // From the registry's own field only: whatever the registered metadata says is overwritten.
  metadata[FIRST_PARTY_METADATA] = client.firstParty === true;
  const registered = PROFILE_FROM_PROTO[client.fapiProfile];
  const required = requireProfileMetadata(
    metadata,
    isPlatformProfile(registered) ? registered : policy.defaultProfile,
    policy,
  );
  if (isAdministratorClient(metadata)) delete required.tls_client_certificate_bound_access_tokens;
  return required;
}

interface CachedClient {
  client: clientsV1.Client;
  until: number;
  refreshFrom: number;
  /** The engine metadata derived under one profile policy, reused while that policy holds. */
  derived?: { policyKey: string; metadata: Record<string, unknown> | undefined };
}

/**
 * The engine's Client model, read from dcr-service's ClientRegistry over gRPC with a short
 * cache of the registry's answers. Clients are owned by dcr-service: every write method refuses.
 *
 * - One lookup per client at a time: requests that find no fresh entry share the pending
 *   ClientRegistry call, so an expiry under load costs one call, not one per request in flight.
 * - A client in use is read again in the background shortly before it expires
 *   (`refreshAheadMs`); until the new answer arrives, or if that lookup fails, the cached one
 *   serves until its expiry.
 * - The engine metadata is derived once per answer and profile policy (the policy in force is
 *   read on every lookup), and each lookup gets its own copy: the engine normalises what it is given.
 * - Only active clients are kept; an unknown client is asked for again; a failed lookup is never
 *   cached (every request that shared it gets its error: a 503 when the registry is unavailable).
 *
 * @example
 * const clients = createClientAdapter({ registry, cacheTtlMs: 30_000, policy: { defaultProfile: 'fapi2-security', parForFapi1: false } });
 */
export function createClientAdapter(options: ClientAdapterOptions): ClientAdapter {
  const now = options.now ?? Date.now;
  const maxEntries = options.maxEntries ?? 10_000;
  const refreshAheadMs = options.refreshAheadMs ?? Math.min(5_000, Math.floor(options.cacheTtlMs / 10));
  const cache = new Map<string, CachedClient>();
  const pending = new Map<string, Promise<clientsV1.Client | undefined>>();
  const policy = typeof options.policy === 'function' ? options.policy : () => options.policy as ProfilePolicy;

  async function load(clientId: string): Promise<clientsV1.Client | undefined> {
    try {
      const { client } = await options.registry.call('getClient', { clientId });
      return client;
    } catch (error) {
      if (error instanceof DomainError && error.kind === 'not_found') return undefined;
      if (error instanceof DomainError && error.kind === 'unavailable') {
        const unavailable = new errors.TemporarilyUnavailable('the client registry is unavailable, try again later');
        unavailable.status = 503;
        unavailable.statusCode = 503;
        unavailable.expose = true;
        throw unavailable;
      }
      throw error;
    }
  }

  /** The registry's answer, asked for once however many requests wait for it. */
  function lookup(clientId: string): Promise<clientsV1.Client | undefined> {
    const inFlight = pending.get(clientId);
    if (inFlight) return inFlight;
    const flight: Promise<clientsV1.Client | undefined> = load(clientId)
      .then((loaded) => {
        // Unless invalidated meanwhile: an answer read before a change is not kept.
        if (pending.get(clientId) === flight) remember(clientId, loaded);
        return loaded;
      })
      .finally(() => {
        if (pending.get(clientId) === flight) pending.delete(clientId);
      });
    pending.set(clientId, flight);
    return flight;
  }

  function remember(clientId: string, loaded: clientsV1.Client | undefined): void {
    // Only clients that may authenticate are kept: a suspended one is asked for again, so a
    // reinstatement applies at once.
    if (!loaded || options.cacheTtlMs <= 0 || loaded.status !== clientsV1.ClientStatus.CLIENT_STATUS_ACTIVE) {
      cache.delete(clientId);
      return;
    }
    if (!cache.has(clientId) && cache.size >= maxEntries) cache.delete(cache.keys().next().value as string);
    const until = now() + options.cacheTtlMs;
    cache.set(clientId, { client: loaded, until, refreshFrom: until - refreshAheadMs });
  }

  function metadataOf(entry: Pick<CachedClient, 'client' | 'derived'>): AdapterPayload | undefined {
    const current = policy();
    const policyKey = `${current.defaultProfile} ${current.parForFapi1}`;
    if (entry.derived?.policyKey !== policyKey) {
      entry.derived = { policyKey, metadata: engineMetadataOf(entry.client, current) };
    }
    const { metadata } = entry.derived;
    return metadata === undefined ? undefined : (copyOfJson(metadata) as AdapterPayload);
  }

  const readOnly = async () => {
    throw new TypeError('clients are registered at dcr-service; auth-server does not write them');
  };

  return {
    async find(clientId) {
      const cached = cache.get(clientId);
      if (cached && cached.until > now()) {
        if (cached.refreshFrom <= now() && !pending.has(clientId)) {
          // In the background: a failure leaves the cached answer serving until its expiry.
          lookup(clientId).catch(() => undefined);
        }
        return metadataOf(cached);
      }
      if (cached) cache.delete(clientId);
      const loaded = await lookup(clientId);
      if (!loaded) return undefined;
      const remembered = cache.get(clientId);
      return metadataOf(remembered?.client === loaded ? remembered : { client: loaded });
    },
    invalidate(clientId) {
      cache.delete(clientId);
      pending.delete(clientId);
    },
    upsert: readOnly,
    consume: readOnly,
    destroy: readOnly,
    revokeByGrantId: readOnly,
    findByUid: async () => undefined,
    findByUserCode: async () => undefined,
  };
}

/** A deep copy of a JSON value (objects, arrays, primitives): cheaper than parsing it again. */
function copyOfJson(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(copyOfJson);
  if (typeof value !== 'object' || value === null) return value;
  const copy: Record<string, unknown> = {};
  for (const [key, entry] of Object.entries(value)) {
    // As JSON.parse does: `__proto__` is an own property, never the prototype.
    if (key === '__proto__') Object.defineProperty(copy, key, { value: copyOfJson(entry), enumerable: true });
    else copy[key] = copyOfJson(entry);
  }
  return copy;
}
