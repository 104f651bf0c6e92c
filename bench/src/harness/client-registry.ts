// dcr-service's clients.v1.ClientRegistry as the benchmarks' peer: a real gRPC service serving a
// fixed set of registered clients (GetClient, ListClients), refusing the writes, counting the
// calls. Services under test cache its answers, so under load it sees a few calls a second.
import { clientsV1 } from '@obip/contracts';
import { DomainError, NotFoundError } from '@obip/errors';
import type { GrpcServer } from '@obip/grpc';

/** What a peer stand-in answers to an RPC the benchmarks never call. */
export const unimplementedInBench = () => {
  throw new DomainError({ code: 'unimplemented', kind: 'internal', description: 'not part of the benchmark peers' });
};

/**
 * Registers ClientRegistry on `server` with `clients`; returns the number of GetClient calls so far.
 *
 * @example
 * const getClientCalls = addClientRegistry(server, [tppClient]);
 */
export function addClientRegistry(server: GrpcServer, clients: readonly clientsV1.Client[]): () => number {
  const byId = new Map(clients.map((client) => [client.clientId, client]));
  let getClient = 0;
  server.addService(clientsV1.ClientRegistryService, {
    getClient: async ({ clientId }) => {
      getClient += 1;
      const client = byId.get(clientId);
      if (!client) throw new NotFoundError('no client has this id', { code: 'client_not_found' });
      return { client };
    },
    listClients: async () => ({ clients: [...byId.values()], nextPageToken: '' }),
    setClientStatus: unimplementedInBench,
    createClient: unimplementedInBench,
  });
  return () => getClient;
}
