/**
 * A decoupled (CIBA) authentication request as the customer's authentication device sees it:
 * auth-server accepted a client's backchannel request and asked this service to get the
 * customer's decision (consents.v1 StartAuthentication); the customer approves or denies it in
 * the portal; the decision is then delivered back to auth-server.
 */
import type { OutboxDeliveryFields } from '../outbox/outbox.service';

/**
 * Pending → Approved | Denied, by the customer. Expired is never stored: a Pending request whose
 * `expiresAt` has passed reads as Expired (there is nothing to sweep) and can no longer be decided.
 */
export type AuthenticationStatus = 'Pending' | 'Approved' | 'Denied' | 'Expired';

/** The statuses a stored request can have. */
export type RecordedAuthenticationStatus = Exclude<AuthenticationStatus, 'Expired'>;

/**
 * What became of the decision's consent step: the intent authorised or rejected, or the GENERIC
 * consent created. `failed` when the consent refused it for good (e.g. the intent expired
 * meanwhile): an approval is then delivered as a denial, as no consent backs it.
 */
export type ConsentStep = 'pending' | 'done' | 'failed';

/** The customer's decision, as recorded. */
export interface AuthenticationDecision {
  approved: boolean;
  /** The accounts the customer selected on approval. */
  accountIds: string[];
  /** How the customer authenticated on the device (Open Banking ACR); may be empty on denial. */
  acr: string;
  /** RFC 8176 methods of that authentication. */
  amr: string[];
  /** Who recorded it, for consent histories (`customer:<subject>`, `sandbox:device-api`). */
  actor: string;
  at: Date;
  consentStep: ConsentStep;
  /** Why the consent step failed; empty otherwise. */
  consentError: string;
}

/** The delivery of the decision to auth-server (tokens.v1 CompleteAuthentication): an outbox entry. */
export type DecisionDelivery = OutboxDeliveryFields;

export interface DecoupledAuthentication {
  /** auth-server's reference for the request. */
  id: string;
  clientId: string;
  /** Shown to the customer; the client id when the client registered no name. */
  clientName: string;
  /** The customer asked to decide. */
  subject: string;
  /** The OAuth scopes requested, space-separated, as auth-server sent them. */
  scope: string;
  /** The client's binding_message; empty when it sent none. */
  bindingMessage: string;
  /** The OBIE intent the request authorises; undefined when a GENERIC consent is created instead. */
  intentId: string | undefined;
  status: AuthenticationStatus;
  /**
   * The consent the approval authorises (the intent) or creates (chosen when the decision is
   * recorded, so that creating it can be repeated); undefined before a decision.
   */
  consentId: string | undefined;
  createdAt: Date;
  expiresAt: Date;
  decision: AuthenticationDecision | undefined;
  delivery: DecisionDelivery | undefined;
}

/** A request about to be stored (consents.v1 StartAuthentication). */
export type NewDecoupledAuthentication = Omit<
  DecoupledAuthentication,
  'status' | 'consentId' | 'decision' | 'delivery'
>;

/** What auth-server is told (tokens.v1 CompleteAuthenticationRequest), in domain terms. */
export interface CompletedAuthentication {
  authenticationId: string;
  subject: string;
  approved: boolean;
  /** On approval: the consent its tokens are linked to. */
  consentId: string | undefined;
  /** On approval of an OBIE intent: the intent id, echoed in the ID token. */
  openbankingIntentId: string | undefined;
  acr: string;
  amr: string[];
  authenticatedAt: Date;
}
