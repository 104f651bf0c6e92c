import { tokensV1 } from '@obip/contracts';
import { createGrpcClient } from '@obip/grpc';
import type { TokenRevoker } from './revocation.service';

/**
 * auth-server's tokens.v1.Tokens as a {@link TokenRevoker}. Channel reconnect backoff is kept
 * short (≤ 2 s) so that the relay's own backoff, not the channel's, decides when to retry.
 *
 * @example
 * const revoker = createGrpcTokenRevoker({ target: settings.TOKENS_GRPC_TARGET });
 */
export function createGrpcTokenRevoker(options: {
  target: string;
  deadlineMs?: number;
}): TokenRevoker & { close(): void } {
  const client = createGrpcClient(tokensV1.TokensClient, {
    target: options.target,
    defaultDeadlineMs: options.deadlineMs ?? 3_000,
    idempotentMethods: ['revokeByConsent'],
    channelOptions: {
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.min_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 2_000,
    },
  });
  return {
    async revokeByConsent(consentId, reason) {
      const { revokedCount } = await client.call('revokeByConsent', { consentId, reason });
      return revokedCount;
    },
    close: () => client.close(),
  };
}
