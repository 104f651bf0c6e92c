import { tokensV1 } from '@obip/contracts';
import { createGrpcClient } from '@obip/grpc';
import type { AuthenticationCompleter } from '../ciba/ciba.delivery.service';
import type { TokenRevoker } from '../revocation/revocation.service';

/**
 * auth-server's tokens.v1.Tokens, the one channel both outboxes deliver through: revocation
 * cascades ({@link TokenRevoker}) and decisions on decoupled authentications
 * ({@link AuthenticationCompleter}). Both methods are idempotent (tokens.v1), so the channel may
 * retry them on UNAVAILABLE. Reconnect backoff is kept short (≤ 2 s) so that the relays' own
 * backoff, not the channel's, decides when to retry.
 *
 * @example
 * const tokens = createGrpcTokensClient({ target: settings.TOKENS_GRPC_TARGET });
 */
export function createGrpcTokensClient(options: {
  target: string;
  deadlineMs?: number;
}): TokenRevoker & AuthenticationCompleter & { close(): void } {
  const client = createGrpcClient(tokensV1.TokensClient, {
    target: options.target,
    defaultDeadlineMs: options.deadlineMs ?? 3_000,
    idempotentMethods: ['revokeByConsent', 'completeAuthentication'],
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
    async completeAuthentication(completion) {
      await client.call('completeAuthentication', {
        authenticationId: completion.authenticationId,
        subject: completion.subject,
        approved: completion.approved,
        consentId: completion.consentId ?? '',
        openbankingIntentId: completion.openbankingIntentId ?? '',
        acr: completion.acr,
        amr: completion.amr,
        authenticatedAt: Math.floor(completion.authenticatedAt.getTime() / 1000),
      });
    },
    close: () => client.close(),
  };
}
