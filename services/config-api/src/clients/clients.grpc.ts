import { clientsV1, tokensV1 } from '@obip/contracts';
import { createGrpcClient } from '@obip/grpc';
import type { ClientRegistryPort, TokenRevokerPort } from './clients.service';

/**
 * dcr-service's ClientRegistry as the onboarding port. Reads are retried on UNAVAILABLE;
 * writes are not (CreateClient issues a new client id each time).
 */
export function createGrpcClientRegistry(target: string, deadlineMs: number) {
  const client = createGrpcClient(clientsV1.ClientRegistryClient, {
    target,
    defaultDeadlineMs: deadlineMs,
    idempotentMethods: ['getClient', 'listClients'],
  });
  const port: ClientRegistryPort = {
    async create(request) {
      return required((await client.call('createClient', request)).client);
    },
    async get(clientId) {
      return required((await client.call('getClient', { clientId })).client);
    },
    list: (request) => client.call('listClients', request),
    async setStatus(request) {
      return required((await client.call('setClientStatus', request)).client);
    },
  };
  return { port, close: () => client.close() };
}

/** auth-server's Tokens service as the revocation port; RevokeByClient is idempotent. */
export function createGrpcTokenRevoker(target: string, deadlineMs: number) {
  const client = createGrpcClient(tokensV1.TokensClient, {
    target,
    defaultDeadlineMs: deadlineMs,
    idempotentMethods: ['revokeByClient'],
  });
  const port: TokenRevokerPort = {
    async revokeByClient(clientId, reason) {
      return (await client.call('revokeByClient', { clientId, reason })).revokedCount;
    },
  };
  return { port, close: () => client.close() };
}

function required<T>(value: T | undefined): T {
  if (value === undefined) throw new Error('the peer answered without the client');
  return value;
}
