/**
 * The rules of decoupled authentication requests, as pure functions: what a request and a
 * decision must carry, when a request can still be decided, what the customer selects, and what
 * auth-server is told.
 */
import type { ConsentKind } from '../consents/consents.model';
import { AuthenticationDecidedError, CibaRequestError } from './ciba.errors';
import type { AuthenticationStatus, CompletedAuthentication, DecoupledAuthentication } from './ciba.model';

/** Bounds of every input (ARCHITECTURE: every input is bounded). */
export const CIBA_LIMITS = {
  idChars: 128,
  clientIdChars: 256,
  clientNameChars: 256,
  subjectChars: 255,
  scopeChars: 2_048,
  /** auth-server's own limit (CIBA_BINDING_MESSAGE_MAX_LENGTH) is at most this. */
  bindingMessageChars: 256,
  /** auth-server's longest auth_req_id lifetime (CIBA_MAX_EXPIRY_SECONDS) is an hour. */
  lifetimeSeconds: 86_400,
  accounts: 50,
  acrChars: 256,
  amrEntries: 10,
  amrChars: 64,
  actorChars: 256,
  /** Most pending requests listed for one customer. */
  pendingListed: 50,
} as const;

export interface StartInput {
  id: string;
  clientId: string;
  clientName: string;
  subject: string;
  scope: string;
  bindingMessage: string;
  intentId: string | undefined;
  expiresAt: Date;
}

export interface DecisionInput {
  authenticationId: string;
  /** The authenticated customer deciding. */
  subject: string;
  approve: boolean;
  accountIds: string[];
  acr: string;
  amr: string[];
  /** Empty records the customer (`customer:<subject>`). */
  actor: string;
}

function required(value: string, field: string, maxChars: number): void {
  if (!value) throw new CibaRequestError(`${field} is required`);
  bounded(value, field, maxChars);
}

function bounded(value: string, field: string, maxChars: number): void {
  if (value.length > maxChars) throw new CibaRequestError(`${field} is longer than ${maxChars} characters`);
}

/**
 * consents.v1 StartAuthentication: the id, client, subject and scope are required, and the
 * request expires in the future (and within a day: an auth_req_id lives minutes).
 */
export function checkStartInput(input: StartInput, now: Date): void {
  required(input.id, 'authentication_id', CIBA_LIMITS.idChars);
  required(input.clientId, 'client_id', CIBA_LIMITS.clientIdChars);
  bounded(input.clientName, 'client_name', CIBA_LIMITS.clientNameChars);
  required(input.subject, 'subject', CIBA_LIMITS.subjectChars);
  required(input.scope.trim(), 'scope', CIBA_LIMITS.scopeChars);
  bounded(input.bindingMessage, 'binding_message', CIBA_LIMITS.bindingMessageChars);
  bounded(input.intentId ?? '', 'openbanking_intent_id', CIBA_LIMITS.idChars);
  if (Number.isNaN(input.expiresAt.getTime()) || input.expiresAt.getTime() <= now.getTime()) {
    throw new CibaRequestError('expires_at must be in the future');
  }
  if (input.expiresAt.getTime() > now.getTime() + CIBA_LIMITS.lifetimeSeconds * 1000) {
    throw new CibaRequestError(`expires_at must be within ${CIBA_LIMITS.lifetimeSeconds} seconds`);
  }
}

/** consents.v1 DecideAuthentication: who decides, and on approval how they authenticated (acr). */
export function checkDecisionInput(input: DecisionInput): void {
  required(input.authenticationId, 'authentication_id', CIBA_LIMITS.idChars);
  required(input.subject, 'subject', CIBA_LIMITS.subjectChars);
  if (input.approve && !input.acr) throw new CibaRequestError('acr is required to approve');
  bounded(input.acr, 'acr', CIBA_LIMITS.acrChars);
  bounded(input.actor, 'actor', CIBA_LIMITS.actorChars);
  if (input.accountIds.length > CIBA_LIMITS.accounts) {
    throw new CibaRequestError(`at most ${CIBA_LIMITS.accounts} account_ids may be selected`);
  }
  if (input.amr.length > CIBA_LIMITS.amrEntries || input.amr.some((method) => method.length > CIBA_LIMITS.amrChars)) {
    throw new CibaRequestError(
      `amr holds at most ${CIBA_LIMITS.amrEntries} methods of ${CIBA_LIMITS.amrChars} characters`,
    );
  }
}

/** The status as the customer and auth-server see it at `now`: a Pending request past its expiry is Expired. */
export function statusAt(
  authentication: Pick<DecoupledAuthentication, 'status' | 'expiresAt'>,
  now: Date,
): AuthenticationStatus {
  return authentication.status === 'Pending' && authentication.expiresAt.getTime() <= now.getTime()
    ? 'Expired'
    : authentication.status;
}

/**
 * consents.v1 DecideAuthentication on a request already decided: the same decision again is
 * accepted (and changes nothing); the other one is refused.
 */
export function checkRepeatedDecision(authentication: Pick<DecoupledAuthentication, 'status'>, approve: boolean): void {
  const same = authentication.status === (approve ? 'Approved' : 'Denied');
  if (!same) throw new AuthenticationDecidedError(authentication.status);
}

/** The scopes of a space-separated scope string (RFC 6749 §3.3), each once. */
export function scopesOf(scope: string): string[] {
  return [...new Set(scope.split(' ').filter(Boolean))];
}

/**
 * Which accounts the customer chooses when approving, as the consent rules require them:
 * `several` (at least one) for an OBIE account-access intent, `one` (the debtor account) for a
 * payment, `optional` for a request without intent that asks for the `accounts` scope, and
 * `none` for anything else.
 */
export type AccountChoice = 'several' | 'one' | 'optional' | 'none';

export function accountChoiceOf(scopes: readonly string[], intentKind: ConsentKind | undefined): AccountChoice {
  if (intentKind === 'account-access') return 'several';
  if (intentKind === 'domestic-payment') return 'one';
  return scopes.includes('accounts') ? 'optional' : 'none';
}

/**
 * The selection made for the customer when none is given (the sandbox device API): every
 * account when accounts are shared, the payment's debtor account (or the first account) when one
 * is paid from, none otherwise.
 */
export function defaultAccountSelection(
  choice: AccountChoice,
  ownedAccountIds: readonly string[],
  debtorAccountId: string | undefined,
): string[] {
  switch (choice) {
    case 'several':
    case 'optional':
      return [...ownedAccountIds];
    case 'one': {
      const chosen = debtorAccountId ?? ownedAccountIds[0];
      return chosen === undefined ? [] : [chosen];
    }
    case 'none':
      return [];
  }
}

/** The consent an approval authorised or created; undefined before, on denial, or when the consent refused it. */
export function grantedConsentIdOf(
  authentication: Pick<DecoupledAuthentication, 'status' | 'consentId' | 'decision'>,
): string | undefined {
  return authentication.status === 'Approved' && authentication.decision?.consentStep !== 'failed'
    ? authentication.consentId
    : undefined;
}

/**
 * What auth-server is told (tokens.v1 CompleteAuthentication), once the consent step is over.
 * An approval whose consent step failed is told as a denial: no tokens without a consent. The
 * customer authenticated when they decided on the device, so that is `authenticatedAt`.
 */
export function completionOf(authentication: DecoupledAuthentication): CompletedAuthentication {
  const { decision } = authentication;
  if (!decision || decision.consentStep === 'pending') {
    throw new TypeError('a decision is completed only once its consent step is over');
  }
  const approved = decision.approved && decision.consentStep === 'done';
  return {
    authenticationId: authentication.id,
    subject: authentication.subject,
    approved,
    consentId: approved ? authentication.consentId : undefined,
    openbankingIntentId: approved ? authentication.intentId : undefined,
    acr: decision.acr,
    amr: decision.amr,
    authenticatedAt: decision.at,
  };
}

/** When a request may be removed: `retentionSeconds` after it expires, decided or not. */
export function purgeAtOf(expiresAt: Date, retentionSeconds: number): Date {
  return new Date(expiresAt.getTime() + retentionSeconds * 1000);
}
