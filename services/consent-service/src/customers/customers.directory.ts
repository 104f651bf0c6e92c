/**
 * The bank's customer directory, as consent-service needs it: who a customer is (login on the
 * consent page, CIBA login hints), which accounts they hold and what the bank has verified about
 * their identity. The sandbox implementation reads a data file (`customers.sandbox.ts`); a bank
 * plugs its real directory in by implementing this interface.
 */

/** One account a customer holds (OBIE account fields, as on the consent page). */
export interface CustomerAccount {
  accountId: string;
  nickname: string;
  /** ISO 4217. */
  currency: string;
  /** OBIE AccountType: Personal or Business. */
  accountType: string;
  /** OBIE AccountSubType, e.g. CurrentAccount, Savings. */
  accountSubType: string;
  /** OBIE SchemeName, e.g. UK.OBIE.SortCodeAccountNumber. */
  schemeName: string;
  identification: string;
  /** The name on the account. */
  name: string;
  /** Available balance as an OBIE decimal string in `currency`. */
  availableBalance: string;
}

/*
 * Verified identity, in the shape of the OpenID Identity Assurance Schema Definition 1.0 (the
 * `verified_claims` of OpenID Connect for Identity Assurance 1.0). Member names are the spec's
 * own: the data travels to auth-server as this JSON and on to the client, so a second naming
 * would only be mapped back.
 */

/** A check made on one piece of evidence (IDA schema 5.1.1: `check_details`). */
export interface EvidenceCheck {
  /** An OpenID identity assurance check method, e.g. `vpip`, `vcrypt`, `data`, `kbv`. */
  check_method: string;
  /** Who made the check. */
  organization?: string;
  /** The check's reference at `organization`. */
  txn?: string;
  /** ISO 8601 date-time of the check. */
  time?: string;
}

/** Who issued a document or holds a record: a name and an ICAO 3-letter country code. */
export interface EvidenceIssuer {
  name: string;
  country_code?: string;
}

/** A physical or electronic identity document that was checked (IDA schema: type `document`). */
export interface DocumentEvidence {
  type: 'document';
  check_details?: EvidenceCheck[];
  /** ISO 8601 date-time at which the document was checked. */
  time?: string;
  document_details: {
    /** An OpenID identity assurance document type, e.g. `passport`, `driving_permit`, `idcard`. */
    type: string;
    document_number?: string;
    issuer?: EvidenceIssuer;
    /** YYYY-MM-DD. */
    date_of_issuance?: string;
    /** YYYY-MM-DD. */
    date_of_expiry?: string;
  };
}

/** An electronic record that was checked (IDA schema: type `electronic_record`). */
export interface ElectronicRecordEvidence {
  type: 'electronic_record';
  check_details?: EvidenceCheck[];
  /** ISO 8601 date-time at which the record was checked. */
  time?: string;
  record: {
    /** An OpenID identity assurance record type, e.g. `bank_account`, `population_register`. */
    type: string;
    source?: EvidenceIssuer;
  };
}

export type IdentityEvidence = DocumentEvidence | ElectronicRecordEvidence;

/** How, when and under which rules the bank verified the claims (IDA schema: `verification`). */
export interface IdentityVerification {
  /** The trust framework the verification was made under, e.g. `uk_tfida`, `eidas`. */
  trust_framework: string;
  /** Its assurance level within the framework, e.g. `medium` (uk_tfida), `substantial` (eidas). */
  assurance_level?: string;
  /** ISO 8601 date-time at which the verification took place (what `max_age` is measured against). */
  time?: string;
  /** The bank's reference of the verification process, for audits. */
  verification_process?: string;
  evidence?: IdentityEvidence[];
}

/** The claims a verification established (OpenID Connect Core 5.1 and IDA claims 1.0 names). */
export interface VerifiedPersonClaims {
  given_name?: string;
  family_name?: string;
  /** YYYY-MM-DD. */
  birthdate?: string;
  /** `country` is ISO 3166-1 alpha-2. */
  place_of_birth?: { country?: string; region?: string; locality?: string };
  /** ICAO 3-letter codes, e.g. `GBR`. */
  nationalities?: string[];
  address?: {
    formatted?: string;
    street_address?: string;
    locality?: string;
    region?: string;
    postal_code?: string;
    country?: string;
  };
}

/** One verification of a customer and the claims it verified (one `verified_claims` element). */
export interface VerifiedClaims {
  verification: IdentityVerification;
  claims: VerifiedPersonClaims;
}

export interface CustomerDirectory {
  /**
   * The customer's subject when `username` and `password` match, undefined otherwise; a wrong
   * username and a wrong password take the same time and give the same answer.
   */
  verifyCredentials(username: string, password: string): Promise<string | undefined>;
  /**
   * The customer a CIBA `login_hint` designates, by subject or else by username (case-insensitive
   * like the login); undefined when none. No credentials: the customer authenticates later, on
   * their authentication device.
   */
  findCustomer(loginHint: string): Promise<{ subject: string } | undefined>;
  /** The customer's accounts; empty when the customer is unknown. */
  listAccounts(subject: string): Promise<CustomerAccount[]>;
  /** One account with its holder's subject, for funds checks; undefined when unknown. */
  findAccount(accountId: string): Promise<(CustomerAccount & { subject: string }) | undefined>;
  /**
   * Everything the bank has verified about the customer's identity: one element per
   * verification, each with its evidence and the claims it verified. Undefined when the customer
   * is unknown; empty when the customer is known but nothing is verified. It is all the bank
   * holds: auth-server releases to a client only what it asked for and the customer approved.
   */
  verifiedIdentity(subject: string): Promise<VerifiedClaims[] | undefined>;
}
