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

/**
 * The engine's Client model, read from dcr-service's ClientRegistry over gRPC with a short
 * cache of the registry's answers (the engine metadata is derived on every lookup, under the
 * profile policy in force). Clients are owned by dcr-service: every write method refuses.
 *
 * @example
 * const clients = createClientAdapter({ registry, cacheTtlMs: 30_000, policy: { defaultProfile: 'fapi2-security', parForFapi1: false } });
 */
export function createClientAdapter(options: ClientAdapterOptions): ClientAdapter {
  const now = options.now ?? Date.now;
  const maxEntries = options.maxEntries ?? 10_000;
  const cache = new Map<string, { client: clientsV1.Client; until: number }>();
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

  const readOnly = async () => {
    throw new TypeError('clients are registered at dcr-service; auth-server does not write them');
  };

  return {
    async find(clientId) {
      let client = cache.get(clientId);
      if (!client || client.until <= now()) {
        cache.delete(clientId);
        const loaded = await load(clientId);
        client = loaded ? { client: loaded, until: now() + options.cacheTtlMs } : undefined;
        // Only clients that may authenticate are kept: a suspended one is asked for again, so a
        // reinstatement applies at once.
        if (client && options.cacheTtlMs > 0 && loaded?.status === clientsV1.ClientStatus.CLIENT_STATUS_ACTIVE) {
          if (cache.size >= maxEntries) cache.delete(cache.keys().next().value as string);
          cache.set(clientId, client);
        }
      }
      return client ? (engineMetadataOf(client.client, policy()) as AdapterPayload | undefined) : undefined;
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
