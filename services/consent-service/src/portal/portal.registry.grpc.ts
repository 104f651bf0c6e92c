// dcr-service's clients.v1.ClientRegistry for the portal: its own registration (the
// PortalClientRegistry port) and the names and logos of TPPs (the TppDirectory port). gRPC
// statuses arrive as DomainErrors (@obip/grpc fromGrpcError); what they mean here is decided
// here (STYLE habit 5).
import { clientsV1 } from '@obip/contracts';
import { DomainError } from '@obip/errors';
import { createGrpcClient } from '@obip/grpc';
import type { PortalClientRegistry, RegisteredClientStatus } from './portal.client';
import type { TppDescription, TppDirectory } from './portal.http';

const STATUS_FROM_PROTO: Partial<Record<clientsV1.ClientStatus, RegisteredClientStatus>> = {
  [clientsV1.ClientStatus.CLIENT_STATUS_ACTIVE]: 'active',
  [clientsV1.ClientStatus.CLIENT_STATUS_PENDING]: 'pending',
  [clientsV1.ClientStatus.CLIENT_STATUS_SUSPENDED]: 'suspended',
  [clientsV1.ClientStatus.CLIENT_STATUS_REJECTED]: 'rejected',
};

const STATUS_TO_PROTO: Record<Exclude<RegisteredClientStatus, 'pending'>, clientsV1.ClientStatus> = {
  active: clientsV1.ClientStatus.CLIENT_STATUS_ACTIVE,
  suspended: clientsV1.ClientStatus.CLIENT_STATUS_SUSPENDED,
  rejected: clientsV1.ClientStatus.CLIENT_STATUS_REJECTED,
};

const isNotFound = (error: unknown) => error instanceof DomainError && error.kind === 'not_found';

export interface GrpcClientRegistryOptions {
  /** gRPC target of dcr-service, e.g. `dns:///dcr-service-headless:50052`. */
  target: string;
  deadlineMs?: number;
  /** How long a TPP's name and logo are reused, in ms. Default 60 000. */
  describeCacheMs?: number;
  /** Most TPPs kept. Default 1 000. */
  maxCached?: number;
  now?: () => number;
}

/**
 * @example
 * const registry = createGrpcClientRegistry({ target: settings.CLIENT_REGISTRY_GRPC_TARGET });
 * const clientId = await registry.createFirstPartyClient({ metadata, softwareId, orgId, reason });
 */
export function createGrpcClientRegistry(
  options: GrpcClientRegistryOptions,
): PortalClientRegistry & TppDirectory & { close(): void } {
  const now = options.now ?? Date.now;
  const cacheMs = options.describeCacheMs ?? 60_000;
  const maxCached = options.maxCached ?? 1_000;
  const cache = new Map<string, { description: TppDescription | undefined; until: number }>();
  const client = createGrpcClient(clientsV1.ClientRegistryClient, {
    target: options.target,
    defaultDeadlineMs: options.deadlineMs ?? 3_000,
    // CreateClient is not idempotent (a new client_id each call); the others are.
    idempotentMethods: ['getClient', 'setClientStatus'],
  });

  async function getClient(clientId: string): Promise<clientsV1.Client | undefined> {
    try {
      return (await client.call('getClient', { clientId })).client;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  return {
    async createFirstPartyClient(request) {
      const { client: created } = await client.call('createClient', {
        metadataJson: JSON.stringify(request.metadata),
        softwareId: request.softwareId,
        orgId: request.orgId,
        actor: 'consent-service',
        reason: request.reason,
        // DPoP-bound tokens need FAPI 2.0 (provider.profile.rules.ts), whatever the platform default.
        fapiProfile: clientsV1.FapiProfile.FAPI_PROFILE_FAPI2_SECURITY,
        firstParty: true,
      });
      if (!created?.clientId) throw new Error('CreateClient returned no client');
      return created.clientId;
    },

    async statusOf(clientId) {
      const found = await getClient(clientId);
      return found ? STATUS_FROM_PROTO[found.status] : undefined;
    },

    async setStatus(clientId, status, reason) {
      await client.call('setClientStatus', {
        clientId,
        status: STATUS_TO_PROTO[status],
        reason,
        actor: 'consent-service',
      });
    },

    async describe(clientId) {
      const cached = cache.get(clientId);
      if (cached && cached.until > now()) return cached.description;
      const found = await getClient(clientId);
      let description: TppDescription | undefined;
      if (found) {
        const metadata = JSON.parse(found.metadataJson) as { client_name?: unknown; logo_uri?: unknown };
        description = {
          name: typeof metadata.client_name === 'string' && metadata.client_name !== '' ? metadata.client_name : '',
          logoUri: typeof metadata.logo_uri === 'string' ? metadata.logo_uri : undefined,
        };
      }
      cache.delete(clientId);
      if (cache.size >= maxCached) cache.delete(cache.keys().next().value as string);
      cache.set(clientId, { description, until: now() + cacheMs });
      return description;
    },

    close: () => client.close(),
  };
}
