import { errors, type default as Provider } from 'oidc-provider';
import { DependencyUnavailableError, NotFoundError, PreconditionFailedError } from '@obip/errors';
import type { GrantStore } from '../adapter/adapter.mongo';
import type { CibaStore } from './ciba.store';

/** A customer's decision on a decoupled request, as consent-service delivers it. */
export interface CibaDecision {
  authenticationId: string;
  customerId: string;
  approved: boolean;
  /** On approval. */
  consentId?: string;
  openbankingIntentId?: string;
  acr?: string;
  amr?: string[];
  /** Unix seconds. */
  authenticatedAt?: number;
}

export interface CibaCompletionInput {
  /** The engine serving new requests (engines are swapped live). */
  engine: () => Provider;
  store: CibaStore;
  grants: Pick<GrantStore, 'linkConsent'>;
}

/** How long one delivery holds a request; a crashed one is redone after it. */
const COMPLETION_CLAIM_MS = 30_000;

const DENIED_DESCRIPTION = 'the customer denied the request';

/**
 * Applies a customer's decision to the engine's request (tokens.v1 CompleteAuthentication).
 * Approval: a grant for the request's scopes and requested claims, linked to the consent like
 * the redirect flow's, then `backchannelResult` (which pings a ping-mode client). Denial: the
 * client's next poll gets access_denied.
 *
 * Idempotent, as consent-service's outbox retries: a request that already has this decision is
 * left alone; one with the other decision is FAILED_PRECONDITION; an unknown or expired one
 * NOT_FOUND; a request another delivery is completing right now UNAVAILABLE, so it is retried.
 */
export function createCibaCompletion(input: CibaCompletionInput): (decision: CibaDecision) => Promise<void> {
  return async function complete(decision) {
    const provider = input.engine();
    const authReqId = await input.store.authReqIdOf(decision.authenticationId);
    const request = authReqId
      ? await provider.BackchannelAuthenticationRequest.find(authReqId, { ignoreExpiration: true })
      : undefined;
    if (!request || request.isExpired) {
      throw new NotFoundError('no pending decoupled authentication has this id; it may have expired', {
        code: 'authentication_not_found',
      });
    }
    if (request.accountId !== decision.customerId) {
      throw new PreconditionFailedError('the decision is not from the customer the request was addressed to', {
        code: 'wrong_customer',
      });
    }
    if (request.grantId || request.error) {
      const delivered = request.grantId !== undefined && request.error === undefined;
      if (delivered === decision.approved) return;
      throw new PreconditionFailedError('another decision was already delivered for this request', {
        code: 'already_decided',
      });
    }
    if (decision.approved && !decision.consentId) {
      throw new PreconditionFailedError('an approval must name its consent', { code: 'consent_required' });
    }
    if (!(await input.store.claimCompletion(decision.authenticationId, COMPLETION_CLAIM_MS))) {
      throw new DependencyUnavailableError('another delivery of this decision is under way; retry', {
        code: 'completion_in_progress',
      });
    }
    if (!decision.approved) {
      await provider.backchannelResult(request, new errors.AccessDenied(DENIED_DESCRIPTION));
      return;
    }
    const grant = new provider.Grant({ accountId: request.accountId, clientId: request.clientId });
    if (request.scope) grant.addOIDCScope(request.scope);
    const requestedClaims = [
      ...Object.keys(request.claims?.id_token ?? {}),
      ...Object.keys(request.claims?.userinfo ?? {}),
    ];
    if (requestedClaims.length > 0) grant.addOIDCClaims([...new Set(requestedClaims)]);
    const grantId = await grant.save();
    await input.grants.linkConsent(grantId, {
      consentId: decision.consentId as string,
      ...(decision.openbankingIntentId ? { openbankingIntentId: decision.openbankingIntentId } : {}),
    });
    await provider.backchannelResult(request, grant, {
      ...(decision.acr ? { acr: decision.acr } : {}),
      ...(decision.amr && decision.amr.length > 0 ? { amr: decision.amr } : {}),
      authTime: decision.authenticatedAt || Math.floor(Date.now() / 1000),
    });
  };
}
