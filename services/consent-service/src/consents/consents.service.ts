/**
 * The consent use cases, written against ports: create, read, the lifecycle transitions,
 * listing and expiry. Transport adapters (intents HTTP, consents gRPC) call these.
 */
import { createHash, randomUUID } from 'node:crypto';
import { BadRequestError, ConflictError } from '@obip/errors';
import { CONSENT_ERROR_CODES, ConsentNotFoundError, ConsentStatusError } from './consents.errors';
import type {
  Consent,
  ConsentHistoryEntry,
  ConsentKind,
  ConsentStatus,
  IdentityRelease,
  NewConsent,
} from './consents.model';
import type { ConsentRepository, IdempotencyRecord } from './consents.repository';
import {
  TRANSITIONS,
  approvalReason,
  authorisationDeadlineOf,
  checkAccountSelection,
  checkGenericGrant,
  checkIdentityRelease,
  decideTransition,
  expiryDueAt,
  idempotencyKeyCutoff,
  isExpiryDue,
  isFinalStatus,
  isIdempotencyKeyExpired,
  type TransitionName,
} from './consents.rules';

/** An account as the consent service needs it: to check that a selection belongs to the customer. */
export interface OwnedAccount {
  accountId: string;
  schemeName: string;
  identification: string;
}

/** The bank's customer directory, as far as consents need it (implemented in `customers/`). */
export interface AccountsOfCustomer {
  listAccounts(subject: string): Promise<OwnedAccount[]>;
}

export interface ConsentServiceOptions {
  repository: ConsentRepository;
  accounts: AccountsOfCustomer;
  /** How long a consent may await authorisation before it expires, in seconds. */
  authorisationWindowSeconds: number;
  /** How long an x-idempotency-key binds its payment consent, in seconds (default 86 400, OBIE's 24 hours). */
  idempotencyKeyTtlSeconds?: number;
  /** Called after a transition wrote a token-revocation outbox entry, to deliver it at once. */
  onCascadePending?: () => void;
  now?: () => Date;
}

export interface CreateIntentInput {
  clientId: string;
  /** The validated OBIE `Data` as requested (server-assigned fields excluded). */
  request: Record<string, unknown>;
  risk: Record<string, unknown>;
  expiresAt: Date | undefined;
}

export interface CreateAccountAccessInput extends CreateIntentInput {
  permissions: string[];
}

export interface CreateGenericInput {
  clientId: string;
  scopes: string[];
  /** RFC 9396 authorization_details as requested. */
  authorizationDetails: unknown[];
  expiresAt: Date | undefined;
}

export interface CreateApprovedGenericInput {
  /**
   * The id to create it under, chosen beforehand by a caller that may repeat the creation (a
   * decoupled approval completed by a relay); a new id when absent.
   */
  consentId?: string;
  clientId: string;
  /** The customer who approved the request on the consent page. */
  subject: string;
  /** The OAuth scopes of the request. */
  scopes: string[];
  /** The accounts the customer selected; each must be theirs. */
  accountIds: string[];
  /** RFC 9396 authorization_details of the request; empty when it had none. */
  authorizationDetails: unknown[];
  /** Who records the approval (usually `auth-server`); empty records the customer. */
  actor: string;
  /**
   * Verified identity data the customer released with the approval, as the caller sent it
   * (`[{"trust_framework", "claims"}]`, checked by {@link checkIdentityRelease}); none when absent.
   */
  identityRelease?: unknown[];
}

export interface Idempotency {
  key: string;
  /** A hash of the request body: the same key with another body is refused. */
  bodyHash: string;
}

export interface ListConsentsInput {
  owner: { subject: string } | { clientId: string };
  status?: ConsentStatus;
  pageSize: number;
  pageToken: string;
}

/** Who asks for a change, for the consent's history. */
export interface Actor {
  actor: string;
  reason?: string;
}

const MAX_PAGE_SIZE = 100;
const DEFAULT_PAGE_SIZE = 20;
/** A transition that keeps losing races gives up; each loss means another caller made progress. */
const MAX_TRANSITION_ATTEMPTS = 5;

const ID_PREFIX: Record<ConsentKind, string> = {
  'account-access': 'aac-',
  'domestic-payment': 'pdc-',
  generic: 'gc-',
};

/** A fresh consent id of `kind`, e.g. `gc-<uuid>`. */
export function newConsentId(kind: ConsentKind): string {
  return `${ID_PREFIX[kind]}${randomUUID()}`;
}

/**
 * The id of the payment consent that takes over an expired idempotency key: derived from the
 * expired holder and the request body, so requests racing to reuse the key with the same body
 * name the same consent. Where the conditional update lets more than one of them through
 * (FerretDB, docs/testing.md), the consent's unique id still lets only one create it.
 */
export function successorConsentId(expired: Pick<IdempotencyRecord, 'consentId'>, bodyHash: string): string {
  const bytes = createHash('sha256').update(`${expired.consentId}\n${bodyHash}`).digest().subarray(0, 16);
  // RFC 9562 UUID version 8 (custom), so it reads like every other consent id.
  bytes[6] = (bytes[6]! & 0x0f) | 0x80;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${ID_PREFIX['domestic-payment']}${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export type ConsentService = ReturnType<typeof createConsentService>;

/**
 * @example
 * const consents = createConsentService({ repository, accounts: customers, authorisationWindowSeconds: 1800 });
 * const consent = await consents.createAccountAccessConsent({ clientId, permissions, request, risk: {}, expiresAt });
 */
export function createConsentService(options: ConsentServiceOptions) {
  const { repository } = options;
  const now = options.now ?? (() => new Date());
  const idempotencyKeyTtlSeconds = options.idempotencyKeyTtlSeconds ?? 86_400;

  function newConsent(
    kind: ConsentKind,
    id: string,
    fields: Omit<NewConsent, 'id' | 'kind' | 'createdAt' | 'authorisationDeadline'>,
  ): NewConsent {
    const createdAt = now();
    return {
      id,
      kind,
      createdAt,
      authorisationDeadline: authorisationDeadlineOf(createdAt, options.authorisationWindowSeconds, fields.expiresAt),
      ...fields,
    };
  }

  /** The accounts selected to authorise `consent` are the customer's and fit its kind. */
  async function checkSelection(consent: Consent, subject: string, accountIds: string[]): Promise<void> {
    const owned = await options.accounts.listAccounts(subject);
    checkAccountSelection(
      consent.kind,
      accountIds,
      owned.map((account) => account.accountId),
      debtorAccountIdOf(consent, owned),
    );
  }

  async function checkGenericApproval(input: {
    subject: string;
    scopes: string[];
    accountIds: string[];
    authorizationDetails: unknown[];
  }): Promise<void> {
    if (!input.subject) throw new BadRequestError('subject is required');
    checkGenericGrant(input.scopes, input.authorizationDetails);
    const owned = await options.accounts.listAccounts(input.subject);
    checkAccountSelection(
      'generic',
      input.accountIds,
      owned.map((account) => account.accountId),
    );
  }

  async function store(consent: NewConsent): Promise<Consent> {
    return repository.insert(consent, expiryDueAt({ ...consent, status: 'AwaitingAuthorisation' }));
  }

  /** The consent, with an expiry that has fallen due recorded first. */
  async function load(consentId: string): Promise<Consent> {
    const consent = await repository.findById(consentId);
    if (!consent) throw new ConsentNotFoundError();
    return isExpiryDue(consent, now()) ? expire(consent) : consent;
  }

  /** Records a due expiry; if another caller made the consent final first, returns it as it is now. */
  async function expire(consent: Consent): Promise<Consent> {
    const reason =
      consent.expiresAt && consent.expiresAt <= now() ? 'ExpirationDateTime reached' : 'authorisation window ended';
    try {
      return await transition(consent.id, 'expire', { actor: 'system:expiry', reason }, consent);
    } catch (error) {
      if (!(error instanceof ConsentStatusError)) throw error;
      const current = await repository.findById(consent.id);
      if (!current) throw new ConsentNotFoundError();
      return current;
    }
  }

  /**
   * Applies a named transition as one conditional update, re-reading and deciding again when
   * another caller changed the consent in between. Refusals change nothing.
   */
  async function transition(
    consentId: string,
    name: TransitionName,
    who: Actor,
    current?: Consent,
    decision: {
      subject?: string;
      accountIds?: string[];
      identityRelease?: IdentityRelease[];
      /** Extra checks on the consent as it is, before anything is written. */
      check?: (consent: Consent) => void | Promise<void>;
      /** When the transition already happened: return unchanged only if this agrees. */
      sameAs?: (consent: Consent) => boolean;
    } = {},
  ): Promise<Consent> {
    let consent = current;
    for (let attempt = 0; attempt < MAX_TRANSITION_ATTEMPTS; attempt += 1) {
      consent ??= await repository.findById(consentId);
      if (!consent) throw new ConsentNotFoundError();
      const at = now();
      if (name !== 'expire' && isExpiryDue(consent, at)) {
        // The consent ran out before this decision: record that, then refuse the transition.
        consent = await expire(consent);
      }
      const decided = decideTransition(consent, name);
      if (decided.action === 'unchanged') {
        if (decision.sameAs && !decision.sameAs(consent))
          throw new ConsentStatusError(TRANSITIONS[name].verb, consent.status);
        return consent;
      }
      await decision.check?.(consent);
      const rule = TRANSITIONS[name];
      const entry: ConsentHistoryEntry = {
        from: decided.from,
        to: decided.to,
        at,
        actor: who.actor,
        reason: who.reason ?? '',
      };
      const cascades = rule.cascades && decided.from === 'Authorised';
      const next = { ...consent, status: decided.to };
      const updated = await repository.transition({
        consentId,
        from: decided.from,
        to: decided.to,
        entry,
        expiryDueAt: expiryDueAt(next),
        ...(decision.subject === undefined ? {} : { subject: decision.subject }),
        ...(decision.accountIds === undefined ? {} : { accountIds: decision.accountIds }),
        ...(decision.identityRelease === undefined ? {} : { identityRelease: decision.identityRelease }),
        ...(cascades
          ? {
              cascade: {
                state: 'pending' as const,
                reason: name === 'revoke' ? 'consent_revoked' : 'consent_expired',
                attempts: 0,
                nextAttemptAt: at,
                lastError: '',
                deliveredAt: null,
              },
            }
          : {}),
      });
      if (updated) {
        if (cascades) options.onCascadePending?.();
        return updated;
      }
      consent = undefined; // lost a race: read again and decide on what is there now
    }
    throw new ConflictError('the consent is changing too often to apply this transition', {
      code: 'consent_contended',
    });
  }

  /**
   * Reserves an idempotency key for a new payment consent: `reserved` with the id to create it
   * under, or the reservation that still binds the key. A reservation past its window counts as
   * absent and is replaced by one conditional update; a caller that loses that race reads the
   * key again and finds the winner's reservation.
   */
  async function reserveIdempotencyKey(
    clientId: string,
    idempotency: Idempotency,
    consentId: string,
  ): Promise<{ reserved: true; consentId: string } | { reserved: false; existing: IdempotencyRecord }> {
    for (let attempt = 0; attempt < MAX_TRANSITION_ATTEMPTS; attempt += 1) {
      const record: IdempotencyRecord = {
        clientId,
        key: idempotency.key,
        bodyHash: idempotency.bodyHash,
        consentId,
        createdAt: now(),
      };
      const reservation = await repository.reserveIdempotencyKey(record);
      if (reservation.reserved) return { reserved: true, consentId };
      const held = reservation.existing;
      if (!isIdempotencyKeyExpired(held, record.createdAt, idempotencyKeyTtlSeconds)) return reservation;
      const successor = { ...record, consentId: successorConsentId(held, idempotency.bodyHash) };
      if (await repository.replaceIdempotencyKey(held, successor)) {
        return { reserved: true, consentId: successor.consentId };
      }
    }
    throw new ConflictError('this x-idempotency-key is being reused by too many requests at once', {
      code: 'consent_contended',
    });
  }

  return {
    async createAccountAccessConsent(input: CreateAccountAccessInput): Promise<Consent> {
      return store(
        newConsent('account-access', newConsentId('account-access'), {
          clientId: input.clientId,
          permissions: input.permissions,
          accountIds: [],
          scopes: [],
          request: input.request,
          risk: input.risk,
          expiresAt: input.expiresAt,
        }),
      );
    },

    /**
     * Creates a payment consent; with an idempotency key, the same key and body give back the
     * same consent (OBIE: x-idempotency-key), and the same key with another body is refused,
     * for `idempotencyKeyTtlSeconds` after the key was first used; after that the key creates a
     * new consent. The key is reserved before the consent is written, under a unique index, so
     * two racing requests cannot both create one; if the first writer died after reserving, the
     * next request with the same body creates the consent under the reserved id.
     */
    async createDomesticPaymentConsent(
      input: CreateIntentInput,
      idempotency?: Idempotency,
    ): Promise<{ consent: Consent; created: boolean }> {
      const id = newConsentId('domestic-payment');
      const build = (consentId: string) =>
        newConsent('domestic-payment', consentId, {
          clientId: input.clientId,
          permissions: [],
          accountIds: [],
          scopes: [],
          request: input.request,
          risk: input.risk,
          expiresAt: input.expiresAt,
        });
      if (!idempotency) return { consent: await store(build(id)), created: true };
      const reservation = await reserveIdempotencyKey(input.clientId, idempotency, id);
      if (reservation.reserved) {
        try {
          return { consent: await store(build(reservation.consentId)), created: true };
        } catch (error) {
          // A racing request with the same key and body created it first (see the branch below).
          if (!(error instanceof ConflictError)) throw error;
          return { consent: await load(reservation.consentId), created: false };
        }
      }
      if (reservation.existing.bodyHash !== idempotency.bodyHash) {
        throw new BadRequestError('this x-idempotency-key was already used with a different request body', {
          code: 'idempotency_key_reused',
        });
      }
      const existing = await repository.findById(reservation.existing.consentId);
      if (existing) return { consent: existing, created: false };
      try {
        return { consent: await store(build(reservation.existing.consentId)), created: false };
      } catch (error) {
        if (!(error instanceof ConflictError)) throw error;
        return { consent: await load(reservation.existing.consentId), created: false };
      }
    },

    /**
     * A consent for a client that is not OBIE-shaped, created when the customer approves
     * (issue 5: "created at approval from the requested scopes and authorization_details").
     */
    async createGenericConsent(input: CreateGenericInput): Promise<Consent> {
      return store(
        newConsent('generic', newConsentId('generic'), {
          clientId: input.clientId,
          permissions: [],
          accountIds: [],
          scopes: input.scopes,
          request: { authorization_details: input.authorizationDetails },
          risk: {},
          expiresAt: input.expiresAt,
        }),
      );
    },

    /**
     * A generic consent the customer approved on the consent page with no intent before it
     * (consents.v1 CreateGenericConsent): created already Authorised, in one single-document
     * insert that carries the decision and its history entry, so no reader ever sees it
     * awaiting authorisation and no second write can be lost (ARCHITECTURE: no transactions).
     *
     * Given a `consentId`, creating it again returns the consent already stored under that id
     * when it is the same customer's approval of the same client, so a relay may repeat it.
     */
    async createApprovedGenericConsent(input: CreateApprovedGenericInput): Promise<Consent> {
      if (!input.clientId) throw new BadRequestError('client_id is required');
      const identityRelease = checkIdentityRelease(input.identityRelease ?? []);
      await checkGenericApproval(input);
      const consent = newConsent('generic', input.consentId ?? newConsentId('generic'), {
        clientId: input.clientId,
        permissions: [],
        accountIds: input.accountIds,
        scopes: input.scopes,
        request: { authorization_details: input.authorizationDetails },
        risk: {},
        expiresAt: undefined,
      });
      try {
        return await repository.insert(consent, expiryDueAt({ ...consent, status: 'Authorised' }), {
          subject: input.subject,
          identityRelease,
          entry: {
            from: null,
            to: 'Authorised',
            at: consent.createdAt,
            actor: input.actor || `customer:${input.subject}`,
            reason: approvalReason(identityRelease),
          },
        });
      } catch (error) {
        if (!(error instanceof ConflictError) || input.consentId === undefined) throw error;
        const existing = await repository.findById(input.consentId);
        if (
          existing?.kind !== 'generic' ||
          existing.subject !== input.subject ||
          existing.clientId !== input.clientId
        ) {
          throw new ConsentStatusError('created again', existing?.status ?? 'Authorised');
        }
        return existing;
      }
    },

    /**
     * Checks, without writing anything, that {@link createApprovedGenericConsent} would accept
     * this approval: the grant is well formed and every selected account is the customer's.
     */
    checkGenericApproval,

    /** The consent, with an expiry that fell due recorded first. ConsentNotFoundError when unknown. */
    get: load,

    /**
     * The consent of `kind` that `clientId` created: any other (unknown, another client's, another
     * kind) is the same ConsentNotFoundError, so existence never leaks across clients.
     */
    async getForClient(consentId: string, clientId: string, kind: ConsentKind): Promise<Consent> {
      const consent = await repository.findById(consentId);
      if (!consent || consent.clientId !== clientId || consent.kind !== kind) throw new ConsentNotFoundError();
      return isExpiryDue(consent, now()) ? expire(consent) : consent;
    },

    /**
     * The customer approves: AwaitingAuthorisation → Authorised with the accounts they selected,
     * each of which must be theirs, and the verified identity data they released (recorded on
     * the consent and named in the history entry). Repeating it for the same customer returns
     * the consent.
     */
    async authorise(input: {
      consentId: string;
      subject: string;
      accountIds: string[];
      actor: string;
      /** As the caller sent it (`[{"trust_framework", "claims"}]`); none when absent. */
      identityRelease?: unknown[];
    }): Promise<Consent> {
      if (!input.subject) throw new BadRequestError('subject is required');
      const identityRelease = checkIdentityRelease(input.identityRelease ?? []);
      return transition(
        input.consentId,
        'authorise',
        { actor: input.actor || `customer:${input.subject}`, reason: approvalReason(identityRelease) },
        undefined,
        {
          subject: input.subject,
          accountIds: input.accountIds,
          identityRelease,
          sameAs: (consent) => consent.subject === input.subject,
          check: (consent) => checkSelection(consent, input.subject, input.accountIds),
        },
      );
    },

    /**
     * Checks, without making the change, that {@link authorise} would accept this approval now:
     * the consent may be authorised (or already is, by this customer) and the selected accounts
     * are the customer's and fit the consent. Returns the consent as it is (an expiry that fell
     * due is recorded first, as on every read).
     */
    async checkAuthorisation(input: { consentId: string; subject: string; accountIds: string[] }): Promise<Consent> {
      if (!input.subject) throw new BadRequestError('subject is required');
      const consent = await load(input.consentId);
      const decided = decideTransition(consent, 'authorise');
      if (decided.action === 'unchanged') {
        if (consent.subject !== input.subject) throw new ConsentStatusError(TRANSITIONS.authorise.verb, consent.status);
        return consent;
      }
      await checkSelection(consent, input.subject, input.accountIds);
      return consent;
    },

    async reject(input: { consentId: string; subject?: string; actor: string; reason?: string }): Promise<Consent> {
      return transition(
        input.consentId,
        'reject',
        {
          actor: input.actor || (input.subject ? `customer:${input.subject}` : 'unknown'),
          reason: input.reason || 'refused by the customer',
        },
        undefined,
        input.subject ? { subject: input.subject } : {},
      );
    },

    /**
     * Spends a single-use consent: Authorised → Consumed, exactly once. The conditional update
     * decides on MongoDB; the consumption claim (a unique insert) makes sure only one caller is
     * told it won even where conditional updates race (FerretDB 1.x).
     */
    async consume(input: { consentId: string; actor: string }): Promise<Consent> {
      const consumed = await transition(input.consentId, 'consume', {
        actor: input.actor || 'unknown',
        reason: 'payment submitted',
      });
      if (!(await repository.claimConsumption(consumed.id, input.actor || 'unknown', now()))) {
        throw new ConsentStatusError('consumed', consumed.status, CONSENT_ERROR_CODES.alreadyConsumed);
      }
      return consumed;
    },

    /** Withdraws an authorised consent and queues the revocation of its tokens in the same update. */
    /**
     * The TPP withdraws its consent (OBIE AIS 3.1 DELETE, "whether it is currently authorised or
     * not"): an authorised consent is revoked, with its tokens; one still awaiting authorisation
     * is rejected, so the customer can no longer authorise it; one already final is returned as
     * it is, so a repeated DELETE changes nothing.
     */
    async withdraw(input: { consentId: string; actor: string; reason: string }): Promise<Consent> {
      for (let attempt = 0; attempt < MAX_TRANSITION_ATTEMPTS; attempt += 1) {
        const consent = await repository.findById(input.consentId);
        if (!consent) throw new ConsentNotFoundError();
        if (isFinalStatus(consent.status)) return consent;
        const name: TransitionName = consent.status === 'AwaitingAuthorisation' ? 'reject' : 'revoke';
        try {
          return await transition(input.consentId, name, { actor: input.actor, reason: input.reason }, consent);
        } catch (error) {
          // Authorised, or expired, since it was read: decide again on what is there now.
          if (!(error instanceof ConsentStatusError)) throw error;
        }
      }
      throw new ConflictError('the consent is changing too often to withdraw it', { code: 'consent_contended' });
    },

    async revoke(input: { consentId: string; actor: string; reason?: string }): Promise<Consent> {
      return transition(input.consentId, 'revoke', {
        actor: input.actor || 'unknown',
        reason: input.reason || 'revoked',
      });
    },

    /** Pages through the consents of a customer or a client, newest first. */
    async list(input: ListConsentsInput): Promise<{ consents: Consent[]; nextPageToken: string }> {
      const pageSize = input.pageSize <= 0 ? DEFAULT_PAGE_SIZE : Math.min(input.pageSize, MAX_PAGE_SIZE);
      const after = input.pageToken ? decodePageToken(input.pageToken) : undefined;
      const found = await repository.list({
        owner: input.owner,
        ...(input.status ? { status: input.status } : {}),
        ...(after ? { after } : {}),
        limit: pageSize + 1,
      });
      const page = found.slice(0, pageSize);
      const last = page.at(-1);
      const nextPageToken = found.length > pageSize && last ? encodePageToken(last) : '';
      const at = now();
      return {
        consents: await Promise.all(page.map((consent) => (isExpiryDue(consent, at) ? expire(consent) : consent))),
        nextPageToken,
      };
    },

    /**
     * Removes the idempotency keys whose window has passed, so they do not pile up (no TTL
     * indexes on FerretDB); a key reused before this runs is replaced on the spot instead.
     */
    async purgeExpiredIdempotencyKeys(): Promise<number> {
      return repository.purgeIdempotencyKeys(idempotencyKeyCutoff(now(), idempotencyKeyTtlSeconds));
    },

    /** Records the expiry of up to `limit` consents whose expiry has fallen due; how many it expired. */
    async expireDue(limit = 100): Promise<number> {
      const due = await repository.findExpiryDue(now(), limit);
      let expired = 0;
      for (const consent of due) {
        if ((await expire(consent)).status === 'Expired') expired += 1;
      }
      return expired;
    },
  };
}

/**
 * The account a payment names as its DebtorAccount, among the customer's accounts: undefined
 * when it names none; a placeholder that matches nothing when it names an account the
 * customer does not hold.
 */
export function debtorAccountIdOf(consent: Consent, owned: readonly OwnedAccount[]): string | undefined {
  if (consent.kind !== 'domestic-payment') return undefined;
  const initiation = consent.request.Initiation as
    { DebtorAccount?: { SchemeName?: string; Identification?: string } } | undefined;
  const debtor = initiation?.DebtorAccount;
  if (!debtor) return undefined;
  const match = owned.find(
    (account) => account.schemeName === debtor.SchemeName && account.identification === debtor.Identification,
  );
  return match?.accountId ?? '\u0000not-held';
}

function encodePageToken(consent: Consent): string {
  return Buffer.from(JSON.stringify({ t: consent.createdAt.getTime(), id: consent.id })).toString('base64url');
}

function decodePageToken(token: string): { createdAt: Date; id: string } {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { t?: unknown; id?: unknown };
    if (typeof parsed.t === 'number' && Number.isFinite(parsed.t) && typeof parsed.id === 'string') {
      return { createdAt: new Date(parsed.t), id: parsed.id };
    }
  } catch {
    // fall through
  }
  throw new BadRequestError('page_token is not one this service issued', { code: 'invalid_page_token' });
}
