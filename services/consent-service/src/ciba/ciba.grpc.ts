/**
 * The decoupled-authentication methods of consents.v1.Consents over gRPC (FindCustomer,
 * StartAuthentication, ListPendingAuthentications, DecideAuthentication): proto messages in,
 * domain calls, proto messages out. `consents.grpc.ts` serves them with the rest of the service.
 */
import { consentsV1 } from '@obip/contracts';
import type { ServiceHandlers } from '@obip/grpc';
import type { AuthenticationStatus, DecoupledAuthentication } from './ciba.model';
import { grantedConsentIdOf } from './ciba.rules';
import type { DecoupledAuthenticationService } from './ciba.service';

const STATUS_TO_PROTO: Record<AuthenticationStatus, consentsV1.AuthenticationStatus> = {
  Pending: consentsV1.AuthenticationStatus.AUTHENTICATION_STATUS_PENDING,
  Approved: consentsV1.AuthenticationStatus.AUTHENTICATION_STATUS_APPROVED,
  Denied: consentsV1.AuthenticationStatus.AUTHENTICATION_STATUS_DENIED,
  Expired: consentsV1.AuthenticationStatus.AUTHENTICATION_STATUS_EXPIRED,
};

const seconds = (date: Date | undefined) => (date ? Math.floor(date.getTime() / 1000) : 0);

/** The request as consents.v1 describes it. */
export function toProtoAuthentication(authentication: DecoupledAuthentication): consentsV1.DecoupledAuthentication {
  return {
    authenticationId: authentication.id,
    clientId: authentication.clientId,
    clientName: authentication.clientName,
    subject: authentication.subject,
    scope: authentication.scope,
    bindingMessage: authentication.bindingMessage,
    openbankingIntentId: authentication.intentId ?? '',
    status: STATUS_TO_PROTO[authentication.status],
    consentId: grantedConsentIdOf(authentication) ?? '',
    createdAt: seconds(authentication.createdAt),
    expiresAt: seconds(authentication.expiresAt),
    decidedAt: seconds(authentication.decision?.at),
  };
}

export type CibaGrpcHandlers = Pick<
  ServiceHandlers<typeof consentsV1.ConsentsService>,
  'findCustomer' | 'startAuthentication' | 'listPendingAuthentications' | 'decideAuthentication'
>;

/**
 * @example
 * const handlers = { ...consentHandlers, ...createCibaGrpcHandlers({ authentications }) };
 */
export function createCibaGrpcHandlers(dependencies: {
  authentications: DecoupledAuthenticationService;
}): CibaGrpcHandlers {
  const { authentications } = dependencies;
  return {
    async findCustomer(request) {
      return { subject: await authentications.findCustomer(request.loginHint) };
    },
    async startAuthentication(request) {
      const { authentication } = await authentications.start({
        id: request.authenticationId,
        clientId: request.clientId,
        clientName: request.clientName,
        subject: request.subject,
        scope: request.scope,
        bindingMessage: request.bindingMessage,
        intentId: request.openbankingIntentId || undefined,
        expiresAt: new Date(request.expiresAt * 1000),
      });
      return { authentication: toProtoAuthentication(authentication) };
    },
    async listPendingAuthentications(request) {
      const pending = await authentications.listPending(request.subject);
      return { authentications: pending.map(toProtoAuthentication) };
    },
    async decideAuthentication(request) {
      const decided = await authentications.decide({
        authenticationId: request.authenticationId,
        subject: request.subject,
        approve: request.approve,
        accountIds: request.accountIds,
        acr: request.acr,
        amr: request.amr,
        actor: request.actor,
      });
      return { authentication: toProtoAuthentication(decided) };
    },
  };
}
