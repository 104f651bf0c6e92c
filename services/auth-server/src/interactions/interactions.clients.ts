// dcr-service's clients.v1.ClientRegistry as the FirstPartyClients port of the interactions.
// gRPC statuses arrive as DomainErrors (@obip/grpc fromGrpcError); what they mean for the
// consent step is decided here (STYLE habit 5).
import { clientsV1 } from '@obip/contracts';
import { DependencyUnavailableError, DomainError } from '@obip/errors';
import type { GrpcClient } from '@obip/grpc';
import type { FirstPartyClients } from './interactions.ports';

/**
 * Reads the first-party mark from the registry on each call (one GetClient, only when a consent
 * step could be skipped). An unknown client is not first-party; a registry that cannot answer
 * makes the step a 503, never a consent page shown or skipped by mistake.
 *
 * @example
 * const firstParty = createRegistryFirstPartyClients(registry);
 * await firstParty.isFirstParty(clientId); // true for consent-service's portal
 */
export function createRegistryFirstPartyClients(
  registry: Pick<GrpcClient<typeof clientsV1.ClientRegistryClient.service>, 'call'>,
): FirstPartyClients {
  return {
    async isFirstParty(clientId) {
      try {
        const { client } = await registry.call('getClient', { clientId });
        return client?.status === clientsV1.ClientStatus.CLIENT_STATUS_ACTIVE && client.firstParty === true;
      } catch (error) {
        if (error instanceof DomainError && error.kind === 'not_found') return false;
        if (error instanceof DomainError && error.kind !== 'internal') throw error;
        throw new DependencyUnavailableError('the client registry could not answer', { cause: error });
      }
    },
  };
}
