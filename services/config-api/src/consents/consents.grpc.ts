import { consentsV1 } from '@obip/contracts';
import { ConflictError, DomainError } from '@obip/errors';
import { createGrpcClient } from '@obip/grpc';
import type { ConsentKindName, ConsentStatusName, ConsentView, ConsentsPort } from './consents.service';

const KIND_NAMES: Record<number, ConsentKindName> = {
  [consentsV1.ConsentKind.CONSENT_KIND_ACCOUNT_ACCESS]: 'account-access',
  [consentsV1.ConsentKind.CONSENT_KIND_DOMESTIC_PAYMENT]: 'domestic-payment',
  [consentsV1.ConsentKind.CONSENT_KIND_GENERIC]: 'generic',
};

const STATUS_NAMES: Record<number, ConsentStatusName> = {
  [consentsV1.ConsentStatus.CONSENT_STATUS_AWAITING_AUTHORISATION]: 'AwaitingAuthorisation',
  [consentsV1.ConsentStatus.CONSENT_STATUS_AUTHORISED]: 'Authorised',
  [consentsV1.ConsentStatus.CONSENT_STATUS_REJECTED]: 'Rejected',
  [consentsV1.ConsentStatus.CONSENT_STATUS_REVOKED]: 'Revoked',
  [consentsV1.ConsentStatus.CONSENT_STATUS_CONSUMED]: 'Consumed',
  [consentsV1.ConsentStatus.CONSENT_STATUS_EXPIRED]: 'Expired',
};

const isoOf = (seconds: number) => new Date(seconds * 1000).toISOString();

function parseDetails(json: string): unknown {
  if (json === '') return null;
  try {
    return JSON.parse(json) as unknown;
  } catch {
    return null;
  }
}

/** The consent as the admin API shows it. */
export function consentView(consent: consentsV1.Consent): ConsentView {
  return {
    consentId: consent.consentId,
    clientId: consent.clientId,
    kind: KIND_NAMES[consent.kind] ?? 'unknown',
    status: STATUS_NAMES[consent.status] ?? 'unknown',
    subject: consent.subject || null,
    permissions: [...consent.permissions],
    accountIds: [...consent.accountIds],
    authorizationDetails: parseDetails(consent.authorizationDetailsJson),
    createdAt: isoOf(consent.createdAt),
    updatedAt: isoOf(consent.updatedAt),
    expiresAt: consent.expiresAt ? isoOf(consent.expiresAt) : null,
  };
}

/**
 * consent-service's Consents as the admin port. Both calls are safe to repeat on UNAVAILABLE:
 * revoking a Revoked consent returns it unchanged (consents.v1).
 */
export function createGrpcConsents(target: string, deadlineMs: number) {
  const client = createGrpcClient(consentsV1.ConsentsClient, {
    target,
    defaultDeadlineMs: deadlineMs,
    idempotentMethods: ['getConsent', 'revokeConsent'],
  });
  const port: ConsentsPort = {
    async get(consentId) {
      return consentView(required((await client.call('getConsent', { consentId })).consent));
    },
    async revoke(request) {
      try {
        return consentView(required((await client.call('revokeConsent', request)).consent));
      } catch (error) {
        // consent-service refuses a transition the consent's status forbids (FAILED_PRECONDITION):
        // in REST terms a conflict with the resource's state. Its code stays, e.g. consent_status_invalid.
        if (error instanceof DomainError && error.kind === 'precondition_failed') {
          throw new ConflictError(`${error.description}; only an Authorised consent can be revoked`, {
            code: error.code,
            cause: error,
          });
        }
        throw error;
      }
    },
  };
  return { port, close: () => client.close() };
}

function required<T>(value: T | undefined): T {
  if (value === undefined) throw new Error('the peer answered without the consent');
  return value;
}
