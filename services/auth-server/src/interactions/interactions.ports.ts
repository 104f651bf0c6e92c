import type { IdentityRelease, VerifiedClaims } from '../ekyc/ekyc.rules';

/** A customer the bank's directory has authenticated. */
export interface AuthenticatedCustomer {
  customerId: string;
  /** Open Banking ACR of the method used (`urn:openbanking:psd2:sca` after a password login in the sandbox). */
  acr: string;
  /** RFC 8176 methods, e.g. `pwd`. */
  amr: string[];
}

export interface CustomerAccount {
  accountId: string;
  /** What the customer sees, e.g. "Current account ••1234". */
  displayName: string;
}

export interface ConsentRequest {
  clientId: string;
  customerId: string;
  /** The scopes the client asked for. */
  scope: string;
  /** Accounts the customer chose. */
  accountIds: string[];
  /** `openbanking_intent_id` of the request, when the TPP created an intent first. */
  intentId?: string;
  /** RFC 9396 authorization_details the customer was shown and approves with the scopes. */
  authorizationDetails?: unknown[];
  /** Verified identity data (OIDC4IDA) the customer agreed to release: names per trust framework. */
  identityRelease?: IdentityRelease[];
}

/** The consent the decision created or authorised. */
export interface RecordedConsent {
  consentId: string;
  /** Set when the consent is an Open Banking intent (then echoed in the ID token). */
  openbankingIntentId?: string;
}

/** A decoupled (CIBA) request the engine accepted, for the customer's authentication device. */
export interface DecoupledAuthenticationRequest {
  /** auth-server's reference for it (never the client's auth_req_id). */
  authenticationId: string;
  clientId: string;
  clientName: string;
  customerId: string;
  scope: string;
  bindingMessage?: string;
  intentId?: string;
  /** Unix seconds. */
  expiresAt: number;
}

/**
 * What the login and consent pages need from consent-service (declared here, by its consumer):
 * checking a customer's credentials, listing their accounts, and recording the decision.
 * The production implementation (`interactions.grpc.ts`) calls consents.v1.Consents over gRPC:
 * VerifyCustomerCredentials, ListCustomerAccounts, AuthorizeConsent or CreateGenericConsent,
 * RejectConsent, and for CIBA FindCustomer and StartAuthentication. Failures that leave a step without an answer are 503s, never a wrong password.
 */
export interface ConsentDirectory {
  /** The customer, or undefined when the credentials are wrong (never says which part). */
  verifyCustomer(username: string, password: string): Promise<AuthenticatedCustomer | undefined>;
  /**
   * Before anything is shown to the customer: the intent named by `openbanking_intent_id` exists,
   * was created by `clientId` and awaits authorisation. Throws a DomainError (`invalid_request`)
   * otherwise; an unknown and another client's intent get the same answer.
   */
  checkIntent(request: { clientId: string; intentId: string }): Promise<void>;
  listAccounts(customerId: string): Promise<CustomerAccount[]>;
  approve(request: ConsentRequest): Promise<RecordedConsent>;
  reject(request: ConsentRequest): Promise<void>;
  /** CIBA: the customer a login_hint designates (username or subject), or undefined. */
  findCustomer(loginHint: string): Promise<string | undefined>;
  /** CIBA: puts a decoupled request before the customer on their authentication device. */
  startAuthentication(request: DecoupledAuthenticationRequest): Promise<void>;
  /**
   * Everything the bank verified about the customer's identity (OIDC4IDA verified_claims); empty
   * when nothing or the customer is unknown. The caller releases only what was requested and approved.
   */
  verifiedIdentity(customerId: string): Promise<VerifiedClaims[]>;
}
