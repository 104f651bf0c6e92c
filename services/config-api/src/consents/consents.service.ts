import { z } from 'zod';
import { NotFoundError } from '@obip/errors';
import type { AdminPrincipal } from '../access/access.tokens';
import type { AuditTrail } from '../audit/audit.service';
import { parseBody } from '../http/validation';

export type ConsentKindName = 'account-access' | 'domestic-payment' | 'generic';
export type ConsentStatusName =
  'AwaitingAuthorisation' | 'Authorised' | 'Rejected' | 'Revoked' | 'Consumed' | 'Expired';

/** A consent as the admin API shows it. consent-service owns it; config-api reads and revokes it. */
export interface ConsentView {
  consentId: string;
  clientId: string;
  kind: ConsentKindName | 'unknown';
  status: ConsentStatusName | 'unknown';
  /** The customer who authorised or rejected it; null while awaiting authorisation. */
  subject: string | null;
  permissions: string[];
  accountIds: string[];
  /** RFC 9396 authorization_details (generic) or the OBIE Initiation (payment); null when none. */
  authorizationDetails: unknown;
  createdAt: string;
  updatedAt: string;
  expiresAt: string | null;
}

/** consent-service's consents.v1.Consents as far as admins need it (gRPC adapter in consents.grpc.ts). */
export interface ConsentsPort {
  /** NotFoundError `consent_not_found` when unknown. */
  get(consentId: string): Promise<ConsentView>;
  /**
   * Authorised → Revoked; consent-service then revokes its tokens from its outbox. An already
   * Revoked consent comes back unchanged; any other status is a ConflictError
   * `consent_status_invalid`.
   */
  revoke(request: { consentId: string; actor: string; reason: string }): Promise<ConsentView>;
}

export const revocationSchema = z.object({ reason: z.string().min(1).max(500) }).strict();

/** Consent ids are short (`aac-<uuid>`); anything longer names no consent and is not sent on. */
const MAX_CONSENT_ID_LENGTH = 128;

function checkedConsentId(consentId: string): string {
  if (consentId.length > MAX_CONSENT_ID_LENGTH) {
    throw new NotFoundError('no consent with this id exists', { code: 'consent_not_found' });
  }
  return consentId;
}

/** Who revoked, as the consent's own history records it beside `customer:` and `client:`. */
export function consentActorOf(principal: AdminPrincipal): string {
  return `admin:${principal.subject || principal.clientId}`;
}

/**
 * Admin access to consents at consent-service (issue 5: a consent is revoked "by the customer in
 * the portal, by the TPP via DELETE, or by an admin"). A revocation is recorded twice: in the
 * consent's history at consent-service (actor `admin:<subject>`, the reason) and in config-api's
 * audit trail. The audit entry holds the status change and the reason, not the customer's data.
 *
 * @example
 * const revoked = await consents.revoke(principal, 'aac-…', { reason: 'fraud reported by the customer' });
 */
export function createConsentAdministration(options: { consents: ConsentsPort; audit: AuditTrail }) {
  const { consents, audit } = options;

  return {
    async get(consentId: string): Promise<ConsentView> {
      return consents.get(checkedConsentId(consentId));
    },

    async revoke(actor: AdminPrincipal, consentId: string, body: unknown): Promise<ConsentView> {
      const { reason } = parseBody(revocationSchema, body, 'the revocation is not valid');
      const id = checkedConsentId(consentId);
      const before = await consents.get(id);
      const after = await consents.revoke({ consentId: id, actor: consentActorOf(actor), reason });
      // Revoking a Revoked consent again changes nothing, so there is nothing to audit.
      if (after.status !== before.status) {
        await audit.record({
          actor,
          action: 'consent.revoke',
          resource: 'consent',
          resourceId: id,
          before: { status: before.status },
          after: { status: after.status, reason },
        });
      }
      return after;
    },
  };
}

export type ConsentAdministration = ReturnType<typeof createConsentAdministration>;
