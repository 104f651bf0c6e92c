/**
 * The consent state machine and the rules around it, as pure functions. Every transition is
 * named here once; the service applies it as one conditional update.
 */
import { CONSENT_ERROR_CODES, ConsentDecisionError, ConsentKindError, ConsentStatusError } from './consents.errors';
import type { Consent, ConsentKind, ConsentStatus, IdentityRelease } from './consents.model';

export type TransitionName = 'authorise' | 'reject' | 'consume' | 'revoke' | 'expire';

export interface TransitionRule {
  from: readonly ConsentStatus[];
  to: ConsentStatus;
  /** Kinds the transition applies to. */
  kinds: readonly ConsentKind[];
  /** Past participle, for error descriptions. */
  verb: string;
  /**
   * Whether asking again for a transition that already happened returns the consent unchanged
   * (consents.v1: "repeating the transition that already happened returns the consent
   * unchanged"). Consuming is the exception: consents.v1 ConsumeConsent is not idempotent, a
   * payment consent is spent exactly once.
   */
  repeatable: boolean;
  /** Whether the tokens issued under the consent must be revoked at auth-server afterwards. */
  cascades: boolean;
}

const ALL_KINDS: readonly ConsentKind[] = ['account-access', 'domestic-payment', 'generic'];

/**
 * The lifecycle (issue 5; OBIE 3.1 consent status codes): AwaitingAuthorisation → Authorised |
 * Rejected; Authorised → Revoked for access consents (OBIE account-access-consents have no
 * Consumed) or Consumed for payments (OBIE domestic-payment-consents have no Revoked); any
 * non-final status → Expired. Generic (RFC 9396) consents may be revoked or consumed.
 */
export const TRANSITIONS: Readonly<Record<TransitionName, TransitionRule>> = {
  authorise: {
    from: ['AwaitingAuthorisation'],
    to: 'Authorised',
    kinds: ALL_KINDS,
    verb: 'authorised',
    repeatable: true,
    cascades: false,
  },
  reject: {
    from: ['AwaitingAuthorisation'],
    to: 'Rejected',
    kinds: ALL_KINDS,
    verb: 'rejected',
    repeatable: true,
    cascades: false,
  },
  consume: {
    from: ['Authorised'],
    to: 'Consumed',
    kinds: ['domestic-payment', 'generic'],
    verb: 'consumed',
    repeatable: false,
    cascades: false,
  },
  revoke: {
    from: ['Authorised'],
    to: 'Revoked',
    kinds: ['account-access', 'generic'],
    verb: 'revoked',
    repeatable: true,
    cascades: true,
  },
  expire: {
    from: ['AwaitingAuthorisation', 'Authorised'],
    to: 'Expired',
    kinds: ALL_KINDS,
    verb: 'expired',
    repeatable: true,
    cascades: true,
  },
};

const FINAL_STATUSES: readonly ConsentStatus[] = ['Rejected', 'Revoked', 'Consumed', 'Expired'];

export function isFinalStatus(status: ConsentStatus): boolean {
  return FINAL_STATUSES.includes(status);
}

/** What to do with a requested transition. */
export type TransitionDecision =
  | { action: 'apply'; from: ConsentStatus; to: ConsentStatus }
  /** The consent is already where the transition leads: return it unchanged. */
  | { action: 'unchanged' };

/**
 * Decides whether `transition` may be applied to `consent` as it is now. Throws
 * {@link ConsentKindError} or {@link ConsentStatusError} (FAILED_PRECONDITION) when it may not;
 * nothing is changed in that case.
 *
 * @example
 * decideTransition(consent, 'revoke'); // { action: 'apply', from: 'Authorised', to: 'Revoked' }
 */
export function decideTransition(
  consent: Pick<Consent, 'kind' | 'status'>,
  transition: TransitionName,
): TransitionDecision {
  const rule = TRANSITIONS[transition];
  if (!rule.kinds.includes(consent.kind)) throw new ConsentKindError(rule.verb, consent.kind);
  if (rule.from.includes(consent.status)) return { action: 'apply', from: consent.status, to: rule.to };
  if (consent.status === rule.to) {
    if (rule.repeatable) return { action: 'unchanged' };
    throw new ConsentStatusError(rule.verb, consent.status, CONSENT_ERROR_CODES.alreadyConsumed);
  }
  throw new ConsentStatusError(rule.verb, consent.status);
}

/**
 * When a consent that is not final expires: at its ExpirationDateTime, and while it awaits
 * authorisation also at the end of the authorisation window (issue 5). Undefined when never.
 */
export function expiryDueAt(
  consent: Pick<Consent, 'status' | 'expiresAt' | 'authorisationDeadline'>,
): Date | undefined {
  if (isFinalStatus(consent.status)) return undefined;
  const candidates = [consent.expiresAt];
  if (consent.status === 'AwaitingAuthorisation') candidates.push(consent.authorisationDeadline);
  const times = candidates.filter((date): date is Date => date !== undefined).map((date) => date.getTime());
  return times.length === 0 ? undefined : new Date(Math.min(...times));
}

/** True when the consent should be Expired at `now` but is not yet recorded so. */
export function isExpiryDue(
  consent: Pick<Consent, 'status' | 'expiresAt' | 'authorisationDeadline'>,
  now: Date,
): boolean {
  const due = expiryDueAt(consent);
  return due !== undefined && due.getTime() <= now.getTime();
}

/**
 * The end of the authorisation window of a consent created at `createdAt`: `windowSeconds`
 * later, or its ExpirationDateTime if that comes first.
 */
export function authorisationDeadlineOf(createdAt: Date, windowSeconds: number, expiresAt: Date | undefined): Date {
  const windowEnd = createdAt.getTime() + windowSeconds * 1000;
  return new Date(expiresAt ? Math.min(windowEnd, expiresAt.getTime()) : windowEnd);
}

/**
 * The accounts a customer selects when authorising (consents.v1 AuthorizeConsentRequest: "each
 * must belong to the subject"): no duplicates, every one owned; an account-access consent
 * needs at least one account, a payment consent exactly one (the debtor account, OBIE PISP:
 * the PSU selects the account to pay from when the TPP did not name it). When the payment
 * names a DebtorAccount, the selection must be that account.
 */
export function checkAccountSelection(
  kind: ConsentKind,
  selected: readonly string[],
  owned: readonly string[],
  requiredAccountId?: string,
): void {
  if (new Set(selected).size !== selected.length) {
    throw new ConsentDecisionError('an account is selected twice', CONSENT_ERROR_CODES.invalidAccounts);
  }
  const foreign = selected.filter((accountId) => !owned.includes(accountId));
  if (foreign.length > 0) {
    throw new ConsentDecisionError(
      'a selected account is not held by the customer',
      CONSENT_ERROR_CODES.invalidAccounts,
    );
  }
  if (kind === 'account-access' && selected.length === 0) {
    throw new ConsentDecisionError('account access needs at least one account', CONSENT_ERROR_CODES.invalidAccounts);
  }
  if (kind === 'domestic-payment') {
    if (selected.length !== 1) {
      throw new ConsentDecisionError('a payment needs exactly one debtor account', CONSENT_ERROR_CODES.invalidAccounts);
    }
    if (requiredAccountId !== undefined && selected[0] !== requiredAccountId) {
      throw new ConsentDecisionError(
        'the selected account is not the DebtorAccount of the payment',
        CONSENT_ERROR_CODES.invalidAccounts,
      );
    }
  }
}

/** Bounds of an identity release (consents.v1 AuthorizeConsentRequest.identity_release_json). */
export const IDENTITY_RELEASE_LIMITS = { entries: 8, trustFrameworkChars: 64, claims: 32 } as const;

/** A claim name as OpenID Connect and OIDC4IDA spell them: lower snake case, top-level only. */
const CLAIM_NAME = /^[a-z][a-z0-9_]{0,63}$/;

/**
 * The verified identity data a customer released, as the caller sent it (consents.v1:
 * `[{"trust_framework", "claims": [names]}]`, names only, never values): at most
 * {@link IDENTITY_RELEASE_LIMITS}.entries entries, each naming its verification's trust framework
 * and 1 to 32 distinct claim names. Nothing else may appear in an entry, so no claim value can
 * be recorded on a consent by mistake. Returns the release in this service's terms; throws
 * {@link ConsentDecisionError} (invalid_identity_release) otherwise.
 *
 * @example
 * checkIdentityRelease([{ trust_framework: 'uk_tfida', claims: ['given_name'] }]);
 * // [{ trustFramework: 'uk_tfida', claims: ['given_name'] }]
 */
export function checkIdentityRelease(entries: readonly unknown[]): IdentityRelease[] {
  const refuse = (description: string) =>
    new ConsentDecisionError(`identity release: ${description}`, CONSENT_ERROR_CODES.invalidIdentityRelease);
  if (entries.length > IDENTITY_RELEASE_LIMITS.entries) {
    throw refuse(`at most ${IDENTITY_RELEASE_LIMITS.entries} entries may be released`);
  }
  return entries.map((entry, index) => {
    const at = `entry ${index + 1}`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw refuse(`${at} is not an object`);
    const { trust_framework: trustFramework, claims, ...others } = entry as Record<string, unknown>;
    const [other] = Object.keys(others);
    if (other !== undefined) throw refuse(`${at} has a member other than trust_framework and claims: ${other}`);
    if (
      typeof trustFramework !== 'string' ||
      trustFramework.length === 0 ||
      trustFramework.length > IDENTITY_RELEASE_LIMITS.trustFrameworkChars
    ) {
      throw refuse(
        `${at}: trust_framework must be a string of 1 to ${IDENTITY_RELEASE_LIMITS.trustFrameworkChars} characters`,
      );
    }
    if (!Array.isArray(claims) || claims.length === 0 || claims.length > IDENTITY_RELEASE_LIMITS.claims) {
      throw refuse(`${at}: claims must be an array of 1 to ${IDENTITY_RELEASE_LIMITS.claims} claim names`);
    }
    if (!claims.every((name): name is string => typeof name === 'string' && CLAIM_NAME.test(name))) {
      throw refuse(`${at}: every claim must be a claim name like given_name (${CLAIM_NAME.source})`);
    }
    if (new Set(claims).size !== claims.length) throw refuse(`${at}: a claim is named twice`);
    return { trustFramework, claims: [...claims] };
  });
}

/**
 * The reason recorded with an approval: what the customer approved and, when they released
 * verified identity data, which claims under which trust framework (names only), so that the
 * consent's history says what was shared.
 */
export function approvalReason(release: readonly IdentityRelease[]): string {
  if (release.length === 0) return 'approved by the customer';
  const released = release.map((entry) => `${entry.claims.join(', ')} (${entry.trustFramework})`).join('; ');
  return `approved by the customer; verified identity released: ${released}`;
}

/** Most authorization_details objects one generic consent may carry. */
export const MAX_AUTHORIZATION_DETAILS = 20;

/**
 * The grant of a generic consent (consents.v1 CreateGenericConsentRequest): the
 * authorization_details are an array of objects, each with a string `type` (RFC 9396 §2), at
 * most {@link MAX_AUTHORIZATION_DETAILS} of them; and the consent grants something, scopes or
 * authorization_details.
 */
export function checkGenericGrant(scopes: readonly string[], authorizationDetails: unknown): void {
  if (!Array.isArray(authorizationDetails)) {
    throw new ConsentDecisionError('authorization_details must be a JSON array');
  }
  if (authorizationDetails.length > MAX_AUTHORIZATION_DETAILS) {
    throw new ConsentDecisionError(`authorization_details may hold at most ${MAX_AUTHORIZATION_DETAILS} objects`);
  }
  const typed = (detail: unknown) =>
    typeof detail === 'object' &&
    detail !== null &&
    !Array.isArray(detail) &&
    typeof (detail as { type?: unknown }).type === 'string' &&
    (detail as { type: string }).type !== '';
  if (!authorizationDetails.every(typed)) {
    throw new ConsentDecisionError('each authorization_details entry must be an object with a type (RFC 9396 §2)');
  }
  if (scopes.length === 0 && authorizationDetails.length === 0) {
    throw new ConsentDecisionError('a consent needs scopes or authorization_details to grant');
  }
}

/**
 * OBIE Read/Write API 3.1 "Idempotency": an x-idempotency-key binds its payment consent for 24
 * hours (`ttlSeconds`, a setting); after that the same key may be sent again and creates a new
 * consent. A reservation made at or before this instant no longer binds its key.
 */
export function idempotencyKeyCutoff(now: Date, ttlSeconds: number): Date {
  return new Date(now.getTime() - ttlSeconds * 1000);
}

/** Whether the reservation of an idempotency key has outlived its window at `now`. */
export function isIdempotencyKeyExpired(reservation: { createdAt: Date }, now: Date, ttlSeconds: number): boolean {
  return reservation.createdAt <= idempotencyKeyCutoff(now, ttlSeconds);
}
