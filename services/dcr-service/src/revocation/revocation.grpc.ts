import { tokensV1 } from '@obip/contracts';
import { createGrpcClient, type GrpcClient } from '@obip/grpc';
import type { TokenRevoker } from './revocation.service';

/**
 * auth-server's tokens.v1.Tokens as a {@link TokenRevoker}. Reconnect backoff is kept short
 * (≤ 2 s) so that the outbox's own backoff, not the channel's, decides when to retry.
 */
export function createGrpcTokenRevoker(options: { target: string; deadlineMs?: number }): TokenRevoker & {
  close(): void;
} {
  const client: GrpcClient<typeof tokensV1.TokensService> = createGrpcClient(tokensV1.TokensClient, {
    target: options.target,
    defaultDeadlineMs: options.deadlineMs ?? 3_000,
    idempotentMethods: ['revokeByClient'],
    channelOptions: {
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.min_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 2_000,
    },
  });
  return {
    async revokeByClient(clientId, reason) {
      const { revokedCount } = await client.call('revokeByClient', { clientId, reason });
      return revokedCount;
    },
    close: () => client.close(),
  };
}
