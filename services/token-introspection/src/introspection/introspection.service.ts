// The introspection use case (issue 6), written against two ports: the token records auth-server
// writes, and consent-service's consent status. HTTP and gRPC adapters call it alike, so a bank
// API gets one answer from either.
import { DomainError } from '@obip/errors';
import type { TokenRecord } from '@obip/token-store';
import {
  consentRefusal,
  INACTIVE,
  isPresentedByHolder,
  toActiveIntrospection,
  type ConsentState,
  type InactiveReason,
  type IntrospectionResponse,
  type Presentation,
} from './introspection.rules';

/** The token records auth-server writes (`@obip/token-store` fits). Throws a 503-class DomainError when the store is down. */
export interface TokenRecords {
  /** The record of a live token (stored, not expired, not revoked), or undefined. */
  find(token: string): Promise<TokenRecord | undefined>;
}

/**
 * consent-service's view of a consent. Implementations may cache, for at most one second
 * (issue 6). Undefined when the consent does not exist; a DependencyUnavailableError when the
 * answer cannot be had: a token is never reported active on a guess.
 */
export interface ConsentStatuses {
  status(consentId: string): Promise<ConsentState | undefined>;
}

/** What the metrics record for each introspection: the answer, or why it is inactive, or which dependency failed. */
export type IntrospectionOutcome =
  'active' | InactiveReason | 'token_store_unavailable' | 'consent_service_unavailable';

export interface IntrospectionRequest {
  token: string;
  /** RFC 7662 §2.1: a hint only; every token type is searched whatever it says. */
  tokenTypeHint?: string;
  presentation?: Presentation;
}

export interface IntrospectionService {
  /**
   * The RFC 7662 answer for `token`: an active answer with its claims, or exactly
   * `{active: false}`. Rejects with a DependencyUnavailableError when the token store or
   * consent-service cannot answer.
   */
  introspect(request: IntrospectionRequest): Promise<IntrospectionResponse>;
}

export interface IntrospectionServiceOptions {
  tokens: TokenRecords;
  consents: ConsentStatuses;
  /** Told the outcome of every introspection (metrics). */
  onOutcome?: (outcome: IntrospectionOutcome) => void;
  /** Clock in unix seconds, for tests. */
  now?: () => number;
}

/**
 * Builds the introspection use case. The steps run cheapest first: one Redis read, the
 * sender-constraint check, then the consent status (cached by the adapter), so a token that is
 * unknown or presented by the wrong holder costs no call to consent-service.
 *
 * @example
 * const introspection = createIntrospectionService({ tokens: tokenStore, consents });
 * await introspection.introspect({ token }); // { active: false } or { active: true, scope, client_id, ... }
 */
export function createIntrospectionService(options: IntrospectionServiceOptions): IntrospectionService {
  const { tokens, consents } = options;
  const now = options.now ?? (() => Math.floor(Date.now() / 1000));
  const observe = options.onOutcome ?? (() => undefined);

  const inactive = (reason: InactiveReason): IntrospectionResponse => {
    observe(reason);
    return INACTIVE;
  };

  async function findRecord(token: string): Promise<TokenRecord | undefined> {
    try {
      return await tokens.find(token);
    } catch (error) {
      if (isUnavailable(error)) observe('token_store_unavailable');
      throw error;
    }
  }

  async function consentOf(consentId: string): Promise<ConsentState | undefined> {
    try {
      return await consents.status(consentId);
    } catch (error) {
      if (isUnavailable(error)) observe('consent_service_unavailable');
      throw error;
    }
  }

  return {
    async introspect({ token, presentation }) {
      const record = await findRecord(token);
      if (!record) return inactive('not_found');
      const nowSeconds = now();
      if (record.expiresAt <= nowSeconds) return inactive('expired');
      if (!isPresentedByHolder(record, presentation)) return inactive('binding_mismatch');
      if (record.consentId !== undefined) {
        const refusal = consentRefusal(record, await consentOf(record.consentId), nowSeconds);
        if (refusal) return inactive(refusal);
      }
      observe('active');
      return toActiveIntrospection(record);
    },
  };
}

function isUnavailable(error: unknown): boolean {
  return error instanceof DomainError && (error.kind === 'unavailable' || error.kind === 'deadline_exceeded');
}
