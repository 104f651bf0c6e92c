/**
 * consent-service as the customer's authentication device for FAPI-CIBA (issue 7): auth-server
 * records each decoupled request it accepted here; the customer sees it in the portal and
 * decides; the decision is applied to the consent (the intent authorised or rejected, or a GENERIC
 * consent created) and delivered back to auth-server from a durable outbox
 * (`ciba.delivery.service.ts`).
 *
 * Crash safety without transactions: validation only reads; the decision, the consent id it will
 * use (the intent, or a GENERIC consent id chosen now) and its outbox entry are written in one
 * conditional update; the consent step and the delivery that follow are both idempotent and are
 * redone by the relay until recorded. A crash at any point leaves either a pending request or a
 * recorded decision that the relay completes.
 */
import { isDomainError } from '@obip/errors';
import { ConsentNotFoundError } from '../consents/consents.errors';
import type { Consent } from '../consents/consents.model';
import { debtorAccountIdOf, newConsentId, type ConsentService } from '../consents/consents.service';
import type { CustomerAccount, CustomerDirectory } from '../customers/customers.directory';
import {
  AuthenticationExpiredError,
  AuthenticationIntentError,
  AuthenticationNotFoundError,
  CibaRequestError,
  CustomerNotFoundError,
} from './ciba.errors';
import type { DecoupledAuthentication } from './ciba.model';
import type { DecoupledAuthenticationRepository } from './ciba.repository';
import {
  CIBA_LIMITS,
  accountChoiceOf,
  checkDecisionInput,
  checkRepeatedDecision,
  checkStartInput,
  purgeAtOf,
  scopesOf,
  statusAt,
  type AccountChoice,
  type DecisionInput,
  type StartInput,
} from './ciba.rules';

/** The consent use cases a decision applies. */
export type DecisionConsents = Pick<
  ConsentService,
  'get' | 'checkAuthorisation' | 'authorise' | 'reject' | 'checkGenericApproval' | 'createApprovedGenericConsent'
>;

export interface DecoupledAuthenticationServiceOptions {
  repository: DecoupledAuthenticationRepository;
  consents: DecisionConsents;
  customers: Pick<CustomerDirectory, 'findCustomer' | 'listAccounts'>;
  /** How long a request is kept after it expires, decided or not, in seconds. */
  retentionSeconds: number;
  /** Called after a decision was recorded, to deliver it at once (the relay's kick). */
  onDecisionRecorded?: () => void;
  logger?: { warn(bindings: object, message: string): void };
  now?: () => Date;
}

/** A request with what the customer needs to decide it (the portal, the sandbox device API). */
export interface RequestDetails {
  authentication: DecoupledAuthentication;
  /** The intent the request names, when it exists and is its client's. */
  intent: Consent | undefined;
  /** The request names an intent that cannot be shown (unknown, or another client's): it can only be denied. */
  intentUnavailable: boolean;
  choice: AccountChoice;
  /** The customer's accounts that may be selected (only the debtor account of a payment that names one). */
  selectable: CustomerAccount[];
}

/** Why a consent refused a decision for good: retrying cannot change its answer. */
function isFinalRefusal(error: unknown): boolean {
  return isDomainError(error) && ['bad_request', 'not_found', 'precondition_failed'].includes(error.kind);
}

const DENIAL_REASON = 'denied by the customer on their authentication device';

export type DecoupledAuthenticationService = ReturnType<typeof createDecoupledAuthenticationService>;

/**
 * @example
 * const authentications = createDecoupledAuthenticationService({ repository, consents, customers, retentionSeconds: 86_400 });
 * await authentications.decide({ authenticationId, subject, approve: true, accountIds, acr, amr: ['pwd'], actor: '' });
 */
export function createDecoupledAuthenticationService(options: DecoupledAuthenticationServiceOptions) {
  const { repository, consents, customers } = options;
  const now = options.now ?? (() => new Date());

  /** The request as it reads now: Expired once a pending one has passed its expiry. */
  const present = (authentication: DecoupledAuthentication): DecoupledAuthentication => ({
    ...authentication,
    status: statusAt(authentication, now()),
  });

  /** The request when it is `subject`'s; another customer's or an unknown one is the same 404. */
  async function ownRequest(id: string, subject: string): Promise<DecoupledAuthentication> {
    const found = id.length <= CIBA_LIMITS.idChars ? await repository.findById(id) : undefined;
    if (!found || found.subject !== subject) throw new AuthenticationNotFoundError();
    return found;
  }

  /** The intent the request names, when it is the request's client's; the same refusal otherwise. */
  async function intentOf(authentication: DecoupledAuthentication): Promise<Consent> {
    try {
      const intent = await consents.get(authentication.intentId!);
      if (intent.clientId !== authentication.clientId) throw new AuthenticationIntentError();
      return intent;
    } catch (error) {
      if (error instanceof ConsentNotFoundError) throw new AuthenticationIntentError();
      throw error;
    }
  }

  /**
   * Everything an approval needs, checked before anything is written (the consent would refuse it
   * later, after the decision was recorded): the intent can be authorised by this customer with
   * these accounts, or the GENERIC consent can be created. The consent id the approval will use.
   */
  async function checkApproval(authentication: DecoupledAuthentication, input: DecisionInput): Promise<string> {
    if (authentication.intentId) {
      const intent = await intentOf(authentication);
      await consents.checkAuthorisation({ consentId: intent.id, subject: input.subject, accountIds: input.accountIds });
      return intent.id;
    }
    await consents.checkGenericApproval({
      subject: input.subject,
      scopes: scopesOf(authentication.scope),
      accountIds: input.accountIds,
      authorizationDetails: [],
    });
    return newConsentId('generic');
  }

  /** Applies a recorded decision to its consent. Idempotent: the relay repeats it after a crash. */
  async function applyToConsent(authentication: DecoupledAuthentication): Promise<void> {
    const decision = authentication.decision!;
    const { subject, clientId } = authentication;
    if (decision.approved && authentication.intentId) {
      await consents.authorise({
        consentId: authentication.intentId,
        subject,
        accountIds: decision.accountIds,
        actor: decision.actor,
      });
    } else if (decision.approved) {
      // Created under the id chosen with the decision, so a repeat finds it instead of creating another.
      await consents.createApprovedGenericConsent({
        consentId: authentication.consentId!,
        clientId,
        subject,
        scopes: scopesOf(authentication.scope),
        accountIds: decision.accountIds,
        authorizationDetails: [],
        actor: decision.actor,
      });
    } else if (authentication.intentId) {
      // Another client's intent is never touched; the denial is still this client's answer.
      const intent = await intentOf(authentication);
      await consents.reject({ consentId: intent.id, subject, actor: decision.actor, reason: DENIAL_REASON });
    }
    // A denial without intent: nothing was recorded before the decision, so nothing to refuse.
  }

  /**
   * Runs the consent step of a recorded decision if it has not been recorded yet, and records its
   * outcome. A refusal the consent will always give (the intent expired meanwhile) is recorded as
   * `failed`; anything else throws, for the relay to retry.
   */
  async function settleConsent(authentication: DecoupledAuthentication): Promise<DecoupledAuthentication> {
    if (authentication.decision?.consentStep !== 'pending') return authentication;
    let step: 'done' | 'failed' = 'done';
    let error = '';
    try {
      await applyToConsent(authentication);
    } catch (refusal) {
      if (!isFinalRefusal(refusal)) throw refusal;
      step = 'failed';
      error = isDomainError(refusal) ? refusal.code : 'refused';
      options.logger?.warn(
        { authenticationId: authentication.id, code: error, approved: authentication.decision.approved },
        'the consent refused a decoupled decision; an approval is delivered as a denial',
      );
    }
    const recorded = await repository.recordConsentStep(authentication.id, step, error);
    // Already recorded by a concurrent runner: its outcome stands.
    return recorded ?? (await repository.findById(authentication.id)) ?? authentication;
  }

  return {
    /** consents.v1 FindCustomer: the subject of the customer a login hint designates. */
    async findCustomer(loginHint: string): Promise<string> {
      if (!loginHint) throw new CibaRequestError('login_hint is required');
      if (loginHint.length > CIBA_LIMITS.subjectChars) throw new CustomerNotFoundError();
      const customer = await customers.findCustomer(loginHint);
      if (!customer) throw new CustomerNotFoundError();
      return customer.subject;
    },

    /** consents.v1 StartAuthentication: records a Pending request; the same id again returns it unchanged. */
    async start(input: StartInput): Promise<{ authentication: DecoupledAuthentication; created: boolean }> {
      const at = now();
      checkStartInput(input, at);
      const customer = await customers.findCustomer(input.subject);
      if (customer?.subject !== input.subject) throw new CustomerNotFoundError();
      const stored = await repository.insert(
        {
          id: input.id,
          clientId: input.clientId,
          clientName: input.clientName || input.clientId,
          subject: input.subject,
          scope: input.scope.trim(),
          bindingMessage: input.bindingMessage,
          intentId: input.intentId || undefined,
          createdAt: at,
          expiresAt: input.expiresAt,
        },
        purgeAtOf(input.expiresAt, options.retentionSeconds),
      );
      return { authentication: present(stored.authentication), created: stored.created };
    },

    /** consents.v1 ListPendingAuthentications: Pending and unexpired, newest first. */
    async listPending(subject: string): Promise<DecoupledAuthentication[]> {
      if (!subject) throw new CibaRequestError('subject is required');
      const found = await repository.listPending(subject, now(), CIBA_LIMITS.pendingListed);
      return found.map(present);
    },

    /** The request, what it asks for and which of the customer's accounts may be selected. */
    async detailsOf(authentication: DecoupledAuthentication): Promise<RequestDetails> {
      let intent: Consent | undefined;
      if (authentication.intentId) {
        intent = await intentOf(authentication).catch((error: unknown) => {
          if (error instanceof AuthenticationIntentError) return undefined;
          throw error;
        });
      }
      const owned = await customers.listAccounts(authentication.subject);
      const choice =
        intent || !authentication.intentId ? accountChoiceOf(scopesOf(authentication.scope), intent?.kind) : 'none';
      const debtor = intent ? debtorAccountIdOf(intent, owned) : undefined;
      return {
        authentication,
        intent,
        intentUnavailable: authentication.intentId !== undefined && intent === undefined,
        choice,
        selectable:
          choice === 'none'
            ? []
            : debtor === undefined
              ? owned
              : owned.filter((account) => account.accountId === debtor),
      };
    },

    /**
     * consents.v1 DecideAuthentication: validates, then records the decision with its consent id
     * and outbox entry in one conditional update, then applies it to the consent (the relay
     * redoes that if this process stops first) and asks the relay to deliver it.
     */
    async decide(input: DecisionInput): Promise<DecoupledAuthentication> {
      checkDecisionInput(input);
      const at = now();
      const current = await ownRequest(input.authenticationId, input.subject);
      if (current.status !== 'Pending') {
        checkRepeatedDecision(current, input.approve);
        // Still undelivered (auth-server down, or this is a retry after a crash): ask again now.
        if (current.delivery?.state === 'pending') options.onDecisionRecorded?.();
        return present(current);
      }
      if (statusAt(current, at) === 'Expired') throw new AuthenticationExpiredError();
      const consentId = input.approve ? await checkApproval(current, input) : current.intentId;
      const recorded = await repository.recordDecision({
        id: current.id,
        subject: input.subject,
        now: at,
        consentId,
        decision: {
          approved: input.approve,
          accountIds: input.approve ? input.accountIds : [],
          acr: input.acr,
          amr: input.amr,
          actor: input.actor || `customer:${input.subject}`,
          at,
          consentStep: 'pending',
          consentError: '',
        },
        delivery: { state: 'pending', attempts: 0, nextAttemptAt: at, lastError: '', deliveredAt: null },
      });
      if (!recorded) {
        // Decided by someone else in between, or expired meanwhile: answer as if it had been first.
        const latest = await ownRequest(input.authenticationId, input.subject);
        if (latest.status === 'Pending') throw new AuthenticationExpiredError();
        checkRepeatedDecision(latest, input.approve);
        return present(latest);
      }
      let settled = recorded;
      try {
        settled = await settleConsent(recorded);
      } catch (error) {
        options.logger?.warn(
          { err: error, authenticationId: recorded.id },
          'the consent step of a decoupled decision failed; the relay retries it',
        );
      }
      options.onDecisionRecorded?.();
      return present(settled);
    },

    settleConsent,

    /** Removes requests kept long enough after their expiry; how many. */
    async purgeDue(): Promise<number> {
      return repository.purgeDue(now());
    },
  };
}
