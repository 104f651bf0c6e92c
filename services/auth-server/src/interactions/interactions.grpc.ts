import type { IdentityRelease, VerifiedClaims } from '../ekyc/ekyc.rules';
// consent-service's consents.v1.Consents as the ConsentDirectory port of the login and consent
// pages. gRPC statuses become DomainErrors in @obip/grpc's fromGrpcError; what they mean for a
// login or a decision is decided here and nowhere else (STYLE habit 5).
import { consentsV1 } from '@obip/contracts';
import { BadRequestError, DependencyUnavailableError, DomainError } from '@obip/errors';
import { createGrpcClient, type GrpcClient } from '@obip/grpc';
import type { AuthenticatedCustomer, ConsentDirectory, CustomerAccount, RecordedConsent } from './interactions.ports';

type ConsentsClient = GrpcClient<typeof consentsV1.ConsentsService>;

export interface GrpcConsentDirectoryOptions {
  /** gRPC target of consent-service, e.g. `dns:///consent-service-headless:50053`. */
  target: string;
  /** Deadline of each call, in ms: a consent-service that misses it makes the step a 503. */
  deadlineMs: number;
  /**
   * The Open Banking ACR to assert for each RFC 8176 authentication method the login page uses;
   * must map `pwd` (the password login).
   */
  acrByAuthenticationMethod: Readonly<Record<string, string>>;
  /** Who records decisions in the consent's audit trail. Default `auth-server`. */
  actor?: string;
}

/** The one method the login page offers today: a password (RFC 8176 §2 `pwd`). */
const PASSWORD_METHOD = 'pwd';

/**
 * What the customer sees for an account on the consent page: its nickname (or its type when it
 * has none) and the last four characters of its identification, the digits a customer knows
 * from their card or statement (the account id is the bank's internal key, not theirs).
 *
 * @example
 * accountDisplayName({ nickname: 'Everyday', identification: '99010231845927', ... }); // 'Everyday ••5927'
 */
/** consents.v1's identity_release_json: names per trust framework, empty when nothing is released. */
function identityReleaseJsonOf(release: IdentityRelease[] | undefined): string {
  if (!release || release.length === 0) return '';
  return JSON.stringify(release.map(({ trustFramework, claims }) => ({ trust_framework: trustFramework, claims })));
}

export function accountDisplayName(account: consentsV1.CustomerAccount): string {
  const name = account.nickname || account.accountSubType || 'Account';
  const number = account.identification || account.accountId;
  return `${name} ••${number.slice(-4)}`;
}

/**
 * A failure of consent-service that leaves this step without an answer: an unavailable or slow
 * peer already is a DependencyUnavailableError (503); an internal error there is one too, from
 * the customer's side (try again later), never a wrong password or a refusal.
 */
function unanswered(error: unknown): never {
  if (error instanceof DomainError && error.kind !== 'internal') throw error;
  throw new DependencyUnavailableError('consent-service could not answer', { cause: error });
}

/**
 * Creates the ConsentDirectory over consents.v1.Consents. The channel connects on first use, so
 * auth-server starts while consent-service is still coming up; every call has a deadline; reads
 * and the repeatable transitions (AuthorizeConsent, RejectConsent: "repeating the transition
 * that already happened returns the consent unchanged"; StartAuthentication, idempotent on its
 * id) are retried on UNAVAILABLE, creating a consent never is.
 *
 * @example
 * const directory = createGrpcConsentDirectory({
 *   target: 'dns:///consent-service-headless:50053',
 *   deadlineMs: 2000,
 *   acrByAuthenticationMethod: { pwd: 'urn:openbanking:psd2:sca' },
 * });
 * await directory.verifyCustomer('amelia.hart', password); // { customerId, acr, amr: ['pwd'] } | undefined
 */
export function createGrpcConsentDirectory(options: GrpcConsentDirectoryOptions): ConsentDirectory & {
  close(): void;
} {
  const passwordAcr = options.acrByAuthenticationMethod[PASSWORD_METHOD];
  if (!passwordAcr) throw new TypeError(`acrByAuthenticationMethod must map "${PASSWORD_METHOD}"`);
  const actor = options.actor ?? 'auth-server';
  const client: ConsentsClient = createGrpcClient(consentsV1.ConsentsClient, {
    target: options.target,
    defaultDeadlineMs: options.deadlineMs,
    idempotentMethods: [
      'getConsent',
      'verifyCustomerCredentials',
      'listCustomerAccounts',
      'authorizeConsent',
      'rejectConsent',
      'findCustomer',
      'startAuthentication',
      'getVerifiedIdentity',
    ],
  });

  /**
   * The intent named by `openbanking_intent_id`, if `clientId` created it. OBIE Security Profile:
   * the intent is bound to the client that created it, so one client can never have another's
   * intent authorised; unknown and foreign intents get the same answer.
   */
  async function intentOf(request: { clientId: string; intentId: string }): Promise<consentsV1.Consent | undefined> {
    try {
      const { consent } = await client.call('getConsent', { consentId: request.intentId });
      return consent?.clientId === request.clientId ? consent : undefined;
    } catch (error) {
      if (error instanceof DomainError && error.kind === 'not_found') return undefined;
      return unanswered(error);
    }
  }

  const unknownIntent = () =>
    new BadRequestError('openbanking_intent_id does not name a consent of this client', {
      code: 'invalid_request',
    });

  return {
    async checkIntent(request): Promise<void> {
      const intent = await intentOf(request);
      if (intent?.status !== consentsV1.ConsentStatus.CONSENT_STATUS_AWAITING_AUTHORISATION) {
        throw new BadRequestError(
          'openbanking_intent_id does not name a consent of this client awaiting authorisation',
          {
            code: 'invalid_request',
          },
        );
      }
    },

    async verifyCustomer(username, password): Promise<AuthenticatedCustomer | undefined> {
      const answer = await client.call('verifyCustomerCredentials', { username, password }).catch(unanswered);
      if (!answer.verified || !answer.subject) return undefined;
      return { customerId: answer.subject, acr: passwordAcr, amr: [PASSWORD_METHOD] };
    },

    async listAccounts(customerId): Promise<CustomerAccount[]> {
      const { accounts } = await client.call('listCustomerAccounts', { subject: customerId }).catch(unanswered);
      return accounts.map((account) => ({ accountId: account.accountId, displayName: accountDisplayName(account) }));
    },

    async approve(request): Promise<RecordedConsent> {
      if (request.intentId !== undefined) {
        const intent = await intentOf({ ...request, intentId: request.intentId });
        if (!intent) throw unknownIntent();
        const { consent } = await client
          .call('authorizeConsent', {
            consentId: intent.consentId,
            subject: request.customerId,
            accountIds: request.accountIds,
            actor,
            identityReleaseJson: identityReleaseJsonOf(request.identityRelease),
          })
          .catch(unanswered);
        const consentId = consent?.consentId ?? intent.consentId;
        return { consentId, openbankingIntentId: consentId };
      }
      // No intent: the approval itself is the consent (consents.v1 CreateGenericConsent), with
      // the RFC 9396 authorization_details the customer saw.
      const details = request.authorizationDetails ?? [];
      const { consent } = await client
        .call('createGenericConsent', {
          clientId: request.clientId,
          subject: request.customerId,
          scope: request.scope,
          accountIds: request.accountIds,
          authorizationDetailsJson: details.length > 0 ? JSON.stringify(details) : '',
          actor,
          identityReleaseJson: identityReleaseJsonOf(request.identityRelease),
        })
        .catch(unanswered);
      if (!consent?.consentId) throw new DependencyUnavailableError('consent-service returned no consent');
      return { consentId: consent.consentId };
    },

    async reject(request): Promise<void> {
      // Without an intent nothing was recorded before the decision, so there is nothing to refuse.
      if (request.intentId === undefined) return;
      const intent = await intentOf({ ...request, intentId: request.intentId });
      // Another client's or an unknown intent: the refusal is still the customer's answer to this
      // client (access_denied), and nothing of someone else's is touched.
      if (!intent) return;
      await client
        .call('rejectConsent', {
          consentId: intent.consentId,
          subject: request.customerId,
          actor,
          reason: 'refused by the customer',
        })
        .catch(unanswered);
    },

    async findCustomer(loginHint): Promise<string | undefined> {
      try {
        const { subject } = await client.call('findCustomer', { loginHint });
        return subject || undefined;
      } catch (error) {
        if (error instanceof DomainError && error.kind === 'not_found') return undefined;
        return unanswered(error);
      }
    },

    async startAuthentication(request): Promise<void> {
      await client
        .call('startAuthentication', {
          authenticationId: request.authenticationId,
          clientId: request.clientId,
          clientName: request.clientName,
          subject: request.customerId,
          scope: request.scope,
          bindingMessage: request.bindingMessage ?? '',
          openbankingIntentId: request.intentId ?? '',
          expiresAt: request.expiresAt,
        })
        .catch(unanswered);
    },

    async verifiedIdentity(customerId): Promise<VerifiedClaims[]> {
      try {
        const { verifiedClaimsJson } = await client.call('getVerifiedIdentity', { subject: customerId });
        const parsed: unknown = JSON.parse(verifiedClaimsJson || '[]');
        return Array.isArray(parsed) ? (parsed as VerifiedClaims[]) : [];
      } catch (error) {
        if (error instanceof DomainError && error.kind === 'not_found') return [];
        return unanswered(error);
      }
    },

    close: () => client.close(),
  };
}
