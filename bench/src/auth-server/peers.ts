// auth-server's gRPC peers for the benchmarks, as a real gRPC server in the benchmark process:
// dcr-service's clients.v1.ClientRegistry serving the one registered TPP (harness/client-registry.ts).
// consent-service's Consents is not served: auth-server connects to it lazily and calls it only
// during login and consent, which no auth-server scenario here goes through.
import type { clientsV1 } from '@obip/contracts';
import { createGrpcServer } from '@obip/grpc';
import { createLogger } from '@obip/observability';
import { addClientRegistry } from '../harness/client-registry';

export interface AuthServerPeers {
  /** e.g. `ipv4:///127.0.0.1:40123` */
  target: string;
  calls(): { getClient: number };
  stop(): Promise<void>;
}

export async function startAuthServerPeers(clients: readonly clientsV1.Client[]): Promise<AuthServerPeers> {
  const server = createGrpcServer({
    serviceName: 'bench-peers',
    logger: createLogger({ service: 'bench-peers', level: 'silent' }),
  });
  const getClientCalls = addClientRegistry(server, clients);
  const port = await server.listen('127.0.0.1', 0);
  return {
    target: `ipv4:///127.0.0.1:${port}`,
    calls: () => ({ getClient: getClientCalls() }),
    stop: () => server.shutdown(0),
  };
}
