import { errors as engineErrors } from 'oidc-provider';
import type { tokensV1 } from '@obip/contracts';
import { BadRequestError, DependencyUnavailableError } from '@obip/errors';
import type { ServiceHandlers } from '@obip/grpc';
import type { Logger } from '@obip/observability';
import type { CibaDecision } from '../ciba/ciba.completion';
import type { TokenRevocation } from './tokens.revocation.service';

/** The full name auth-server reports gRPC health for. */
export const TOKENS_GRPC_SERVICE = 'obip.tokens.v1.Tokens';

/**
 * `obip.tokens.v1.Tokens` over the revocation cascade and CIBA decisions: proto in, domain call,
 * proto out. Errors
 * become gRPC statuses in @obip/grpc's one interceptor (an empty id is INVALID_ARGUMENT, a store
 * that does not answer UNAVAILABLE, so callers' outboxes retry).
 *
 * @example
 * grpcServer.addService(tokensV1.TokensService, createTokensGrpcHandlers(revocation, completion, logger));
 */
export function createTokensGrpcHandlers(
  revocation: TokenRevocation,
  completeAuthentication: (decision: CibaDecision) => Promise<void>,
  logger: Pick<Logger, 'info'>,
): ServiceHandlers<typeof tokensV1.TokensService> {
  return {
    async revokeByConsent({ consentId, reason }) {
      const revokedCount = await fromEngineErrors(() => revocation.revokeByConsent(consentId));
      logger.info({ consentId, reason, revokedCount }, 'revoked by consent');
      return { revokedCount };
    },
    async revokeByClient({ clientId, reason }) {
      const revokedCount = await fromEngineErrors(() => revocation.revokeByClient(clientId));
      logger.info({ clientId, reason, revokedCount }, 'revoked by client');
      return { revokedCount };
    },
    async revokeGrant({ grantId, reason }) {
      const revokedCount = await fromEngineErrors(() => revocation.revokeGrant(grantId));
      logger.info({ grantId, reason, revokedCount }, 'revoked grant');
      return { revokedCount };
    },
    async completeAuthentication(request) {
      if (!request.authenticationId || !request.subject) {
        throw new BadRequestError('authentication_id and subject are required');
      }
      await fromEngineErrors(() =>
        completeAuthentication({
          authenticationId: request.authenticationId,
          customerId: request.subject,
          approved: request.approved,
          ...(request.consentId ? { consentId: request.consentId } : {}),
          ...(request.openbankingIntentId ? { openbankingIntentId: request.openbankingIntentId } : {}),
          ...(request.acr ? { acr: request.acr } : {}),
          amr: request.amr,
          ...(request.authenticatedAt ? { authenticatedAt: request.authenticatedAt } : {}),
        }),
      );
      logger.info(
        { authenticationId: request.authenticationId, approved: request.approved, consentId: request.consentId },
        'decoupled authentication completed',
      );
      return {};
    },
  };
}

/**
 * The store adapters answer an outage with the engine's 503 `temporarily_unavailable`
 * (adapter.errors.ts), which the gRPC interceptor does not know: back to the domain's
 * DependencyUnavailableError, so the caller gets UNAVAILABLE and its outbox retries (STYLE habit
 * 5), not INTERNAL.
 */
async function fromEngineErrors<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof engineErrors.TemporarilyUnavailable) {
      throw new DependencyUnavailableError(error.error_description ?? 'a store is unavailable', { cause: error });
    }
    throw error;
  }
}
