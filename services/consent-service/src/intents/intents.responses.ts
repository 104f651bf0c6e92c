/** Consents in the OBIE 3.1 response shapes (Data / Risk / Links / Meta). */
import type { Consent } from '../consents/consents.model';

export const OBIE_PREFIX = '/open-banking/v3.1';
export const ACCOUNT_ACCESS_PATH = '/aisp/account-access-consents';
export const DOMESTIC_PAYMENT_PATH = '/pisp/domestic-payment-consents';

/**
 * The OBIE status code of a consent. OBIE 3.1 has no Expired: an access consent that expired
 * after authorisation reads as Revoked (access withdrawn), and one that expired while awaiting
 * authorisation, like an expired payment consent, reads as Rejected (OBIE PIS: a consent not
 * authorised in time is Rejected).
 */
export function obieStatusOf(consent: Pick<Consent, 'kind' | 'status' | 'history'>): string {
  if (consent.status !== 'Expired') return consent.status;
  const wasAuthorised = consent.history.some((entry) => entry.to === 'Authorised');
  return consent.kind === 'account-access' && wasAuthorised ? 'Revoked' : 'Rejected';
}

function selfLink(baseUrl: string, path: string, consentId: string): string {
  return `${baseUrl}${OBIE_PREFIX}${path}/${encodeURIComponent(consentId)}`;
}

/** OBReadConsentResponse1. */
export function accountAccessConsentBody(consent: Consent, baseUrl: string) {
  const requested = consent.request;
  return {
    Data: {
      ConsentId: consent.id,
      CreationDateTime: consent.createdAt.toISOString(),
      Status: obieStatusOf(consent),
      StatusUpdateDateTime: consent.statusUpdatedAt.toISOString(),
      Permissions: consent.permissions,
      ...pick(requested, ['ExpirationDateTime', 'TransactionFromDateTime', 'TransactionToDateTime']),
    },
    Risk: consent.risk,
    Links: { Self: selfLink(baseUrl, ACCOUNT_ACCESS_PATH, consent.id) },
    Meta: { TotalPages: 1 },
  };
}

/** OBWriteDomesticConsentResponse. */
export function domesticPaymentConsentBody(consent: Consent, baseUrl: string) {
  return {
    Data: {
      ConsentId: consent.id,
      CreationDateTime: consent.createdAt.toISOString(),
      Status: obieStatusOf(consent),
      StatusUpdateDateTime: consent.statusUpdatedAt.toISOString(),
      ...pick(consent.request, ['Initiation', 'Authorisation', 'SCASupportData']),
    },
    Risk: consent.risk,
    Links: { Self: selfLink(baseUrl, DOMESTIC_PAYMENT_PATH, consent.id) },
    Meta: { TotalPages: 1 },
  };
}

/** OBWriteFundsConfirmationResponse1. */
export function fundsConfirmationBody(consent: Consent, available: boolean, at: Date, baseUrl: string) {
  return {
    Data: { FundsAvailableResult: { FundsAvailableDateTime: at.toISOString(), FundsAvailable: available } },
    Links: { Self: `${selfLink(baseUrl, DOMESTIC_PAYMENT_PATH, consent.id)}/funds-confirmation` },
    Meta: {},
  };
}

function pick(source: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((key) => source[key] !== undefined).map((key) => [key, source[key]]));
}
