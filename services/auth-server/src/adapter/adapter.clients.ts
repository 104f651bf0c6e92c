import { errors, type Adapter, type AdapterPayload } from 'oidc-provider';
import { clientsV1 } from '@obip/contracts';
import { DomainError } from '@obip/errors';
import type { GrpcClient } from '@obip/grpc';
import { isPlatformProfile, requireProfileMetadata, type PlatformProfile } from '../provider/provider.profile.rules';

export type ClientRegistryGrpcClient = GrpcClient<typeof clientsV1.ClientRegistryClient.service>;

export interface ClientAdapterOptions {
  registry: ClientRegistryGrpcClient;
  /** How long a client read from dcr-service is reused (ms). 0 disables the cache. */
  cacheTtlMs: number;
  /** Profile of a client registered without one. */
  defaultProfile: PlatformProfile;
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
export function engineMetadataOf(
  client: clientsV1.Client,
  defaultProfile: PlatformProfile,
): Record<string, unknown> | undefined {
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
  const registered = PROFILE_FROM_PROTO[client.fapiProfile];
  return requireProfileMetadata(metadata, isPlatformProfile(registered) ? registered : defaultProfile);
}

/**
 * The engine's Client model, read from dcr-service's ClientRegistry over gRPC with a short
 * cache. Clients are owned by dcr-service: every write method refuses.
 *
 * @example
 * const clients = createClientAdapter({ registry, cacheTtlMs: 30_000, defaultProfile: 'fapi2-security' });
 */
export function createClientAdapter(options: ClientAdapterOptions): ClientAdapter {
  const now = options.now ?? Date.now;
  const maxEntries = options.maxEntries ?? 10_000;
  const cache = new Map<string, { metadata: Record<string, unknown>; until: number }>();

  async function load(clientId: string): Promise<Record<string, unknown> | undefined> {
    try {
      const { client } = await options.registry.call('getClient', { clientId });
      return client ? engineMetadataOf(client, options.defaultProfile) : undefined;
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

  const readOnly = async () => {
    throw new TypeError('clients are registered at dcr-service; auth-server does not write them');
  };

  return {
    async find(clientId) {
      const cached = cache.get(clientId);
      if (cached && cached.until > now()) return cached.metadata as AdapterPayload;
      cache.delete(clientId);
      const metadata = await load(clientId);
      if (metadata && options.cacheTtlMs > 0) {
        if (cache.size >= maxEntries) cache.delete(cache.keys().next().value as string);
        cache.set(clientId, { metadata, until: now() + options.cacheTtlMs });
      }
      return metadata as AdapterPayload | undefined;
    },
    invalidate: (clientId) => void cache.delete(clientId),
    upsert: readOnly,
    consume: readOnly,
    destroy: readOnly,
    revokeByGrantId: readOnly,
    findByUid: async () => undefined,
    findByUserCode: async () => undefined,
  };
}
