import { DependencyUnavailableError } from '@obip/errors';
import type { ConsentDirectory } from './interactions.ports';

/**
 * The directory until consent-service serves consents.v1.Consents (issue 4: wire the real
 * service in as it lands): every login and consent step answers 503, so no customer is ever
 * authenticated against something that is not the bank's directory.
 */
export function createUnavailableConsentDirectory(): ConsentDirectory {
  const unavailable = async (): Promise<never> => {
    throw new DependencyUnavailableError('customer login is not available yet: consent-service is not connected');
  };
  return { verifyCustomer: unavailable, listAccounts: unavailable, approve: unavailable, reject: unavailable };
}
