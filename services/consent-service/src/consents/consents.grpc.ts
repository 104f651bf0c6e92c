/**
 * consents.v1.Consents over gRPC: proto messages in, domain calls, proto messages out. Errors
 * travel as DomainErrors and @obip/grpc maps them to status codes in one place.
 */
import { consentsV1 } from '@obip/contracts';
import { BadRequestError } from '@obip/errors';
import type { ServiceHandlers } from '@obip/grpc';
import { createCibaGrpcHandlers } from '../ciba/ciba.grpc';
import type { DecoupledAuthenticationService } from '../ciba/ciba.service';
import type { CustomerDirectory } from '../customers/customers.directory';
import { UnknownCustomerError } from '../customers/customers.errors';
import { CONSENT_ERROR_CODES } from './consents.errors';
import type { Consent, ConsentHistoryEntry, ConsentKind, ConsentStatus } from './consents.model';
import type { ConsentService } from './consents.service';

const KIND_TO_PROTO: Record<ConsentKind, consentsV1.ConsentKind> = {
  'account-access': consentsV1.ConsentKind.CONSENT_KIND_ACCOUNT_ACCESS,
  'domestic-payment': consentsV1.ConsentKind.CONSENT_KIND_DOMESTIC_PAYMENT,
  generic: consentsV1.ConsentKind.CONSENT_KIND_GENERIC,
};

const STATUS_TO_PROTO: Record<ConsentStatus, consentsV1.ConsentStatus> = {
  AwaitingAuthorisation: consentsV1.ConsentStatus.CONSENT_STATUS_AWAITING_AUTHORISATION,
  Authorised: consentsV1.ConsentStatus.CONSENT_STATUS_AUTHORISED,
  Rejected: consentsV1.ConsentStatus.CONSENT_STATUS_REJECTED,
  Revoked: consentsV1.ConsentStatus.CONSENT_STATUS_REVOKED,
  Consumed: consentsV1.ConsentStatus.CONSENT_STATUS_CONSUMED,
  Expired: consentsV1.ConsentStatus.CONSENT_STATUS_EXPIRED,
};

const STATUS_FROM_PROTO = new Map(
  Object.entries(STATUS_TO_PROTO).map(([status, proto]) => [proto, status as ConsentStatus]),
);

const seconds = (date: Date | undefined) => (date ? Math.floor(date.getTime() / 1000) : 0);

/** The consent as consents.v1 describes it. */
export function toProtoConsent(consent: Consent): consentsV1.Consent {
  const details =
    consent.kind === 'generic'
      ? consent.request.authorization_details
      : consent.kind === 'domestic-payment'
        ? consent.request.Initiation
        : undefined;
  const hasDetails = details !== undefined && !(Array.isArray(details) && details.length === 0);
  return {
    consentId: consent.id,
    clientId: consent.clientId,
    kind: KIND_TO_PROTO[consent.kind],
    status: STATUS_TO_PROTO[consent.status],
    subject: consent.subject ?? '',
    permissions: consent.permissions,
    accountIds: consent.accountIds,
    authorizationDetailsJson: hasDetails ? JSON.stringify(details) : '',
    createdAt: seconds(consent.createdAt),
    updatedAt: seconds(consent.statusUpdatedAt),
    expiresAt: seconds(consent.expiresAt),
    identityReleaseJson:
      consent.identityRelease.length === 0
        ? ''
        : JSON.stringify(
            consent.identityRelease.map((release) => ({
              trust_framework: release.trustFramework,
              claims: release.claims,
            })),
          ),
  };
}

/** One entry of the consent's audit trail as consents.v1 describes it. */
export function toProtoHistoryEntry(entry: ConsentHistoryEntry): consentsV1.ConsentHistoryEntry {
  return {
    fromStatus: entry.from ? STATUS_TO_PROTO[entry.from] : consentsV1.ConsentStatus.CONSENT_STATUS_UNSPECIFIED,
    toStatus: STATUS_TO_PROTO[entry.to],
    at: seconds(entry.at),
    actor: entry.actor,
    reason: entry.reason,
  };
}

/** Bounds of CreateGenericConsent (ARCHITECTURE: every input is bounded). */
const GENERIC_LIMITS = { scopeChars: 2_048, accounts: 50, authorizationDetailsChars: 16_384, actorChars: 256 };

/** The authorization_details of a CreateGenericConsentRequest: empty means none. */
function parseAuthorizationDetails(json: string): unknown[] {
  if (json === '') return [];
  if (json.length > GENERIC_LIMITS.authorizationDetailsChars) {
    throw new BadRequestError(
      `authorization_details_json is longer than ${GENERIC_LIMITS.authorizationDetailsChars} characters`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw new BadRequestError('authorization_details_json is not JSON');
  }
  if (!Array.isArray(parsed)) throw new BadRequestError('authorization_details_json must be a JSON array');
  // What each entry must hold (RFC 9396 §2) is a domain rule, checked by the service.
  return parsed;
}

/**
 * Longest identity_release_json accepted: 8 entries of a 64-character framework and 32 names of
 * 64 characters fit in about 18 000, so anything longer is not a release.
 */
const IDENTITY_RELEASE_JSON_CHARS = 20_000;

/**
 * The identity_release_json of an AuthorizeConsent or CreateGenericConsent request: empty means
 * nothing released. Its entries are checked by the service (consents.rules checkIdentityRelease).
 */
function parseIdentityRelease(json: string): unknown[] {
  if (json === '') return [];
  const refuse = (description: string) =>
    new BadRequestError(`identity_release_json ${description}`, { code: CONSENT_ERROR_CODES.invalidIdentityRelease });
  if (json.length > IDENTITY_RELEASE_JSON_CHARS) {
    throw refuse(`is longer than ${IDENTITY_RELEASE_JSON_CHARS} characters`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw refuse('is not JSON');
  }
  if (!Array.isArray(parsed)) throw refuse('must be a JSON array');
  return parsed;
}

function required(value: string, field: string): string {
  if (!value) throw new BadRequestError(`${field} is required`);
  return value;
}

/**
 * @example
 * grpcServer.addService(consentsV1.ConsentsService, createConsentsGrpcHandlers({ consents, customers, authentications }));
 */
export function createConsentsGrpcHandlers(dependencies: {
  consents: ConsentService;
  customers: CustomerDirectory;
  /** The decoupled (CIBA) authentication requests (`ciba/`). */
  authentications: DecoupledAuthenticationService;
}): ServiceHandlers<typeof consentsV1.ConsentsService> {
  const { consents, customers, authentications } = dependencies;
  return {
    ...createCibaGrpcHandlers({ authentications }),
    async getConsent(request) {
      return { consent: toProtoConsent(await consents.get(required(request.consentId, 'consent_id'))) };
    },
    async authorizeConsent(request) {
      const consent = await consents.authorise({
        consentId: required(request.consentId, 'consent_id'),
        subject: required(request.subject, 'subject'),
        accountIds: request.accountIds,
        actor: request.actor,
        identityRelease: parseIdentityRelease(request.identityReleaseJson),
      });
      return { consent: toProtoConsent(consent) };
    },
    async rejectConsent(request) {
      const consent = await consents.reject({
        consentId: required(request.consentId, 'consent_id'),
        ...(request.subject ? { subject: request.subject } : {}),
        actor: request.actor,
        reason: request.reason,
      });
      return { consent: toProtoConsent(consent) };
    },
    async consumeConsent(request) {
      return {
        consent: toProtoConsent(
          await consents.consume({ consentId: required(request.consentId, 'consent_id'), actor: request.actor }),
        ),
      };
    },
    async revokeConsent(request) {
      const consent = await consents.revoke({
        consentId: required(request.consentId, 'consent_id'),
        actor: request.actor,
        reason: request.reason,
      });
      return { consent: toProtoConsent(consent) };
    },
    async listConsents(request) {
      const hasSubject = request.subject !== undefined && request.subject !== '';
      const hasClient = request.clientId !== undefined && request.clientId !== '';
      if (hasSubject === hasClient) throw new BadRequestError('exactly one of subject and client_id is required');
      if (request.pageSize < 0) throw new BadRequestError('page_size must not be negative');
      const status =
        request.status === consentsV1.ConsentStatus.CONSENT_STATUS_UNSPECIFIED
          ? undefined
          : STATUS_FROM_PROTO.get(request.status);
      if (request.status !== consentsV1.ConsentStatus.CONSENT_STATUS_UNSPECIFIED && !status) {
        throw new BadRequestError('status is not a known consent status');
      }
      const page = await consents.list({
        owner: hasSubject ? { subject: request.subject! } : { clientId: request.clientId! },
        ...(status ? { status } : {}),
        pageSize: request.pageSize,
        pageToken: request.pageToken,
      });
      return { consents: page.consents.map(toProtoConsent), nextPageToken: page.nextPageToken };
    },
    async getConsentStatus(request) {
      const consent = await consents.get(required(request.consentId, 'consent_id'));
      return {
        status: STATUS_TO_PROTO[consent.status],
        clientId: consent.clientId,
        expiresAt: seconds(consent.expiresAt),
      };
    },
    async verifyCustomerCredentials(request) {
      // Bounded input: scrypt cost grows with nothing here, but a megabyte password is never legitimate.
      if (request.username.length > 256 || request.password.length > 1024) return { verified: false, subject: '' };
      const subject = await customers.verifyCredentials(request.username, request.password);
      return { verified: subject !== undefined, subject: subject ?? '' };
    },
    async createGenericConsent(request) {
      if (request.scope.length > GENERIC_LIMITS.scopeChars) {
        throw new BadRequestError(`scope is longer than ${GENERIC_LIMITS.scopeChars} characters`);
      }
      if (request.accountIds.length > GENERIC_LIMITS.accounts) {
        throw new BadRequestError(`at most ${GENERIC_LIMITS.accounts} account_ids may be selected`);
      }
      if (request.actor.length > GENERIC_LIMITS.actorChars) {
        throw new BadRequestError(`actor is longer than ${GENERIC_LIMITS.actorChars} characters`);
      }
      const consent = await consents.createApprovedGenericConsent({
        clientId: required(request.clientId, 'client_id'),
        subject: required(request.subject, 'subject'),
        scopes: [...new Set(request.scope.split(' ').filter(Boolean))],
        accountIds: request.accountIds,
        authorizationDetails: parseAuthorizationDetails(request.authorizationDetailsJson),
        actor: request.actor,
        identityRelease: parseIdentityRelease(request.identityReleaseJson),
      });
      const [entry] = consent.history;
      if (!entry) throw new Error('a created consent has no history entry');
      return { consent: toProtoConsent(consent), historyEntry: toProtoHistoryEntry(entry) };
    },
    async listCustomerAccounts(request) {
      const accounts = await customers.listAccounts(required(request.subject, 'subject'));
      return {
        accounts: accounts.map((account) => ({
          accountId: account.accountId,
          nickname: account.nickname,
          currency: account.currency,
          accountType: account.accountType,
          accountSubType: account.accountSubType,
          schemeName: account.schemeName,
          identification: account.identification,
        })),
      };
    },
    async getVerifiedIdentity(request) {
      const subject = required(request.subject, 'subject');
      // Bounded like every input; no subject is this long, so it names no customer.
      if (subject.length > 256) throw new UnknownCustomerError();
      const verified = await customers.verifiedIdentity(subject);
      if (verified === undefined) throw new UnknownCustomerError();
      // Everything the bank holds: auth-server filters it against the client's request and the
      // customer's approval before anything leaves the platform (consents.v1).
      return { verifiedClaimsJson: JSON.stringify(verified) };
    },
  };
}
