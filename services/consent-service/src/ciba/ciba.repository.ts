/**
 * The storage port of decoupled authentication requests, declared by the service that uses it;
 * `ciba.mongo.ts` implements it (and the decision outbox) on MongoDB.
 */
import type {
  AuthenticationDecision,
  ConsentStep,
  DecisionDelivery,
  DecoupledAuthentication,
  NewDecoupledAuthentication,
} from './ciba.model';

/** The one write that records a decision: applied only to a pending, unexpired request of `subject`. */
export interface RecordedDecision {
  id: string;
  subject: string;
  /** The request must expire after this instant. */
  now: Date;
  /** The intent, or the id the GENERIC consent will be created under; undefined on denial without intent. */
  consentId: string | undefined;
  decision: AuthenticationDecision;
  /** The outbox entry that delivers the decision to auth-server, written with it. */
  delivery: DecisionDelivery;
}

export interface DecoupledAuthenticationRepository {
  /**
   * Stores a new Pending request, removable at `purgeAt`; when one with this id exists, returns it
   * unchanged instead (`created: false`).
   */
  insert(
    authentication: NewDecoupledAuthentication,
    purgeAt: Date,
  ): Promise<{ authentication: DecoupledAuthentication; created: boolean }>;
  findById(id: string): Promise<DecoupledAuthentication | undefined>;
  /** `subject`'s Pending requests that expire after `now`, newest first (createdAt, then id, descending). */
  listPending(subject: string, now: Date, limit: number): Promise<DecoupledAuthentication[]>;
  /**
   * Records the decision, its consent id and its delivery in one single-document conditional
   * update (status Pending, this subject, expiring after `now`); undefined when the condition no
   * longer holds.
   */
  recordDecision(decision: RecordedDecision): Promise<DecoupledAuthentication | undefined>;
  /** Records the outcome of the consent step while it is pending; undefined when it was already recorded. */
  recordConsentStep(
    id: string,
    step: Exclude<ConsentStep, 'pending'>,
    error: string,
  ): Promise<DecoupledAuthentication | undefined>;
  /** Removes requests whose `purgeAt` has passed; how many. (The TTL index does it too where the server has one.) */
  purgeDue(now: Date): Promise<number>;
}
