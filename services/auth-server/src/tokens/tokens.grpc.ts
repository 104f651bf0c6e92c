import type { tokensV1 } from '@obip/contracts';
import type { ServiceHandlers } from '@obip/grpc';
import type { Logger } from '@obip/observability';
import type { TokenRevocation } from './tokens.revocation.service';

/** The full name auth-server reports gRPC health for. */
export const TOKENS_GRPC_SERVICE = 'obip.tokens.v1.Tokens';

/**
 * `obip.tokens.v1.Tokens` over the revocation cascade: proto in, domain call, proto out. Errors
 * become gRPC statuses in @obip/grpc's one interceptor (an empty id is INVALID_ARGUMENT, a store
 * that does not answer UNAVAILABLE, so callers' outboxes retry).
 *
 * @example
 * grpcServer.addService(tokensV1.TokensService, createTokensGrpcHandlers(revocation, logger));
 */
export function createTokensGrpcHandlers(
  revocation: TokenRevocation,
  logger: Pick<Logger, 'info'>,
): ServiceHandlers<typeof tokensV1.TokensService> {
  return {
    async revokeByConsent({ consentId, reason }) {
      const revokedCount = await revocation.revokeByConsent(consentId);
      logger.info({ consentId, reason, revokedCount }, 'revoked by consent');
      return { revokedCount };
    },
    async revokeByClient({ clientId, reason }) {
      const revokedCount = await revocation.revokeByClient(clientId);
      logger.info({ clientId, reason, revokedCount }, 'revoked by client');
      return { revokedCount };
    },
    async revokeGrant({ grantId, reason }) {
      const revokedCount = await revocation.revokeGrant(grantId);
      logger.info({ grantId, reason, revokedCount }, 'revoked grant');
      return { revokedCount };
    },
  };
}
