/**
 * The storage port of consents, declared by the consent service that uses it. The MongoDB
 * adapter (`consents.mongo.ts`) implements it and passes the contract suite
 * (`consents.repository.contract.ts`) against the real server.
 */
import type {
  Consent,
  ConsentHistoryEntry,
  ConsentStatus,
  IdentityRelease,
  NewConsent,
  TokenCascade,
} from './consents.model';

/** One transition as a single conditional update: applied only while the status is still `from`. */
export interface ConsentTransition {
  consentId: string;
  from: ConsentStatus;
  to: ConsentStatus;
  entry: ConsentHistoryEntry;
  /** When the consent next expires, recomputed for the new status (undefined: never). */
  expiryDueAt: Date | undefined;
  /** Set by an authorisation. */
  subject?: string;
  accountIds?: string[];
  identityRelease?: IdentityRelease[];
  /** The token-revocation outbox entry written with the transition. */
  cascade?: TokenCascade;
}

/**
 * A consent stored already Authorised: the customer's approval was its creation (a generic
 * consent approved on the consent page), so the decision is written by the insert itself.
 */
export interface AuthorisedAtCreation {
  /** The customer who approved it. */
  subject: string;
  /** Verified identity data the customer released with the approval; empty when none. */
  identityRelease: IdentityRelease[];
  /** Its only history entry: null → Authorised, with who, when and why. */
  entry: ConsentHistoryEntry & { from: null; to: 'Authorised' };
}

export interface ListConsentsQuery {
  owner: { subject: string } | { clientId: string };
  status?: ConsentStatus;
  /** Consents strictly after this position in the newest-first order. */
  after?: { createdAt: Date; id: string };
  limit: number;
}

/** A stored idempotency key: the consent created under it and a hash of the request body. */
export interface IdempotencyRecord {
  clientId: string;
  key: string;
  bodyHash: string;
  consentId: string;
  createdAt: Date;
}

export interface ConsentRepository {
  /**
   * Stores a new consent in one single-document insert: in AwaitingAuthorisation with its
   * creation in the history, or, given `authorised`, already Authorised by that customer with
   * that entry as its history. ConflictError when the id exists.
   */
  insert(consent: NewConsent, expiryDueAt: Date | undefined, authorised?: AuthorisedAtCreation): Promise<Consent>;
  findById(consentId: string): Promise<Consent | undefined>;
  /**
   * Applies the transition if the consent's status is still `transition.from`, in one
   * single-document conditional update that also appends the history entry; undefined when the
   * condition no longer holds (another caller changed the consent first).
   */
  transition(transition: ConsentTransition): Promise<Consent | undefined>;
  /** Newest first: createdAt descending, then id descending. */
  list(query: ListConsentsQuery): Promise<Consent[]>;
  /** Consents whose expiry is due at `now`, oldest due first. */
  findExpiryDue(now: Date, limit: number): Promise<Consent[]>;
  /**
   * Records that a consent has been consumed, by inserting a claim under a unique key: true for
   * the one caller whose insert succeeded, false for every other. (A unique-index insert has
   * exactly one winner even where conditional updates race, see docs/testing.md.)
   */
  claimConsumption(consentId: string, actor: string, at: Date): Promise<boolean>;
  /**
   * Reserves `record.key` for `record.clientId`: `reserved` when it was free, otherwise the
   * record that holds it (however old: whether it still binds the key is the service's rule).
   */
  reserveIdempotencyKey(
    record: IdempotencyRecord,
  ): Promise<{ reserved: true } | { reserved: false; existing: IdempotencyRecord }>;
  /**
   * Hands a key from `expired` to `successor` (same client and key) in one single-document
   * conditional update, applied only while `expired` still holds it: true when this call
   * replaced it, false when another caller replaced or removed it first.
   */
  replaceIdempotencyKey(expired: IdempotencyRecord, successor: IdempotencyRecord): Promise<boolean>;
  /** Removes the idempotency keys reserved at or before `cutoff`; how many. */
  purgeIdempotencyKeys(cutoff: Date): Promise<number>;
}
