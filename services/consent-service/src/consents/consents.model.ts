/**
 * The consent as this service knows it, independent of OBIE wire shapes and of gRPC: the bank's
 * record of what a customer allowed which client to do.
 */

/** What a consent authorises. */
export type ConsentKind = 'account-access' | 'domestic-payment' | 'generic';

/**
 * Lifecycle states (OBIE status names). AwaitingAuthorisation → Authorised | Rejected;
 * Authorised → Revoked (access) | Consumed (payments); a non-final state → Expired.
 */
export type ConsentStatus = 'AwaitingAuthorisation' | 'Authorised' | 'Rejected' | 'Revoked' | 'Consumed' | 'Expired';

export const CONSENT_STATUSES: readonly ConsentStatus[] = [
  'AwaitingAuthorisation',
  'Authorised',
  'Rejected',
  'Revoked',
  'Consumed',
  'Expired',
];

/** One change of status: who made it, when and why (the consent's audit trail). */
export interface ConsentHistoryEntry {
  from: ConsentStatus | null;
  to: ConsentStatus;
  at: Date;
  /** `client:<id>`, `customer:<subject>`, `auth-server`, `system:expiry`, … */
  actor: string;
  /** Free text, no secrets. */
  reason: string;
}

/**
 * The tokens issued under a consent must be revoked at auth-server: an outbox entry kept on the
 * consent document itself, so that it is written by the same single-document update that
 * revokes (or expires) the consent and can never be lost between two writes.
 */
export interface TokenCascade {
  state: 'pending' | 'delivered';
  reason: string;
  attempts: number;
  nextAttemptAt: Date;
  lastError: string;
  deliveredAt: Date | null;
}

/**
 * Verified identity data the customer agreed to release to the client (issue 13, OpenID Connect
 * for Identity Assurance 1.0): the names of the claims released from one verification, never
 * their values. The values stay in the bank's customer directory.
 */
export interface IdentityRelease {
  /** The trust framework of the verification released from, e.g. `uk_tfida`. */
  trustFramework: string;
  /** Names of the claims released from it, e.g. `given_name`. */
  claims: string[];
}

export interface Consent {
  id: string;
  kind: ConsentKind;
  clientId: string;
  status: ConsentStatus;
  /** The customer who authorised or rejected it; undefined while awaiting authorisation. */
  subject: string | undefined;
  /** OBIE permission codes (account access); empty otherwise. */
  permissions: string[];
  /** Accounts the customer selected when authorising. */
  accountIds: string[];
  /** Verified identity data released when the customer authorised it; empty when none. */
  identityRelease: IdentityRelease[];
  /** OAuth scopes a generic consent was created from; empty otherwise. */
  scopes: string[];
  /**
   * What was requested, as the client sent it and as validated: the OBIE `Data` (without the
   * server-assigned fields) for intents, the RFC 9396 `authorization_details` for generic ones.
   */
  request: Record<string, unknown>;
  /** The OBIE `Risk` block, echoed back; empty for generic consents. */
  risk: Record<string, unknown>;
  createdAt: Date;
  statusUpdatedAt: Date;
  /** ExpirationDateTime: when an access consent stops being usable; undefined when it does not expire. */
  expiresAt: Date | undefined;
  /** The end of the authorisation window: an AwaitingAuthorisation consent expires then. */
  authorisationDeadline: Date;
  history: ConsentHistoryEntry[];
  /** Incremented by every transition. */
  revision: number;
  cascade: TokenCascade | undefined;
}

/** A consent about to be stored: everything the store does not decide itself. */
export type NewConsent = Omit<
  Consent,
  'history' | 'revision' | 'cascade' | 'statusUpdatedAt' | 'status' | 'subject' | 'identityRelease'
>;
