// The sandbox's demo bank: the bank's Open Banking resource server (OBIE 3.1 AISP accounts,
// balances and transactions; PISP domestic payments) next to the platform. Every call is
// checked with token-introspection over gRPC, presenting what the bank saw of the caller (the
// verified TLS client certificate, the key of a verified DPoP proof), and the token's consent is
// read from consent-service. Balances and transactions are generated from the account id;
// payments made here debit them, in memory.
import { createHash, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { consentsV1, introspectionV1 } from '@obip/contracts';
import { DomainError } from '@obip/errors';
import { createGrpcClient } from '@obip/grpc';
import type { TestPki } from '@obip/testing';
import {
  accessTokenHash,
  accountView,
  badRequest,
  balanceViews,
  BankApiError,
  canonicalJson,
  certificateThumbprintOf,
  checkAccountSelected,
  checkSenderConstraint,
  checkSubmissionMatchesConsent,
  createDpopReplayCache,
  dependencyUnavailable,
  DPOP_ALGORITHMS,
  domesticPaymentView,
  grantedPermissions,
  invalidDpopProof,
  invalidToken,
  isCallPermitted,
  isIdempotencyKey,
  matchRoute,
  notFound,
  notGranted,
  parseAmount,
  parseAuthorization,
  parsePaymentSubmission,
  sandboxHistory,
  transactionViews,
  verifyDpopProof,
  type AccountCall,
  type ActiveToken,
  type BankAccount,
  type BankConsent,
  type BankRoute,
  type ConsentKind,
  type ConsentStatus,
  type DomesticPayment,
  type LedgerTransaction,
  type Presentation,
  type PresentedToken,
} from './bank-api.rules';

export interface BankApiOptions {
  /** Issues the bank's TLS server certificate (127.0.0.1, localhost) and holds the CA bundle (pki.caBundlePem) that verifies TPP client certificates. TestPki from '@obip/testing'. */
  pki: TestPki;
  /** Default 0 (any free port). */
  port?: number;
  /** token-introspection's gRPC address host:port (obip.introspection.v1.Introspection). */
  introspectionTarget: string;
  /** consent-service's gRPC address host:port (obip.consents.v1.Consents). */
  consentsTarget: string;
  /** Where the one line per request goes (JSON, never a token). Default: standard output. */
  log?: (line: string) => void;
}

export interface BankApi {
  /** https://127.0.0.1:<port> */
  readonly url: string;
  stop(): Promise<void>;
}

/** Deadline of every gRPC call: a dependency that misses it makes the answer 503. */
const GRPC_DEADLINE_MS = 2_000;
const MAX_BODY_BYTES = 64 * 1024;
/** OBIE Read/Write API "Idempotency": a key is remembered for 24 hours. */
const IDEMPOTENCY_WINDOW_MS = 24 * 3_600_000;
/** The server certificate outlives any sandbox session. */
const CERTIFICATE_DAYS = 365;

/** What a request has established so far, for the error challenge and the log line. */
interface RequestContext {
  method: string;
  pathname: string;
  scheme: PresentedToken['scheme'] | undefined;
  clientId: string | undefined;
}

interface Answer {
  status: number;
  body: unknown;
}

/** The caller once its token passed introspection and the sender-constraint check. */
interface Caller extends ActiveToken {
  presented: PresentedToken;
  presentation: Presentation;
}

/** A payment submission as remembered for x-idempotency-key. */
interface Submission {
  payment: DomesticPayment;
  /** SHA-256 of the canonical JSON of the request body. */
  bodyHash: string;
  /** accessTokenHash of the token that made the payment. */
  tokenHash: string;
  /** The token's binding at submission: a replay must come from the same holder. */
  binding: Pick<ActiveToken, 'tokenType' | 'certificateThumbprint' | 'jkt'>;
  at: number;
}

/**
 * Starts the bank on 127.0.0.1 with a server certificate from `pki`. Client certificates are
 * requested but not required at the TLS layer: whether one is needed, and which, is decided per
 * token (a DPoP-bound token needs none).
 *
 * @example
 * const bank = await startBankApi({ pki, introspectionTarget: '127.0.0.1:50054', consentsTarget: '127.0.0.1:50053' });
 * // GET `${bank.url}/open-banking/v3.1/aisp/accounts` with the TPP's certificate and token
 */
export async function startBankApi(options: BankApiOptions): Promise<BankApi> {
  const certificate = await options.pki.issueServerCertificate({
    hostnames: ['127.0.0.1', 'localhost'],
    notAfter: new Date(Date.now() + CERTIFICATE_DAYS * 86_400_000),
  });
  const introspection = createIntrospection(options.introspectionTarget);
  const consents = createConsents(options.consentsTarget);
  const book = createPaymentBook();
  const replay = createDpopReplayCache();
  const log = options.log ?? ((line: string) => void process.stdout.write(`${line}\n`));
  // Filled in once listening: the URLs a DPoP proof's htu may name (RFC 9449 §4.3 item 9).
  const origins = new Set<string>();
  let url = '';

  // ---- steps shared by the endpoints ----

  /** What the caller presented: the token, the CA-verified certificate, the verified DPoP key. */
  async function presentationOf(
    req: IncomingMessage,
    context: RequestContext,
  ): Promise<[PresentedToken, Presentation]> {
    const presented = parseAuthorization(req.headers.authorization);
    context.scheme = presented.scheme;
    const socket = req.socket as TLSSocket;
    const peer = socket.authorized ? socket.getPeerCertificate() : undefined;
    const certificateThumbprint = peer?.raw ? certificateThumbprintOf(peer.raw) : undefined;
    let dpopJkt: string | undefined;
    if (presented.scheme === 'DPoP') {
      const proofs = req.headersDistinct.dpop ?? [];
      if (proofs.length > 1) throw invalidDpopProof('dpop_proof_multiple', 'send exactly one DPoP header');
      const host = `https://${req.headers.host ?? ''}`;
      dpopJkt = await verifyDpopProof(
        proofs[0],
        {
          method: context.method,
          htu: `${origins.has(host) ? host : url}${context.pathname}`,
          accessToken: presented.token,
        },
        { now: Date.now() / 1000, replay },
      );
    }
    return [
      presented,
      {
        scheme: presented.scheme,
        ...(certificateThumbprint ? { certificateThumbprint } : {}),
        ...(dpopJkt ? { dpopJkt } : {}),
      },
    ];
  }

  /** An active token, used by its holder. */
  async function authenticate(req: IncomingMessage, context: RequestContext): Promise<Caller> {
    const [presented, presentation] = await presentationOf(req, context);
    const token = await introspection.introspect(presented.token, presentation);
    if (!token) throw invalidToken('token_inactive', 'the access token is not active');
    context.clientId = token.clientId;
    checkSenderConstraint(token, presentation);
    return { ...token, presented, presentation };
  }

  function requireScope(caller: Pick<Caller, 'scopes'>, scope: string): void {
    if (!caller.scopes.includes(scope)) {
      throw notGranted(
        'insufficient_scope',
        `the access token does not carry the ${scope} scope`,
        'insufficient_scope',
      );
    }
  }

  /**
   * The consent the token was issued under, still Authorised and the caller's. Read on every
   * call: a consent revoked a moment ago stops the next call, whatever introspection cached.
   */
  async function authorisedConsentOf(caller: Caller): Promise<BankConsent> {
    if (!caller.consentId) throw notGranted('consent_missing', 'the access token was not issued under a consent');
    const consent = await consents.get(caller.consentId);
    if (!consent || consent.clientId !== caller.clientId || consent.status !== 'Authorised') {
      throw invalidToken('consent_not_authorised', 'the consent of the access token is not authorised');
    }
    return consent;
  }

  /** AISP: an `accounts` token whose consent grants this family of calls. */
  async function accountAccess(req: IncomingMessage, context: RequestContext, call: AccountCall) {
    const caller = await authenticate(req, context);
    requireScope(caller, 'accounts');
    const consent = await authorisedConsentOf(caller);
    if (consent.kind !== 'account-access' && consent.kind !== 'generic') {
      throw notGranted('consent_kind_mismatch', 'the access token was not issued for account access');
    }
    const permissions = grantedPermissions(consent);
    if (!isCallPermitted(call, permissions)) {
      throw notGranted('permission_missing', `the consent does not grant access to ${call}`);
    }
    return { caller, consent, permissions };
  }

  /** One of the consent's selected accounts, as the customer's bank holds it. */
  async function selectedAccount(consent: BankConsent, accountId: string): Promise<BankAccount> {
    checkAccountSelected(consent, accountId);
    const account = (await consents.listAccounts(consent.subject)).find((held) => held.accountId === accountId);
    if (!account) throw notFound('no account with this id');
    return account;
  }

  const self = (context: RequestContext) => `${url}${context.pathname}`;
  const page = (context: RequestContext, data: unknown): Answer => ({
    status: 200,
    body: { Data: data, Links: { Self: self(context) }, Meta: { TotalPages: 1 } },
  });

  // ---- endpoints ----

  /**
   * OBIE PIS 3.1 payment submission: the token's holder, scope `payments`, an idempotency key,
   * then one submission per key (an earlier one with the same body is answered again).
   */
  async function submitPayment(req: IncomingMessage, context: RequestContext): Promise<Answer> {
    const [presented, presentation] = await presentationOf(req, context);
    const token = await introspection.introspect(presented.token, presentation);
    if (!token) return replayForHolder(req, presented, presentation, context);
    context.clientId = token.clientId;
    checkSenderConstraint(token, presentation);
    const caller: Caller = { ...token, presented, presentation };
    requireScope(caller, 'payments');
    const key = idempotencyKeyOf(req);
    const body = await readJsonBody(req);
    const bodyHash = bodyHashOf(body);
    const submission = await book.submitOnce(caller.clientId, key, async () => ({
      payment: await makePayment(caller, body),
      bodyHash,
      tokenHash: accessTokenHash(presented.token),
      binding: token,
      at: Date.now(),
    }));
    return replayed(submission, bodyHash, context);
  }

  /**
   * A consumed consent leaves its token inactive: a retry of the very submission (same token,
   * same key) by the token's holder still gets the payment it made, nothing else does.
   */
  async function replayForHolder(
    req: IncomingMessage,
    presented: PresentedToken,
    presentation: Presentation,
    context: RequestContext,
  ): Promise<Answer> {
    const key = req.headers['x-idempotency-key'];
    const earlier = isIdempotencyKey(key) ? book.findByToken(accessTokenHash(presented.token), key) : undefined;
    if (!earlier) throw invalidToken('token_inactive', 'the access token is not active');
    checkSenderConstraint(earlier.binding, presentation);
    context.clientId = earlier.payment.clientId;
    return replayed(earlier, bodyHashOf(await readJsonBody(req)), context);
  }

  /** Checks the submission against its consent, spends the consent, and makes the payment. */
  async function makePayment(caller: Caller, body: unknown): Promise<DomesticPayment> {
    const submitted = parsePaymentSubmission(body);
    const consent = await authorisedConsentOf(caller);
    checkSubmissionMatchesConsent(submitted, consent);
    const debtor = await paymentDebtorOf(consent);
    const amount = instructedAmountOf(submitted.initiation, debtor.currency);
    await consents.consume(consent.consentId, `client:${caller.clientId}`);
    return {
      domesticPaymentId: randomUUID(),
      consentId: consent.consentId,
      clientId: caller.clientId,
      createdAt: new Date(),
      initiation: submitted.initiation,
      debtorAccountId: debtor.accountId,
      amount,
    };
  }

  /** The debtor account the customer selected when authorising the payment consent. */
  async function paymentDebtorOf(consent: BankConsent): Promise<BankAccount> {
    const [debtorId] = consent.accountIds;
    const debtor = debtorId
      ? (await consents.listAccounts(consent.subject)).find((held) => held.accountId === debtorId)
      : undefined;
    if (!debtor) throw notGranted('debtor_account_missing', 'the consent names no account of the customer to pay from');
    return debtor;
  }

  /** The payment made under the key, unless the key now comes with another body (OBIE idempotency). */
  function replayed(submission: Submission, bodyHash: string, context: RequestContext): Answer {
    if (submission.bodyHash !== bodyHash) {
      throw badRequest('idempotency_key_reused', [
        {
          ErrorCode: 'UK.OBIE.Header.Invalid',
          Message: 'this x-idempotency-key was used with another request',
          Path: 'x-idempotency-key',
        },
      ]);
    }
    const selfLink = `${url}${context.pathname}/${encodeURIComponent(submission.payment.domesticPaymentId)}`;
    return { status: 201, body: domesticPaymentView(submission.payment, selfLink) };
  }

  const endpoints: Record<
    BankRoute,
    (req: IncomingMessage, id: string | undefined, context: RequestContext) => Promise<Answer>
  > = {
    async listAccounts(req, _id, context) {
      const { consent, permissions } = await accountAccess(req, context, 'accounts');
      const held = await consents.listAccounts(consent.subject);
      const selected = held.filter((account) => consent.accountIds.includes(account.accountId));
      return page(context, { Account: selected.map((account) => accountView(account, permissions)) });
    },
    async getAccount(req, id, context) {
      const { consent, permissions } = await accountAccess(req, context, 'accounts');
      const account = await selectedAccount(consent, id!);
      return page(context, { Account: [accountView(account, permissions)] });
    },
    async getBalances(req, id, context) {
      const { consent } = await accountAccess(req, context, 'balances');
      const account = await selectedAccount(consent, id!);
      return page(context, {
        Balance: balanceViews(account.accountId, book.balanceOf(account.accountId), account.currency, new Date()),
      });
    },
    async getTransactions(req, id, context) {
      const { consent, permissions } = await accountAccess(req, context, 'transactions');
      const account = await selectedAccount(consent, id!);
      return page(context, {
        Transaction: transactionViews(book.transactionsOf(account.accountId), permissions, account.currency),
      });
    },
    submitPayment: (req, _id, context) => submitPayment(req, context),
    async getPayment(req, id, context) {
      const [presented, presentation] = await presentationOf(req, context);
      const token = await introspection.introspect(presented.token, presentation);
      const made = book.submission(id!);
      if (!token) {
        // The token that made the payment died with its consent; its holder may still read it.
        if (!made || made.tokenHash !== accessTokenHash(presented.token)) {
          throw invalidToken('token_inactive', 'the access token is not active');
        }
        checkSenderConstraint(made.binding, presentation);
        context.clientId = made.payment.clientId;
        return { status: 200, body: domesticPaymentView(made.payment, self(context)) };
      }
      // OBIE PIS 3.1 reads the status with a client_credentials token: no consent needed.
      context.clientId = token.clientId;
      checkSenderConstraint(token, presentation);
      requireScope(token, 'payments');
      if (!made || made.payment.clientId !== token.clientId) throw notFound('no domestic payment with this id');
      return { status: 200, body: domesticPaymentView(made.payment, self(context)) };
    },
  };

  // ---- the server ----

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const startedAt = performance.now();
    const sent = req.headers['x-fapi-interaction-id'];
    const interactionId = typeof sent === 'string' && isUuid(sent) ? sent : randomUUID();
    const context: RequestContext = {
      method: req.method ?? 'GET',
      pathname: (req.url ?? '/').split('?')[0]!,
      scheme: undefined,
      clientId: undefined,
    };
    let status: number;
    let code: string | undefined;
    try {
      const matched = matchRoute(context.method, context.pathname);
      if ('status' in matched) {
        throw matched.status === 404
          ? notFound()
          : new BankApiError(
              405,
              'method_not_allowed',
              [{ ErrorCode: 'UK.OBIE.UnexpectedError', Message: 'method not allowed' }],
              undefined,
              {
                allow: matched.allow.join(', '),
              },
            );
      }
      const answer = await endpoints[matched.route](req, matched.id, context);
      status = answer.status;
      send(res, status, answer.body, { 'x-fapi-interaction-id': interactionId });
    } catch (error) {
      const refusal = toBankApiError(error);
      status = refusal.status;
      code = refusal.code;
      send(res, status, errorBody(refusal), {
        'x-fapi-interaction-id': interactionId,
        ...refusal.headers,
        ...(refusal.challenge ? { 'www-authenticate': challengesOf(refusal, context.scheme) } : {}),
      });
    }
    log(
      JSON.stringify({
        time: new Date().toISOString(),
        service: 'sandbox-bank',
        method: context.method,
        path: context.pathname,
        status,
        client_id: context.clientId ?? null,
        ...(code ? { error: code } : {}),
        interaction_id: interactionId,
        duration_ms: Math.round(performance.now() - startedAt),
      }),
    );
  }

  const server: Server = createServer(
    {
      key: certificate.keyPem,
      cert: certificate.chainPem,
      ca: options.pki.caBundlePem,
      // RFC 8705 §3: the certificate is checked per token, so a TPP without one (DPoP) still connects.
      requestCert: true,
      rejectUnauthorized: false,
      minVersion: 'TLSv1.2',
    },
    (req, res) => {
      handle(req, res).catch(() => {
        if (!res.headersSent) send(res, 500, errorBody(toBankApiError(undefined)), {});
        else res.destroy();
      });
    },
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  url = `https://127.0.0.1:${port}`;
  origins.add(url).add(`https://localhost:${port}`);

  return {
    url,
    async stop() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      introspection.close();
      consents.close();
    },
  };
}

// ---- gRPC adapters: proto in, the bank's types out, failures translated here only ----

function createIntrospection(target: string) {
  const client = createGrpcClient(introspectionV1.IntrospectionClient, {
    target,
    defaultDeadlineMs: GRPC_DEADLINE_MS,
    idempotentMethods: ['introspect'],
  });
  return {
    /** The active token, or undefined when token-introspection answers inactive for this presenter. */
    async introspect(token: string, presentation: Presentation): Promise<ActiveToken | undefined> {
      let response: introspectionV1.IntrospectResponse;
      try {
        response = await client.call('introspect', {
          token,
          tokenTypeHint: 'access_token',
          presentedCertificateThumbprint: presentation.certificateThumbprint ?? '',
          presentedDpopJkt: presentation.dpopJkt ?? '',
        });
      } catch {
        // Down, out of time or answering nonsense: the bank cannot vouch for the token (503).
        throw dependencyUnavailable('token-introspection');
      }
      if (!response.active) return undefined;
      return {
        clientId: response.clientId,
        scopes: response.scope.split(' ').filter(Boolean),
        tokenType: response.tokenType,
        certificateThumbprint: response.cnfX5tS256,
        jkt: response.cnfJkt,
        consentId: response.consentId,
      };
    },
    close: () => client.close(),
  };
}

const KIND_FROM_PROTO: Partial<Record<consentsV1.ConsentKind, ConsentKind>> = {
  [consentsV1.ConsentKind.CONSENT_KIND_ACCOUNT_ACCESS]: 'account-access',
  [consentsV1.ConsentKind.CONSENT_KIND_DOMESTIC_PAYMENT]: 'domestic-payment',
  [consentsV1.ConsentKind.CONSENT_KIND_GENERIC]: 'generic',
};

const STATUS_FROM_PROTO: Partial<Record<consentsV1.ConsentStatus, ConsentStatus>> = {
  [consentsV1.ConsentStatus.CONSENT_STATUS_AWAITING_AUTHORISATION]: 'AwaitingAuthorisation',
  [consentsV1.ConsentStatus.CONSENT_STATUS_AUTHORISED]: 'Authorised',
  [consentsV1.ConsentStatus.CONSENT_STATUS_REJECTED]: 'Rejected',
  [consentsV1.ConsentStatus.CONSENT_STATUS_REVOKED]: 'Revoked',
  [consentsV1.ConsentStatus.CONSENT_STATUS_CONSUMED]: 'Consumed',
  [consentsV1.ConsentStatus.CONSENT_STATUS_EXPIRED]: 'Expired',
};

function parseJsonOrUndefined(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function createConsents(target: string) {
  const client = createGrpcClient(consentsV1.ConsentsClient, {
    target,
    defaultDeadlineMs: GRPC_DEADLINE_MS,
    // Never consumeConsent: it spends the consent and must not be repeated blindly.
    idempotentMethods: ['getConsent', 'listCustomerAccounts'],
  });
  const isKind = (error: unknown, kind: string) => error instanceof DomainError && error.kind === kind;
  return {
    /** The consent, or undefined when consent-service knows no such consent. */
    async get(consentId: string): Promise<BankConsent | undefined> {
      let consent: consentsV1.Consent | undefined;
      try {
        ({ consent } = await client.call('getConsent', { consentId }));
      } catch (error) {
        if (isKind(error, 'not_found')) return undefined;
        throw dependencyUnavailable('consent-service');
      }
      if (!consent) return undefined;
      return {
        consentId: consent.consentId,
        clientId: consent.clientId,
        kind: KIND_FROM_PROTO[consent.kind] ?? 'unknown',
        status: STATUS_FROM_PROTO[consent.status] ?? 'Unknown',
        subject: consent.subject,
        permissions: consent.permissions,
        accountIds: consent.accountIds,
        details: parseJsonOrUndefined(consent.authorizationDetailsJson),
      };
    },
    async listAccounts(subject: string): Promise<BankAccount[]> {
      if (!subject) return [];
      try {
        const { accounts } = await client.call('listCustomerAccounts', { subject });
        return accounts.map((account) => ({
          accountId: account.accountId,
          nickname: account.nickname,
          currency: account.currency || 'GBP',
          accountType: account.accountType,
          accountSubType: account.accountSubType,
          schemeName: account.schemeName,
          identification: account.identification,
        }));
      } catch {
        throw dependencyUnavailable('consent-service');
      }
    },
    /**
     * Spends the payment consent, atomically at consent-service: exactly one submission wins. A
     * consent already spent (or no longer Authorised) is refused with 403 and nothing recorded.
     */
    async consume(consentId: string, actor: string): Promise<void> {
      try {
        await client.call('consumeConsent', { consentId, actor });
      } catch (error) {
        if (isKind(error, 'precondition_failed') || isKind(error, 'not_found')) {
          throw new BankApiError(403, 'consent_already_used', [
            {
              ErrorCode: 'UK.OBIE.Resource.InvalidConsentStatus',
              Message: 'the payment consent has already been used or is no longer authorised',
            },
          ]);
        }
        throw dependencyUnavailable('consent-service');
      }
    },
    close: () => client.close(),
  };
}

// ---- payments and the ledger (in memory) ----

function createPaymentBook() {
  const byPaymentId = new Map<string, Submission>();
  const byClientKey = new Map<string, Submission>();
  const byTokenKey = new Map<string, Submission>();
  const inFlight = new Map<string, Promise<Submission>>();
  const debitsByAccount = new Map<string, DomesticPayment[]>();
  const fresh = (submission: Submission | undefined) =>
    submission && Date.now() - submission.at < IDEMPOTENCY_WINDOW_MS ? submission : undefined;

  /**
   * The submission made under this client's key: the one already recorded, the one in
   * progress, or else `submit`'s, recorded once it succeeds. Checking and claiming the key
   * happen in one synchronous step, so overlapping retries never submit twice; a submission
   * that fails leaves the key free.
   */
  function submitOnce(clientId: string, key: string, submit: () => Promise<Submission>): Promise<Submission> {
    const clientKey = `${clientId}\u0000${key}`;
    const recorded = fresh(byClientKey.get(clientKey));
    if (recorded) return Promise.resolve(recorded);
    const pending = inFlight.get(clientKey);
    if (pending) return pending.catch(() => submitOnce(clientId, key, submit));
    const work = submit()
      .then((submission) => {
        byPaymentId.set(submission.payment.domesticPaymentId, submission);
        byClientKey.set(clientKey, submission);
        byTokenKey.set(`${submission.tokenHash}\u0000${key}`, submission);
        const debits = debitsByAccount.get(submission.payment.debtorAccountId) ?? [];
        debits.push(submission.payment);
        debitsByAccount.set(submission.payment.debtorAccountId, debits);
        return submission;
      })
      .finally(() => inFlight.delete(clientKey));
    inFlight.set(clientKey, work);
    return work;
  }

  return {
    submission: (paymentId: string) => byPaymentId.get(paymentId),
    findByToken: (tokenHash: string, key: string) => fresh(byTokenKey.get(`${tokenHash}\u0000${key}`)),
    submitOnce,
    balanceOf(accountId: string): bigint {
      const paid = (debitsByAccount.get(accountId) ?? []).reduce((sum, payment) => sum + payment.amount, 0n);
      return sandboxHistory(accountId).balance - paid;
    },
    transactionsOf(accountId: string): LedgerTransaction[] {
      const made = (debitsByAccount.get(accountId) ?? []).map((payment): LedgerTransaction => {
        const initiation = payment.initiation as {
          EndToEndIdentification?: string;
          RemittanceInformation?: { Reference?: string };
          CreditorAccount?: { Name?: string };
        };
        return {
          transactionId: payment.domesticPaymentId,
          accountId,
          amount: payment.amount,
          creditDebit: 'Debit',
          bookedAt: payment.createdAt,
          reference: initiation.RemittanceInformation?.Reference ?? initiation.EndToEndIdentification ?? '',
          information: `Payment to ${initiation.CreditorAccount?.Name ?? 'a payee'}`,
        };
      });
      return [...made, ...sandboxHistory(accountId).transactions];
    },
  };
}

/** The instructed amount in minor units; the sandbox pays only in the debtor account's currency. */
function instructedAmountOf(initiation: Record<string, unknown>, accountCurrency: string): bigint {
  const instructed = initiation.InstructedAmount as { Amount?: unknown; Currency?: unknown } | undefined;
  const amount = parseAmount(instructed?.Amount);
  if (amount === undefined || amount <= 0n) {
    throw badRequest('amount_invalid', [
      {
        ErrorCode: 'UK.OBIE.Field.Invalid',
        Message: 'InstructedAmount.Amount is not a valid amount',
        Path: 'Data.Initiation.InstructedAmount.Amount',
      },
    ]);
  }
  if (instructed?.Currency !== accountCurrency) {
    throw badRequest('currency_unsupported', [
      {
        ErrorCode: 'UK.OBIE.Unsupported.Currency',
        Message: `the debtor account pays in ${accountCurrency} only`,
        Path: 'Data.Initiation.InstructedAmount.Currency',
      },
    ]);
  }
  return amount;
}

// ---- HTTP ----

function bodyHashOf(body: unknown): string {
  return createHash('sha256').update(canonicalJson(body)).digest('base64url');
}

/** OBIE write APIs: x-idempotency-key is required, Max40Text. */
function idempotencyKeyOf(req: IncomingMessage): string {
  const key = req.headers['x-idempotency-key'];
  if (key === undefined) {
    throw badRequest('idempotency_key_missing', [
      { ErrorCode: 'UK.OBIE.Header.Missing', Message: 'x-idempotency-key is required', Path: 'x-idempotency-key' },
    ]);
  }
  if (!isIdempotencyKey(key)) {
    throw badRequest('idempotency_key_invalid', [
      {
        ErrorCode: 'UK.OBIE.Header.Invalid',
        Message: 'x-idempotency-key must be 1 to 40 visible ASCII characters',
        Path: 'x-idempotency-key',
      },
    ]);
  }
  return key;
}

/** The JSON request body: application/json, at most 64 KiB, well formed. */
async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const type = req.headers['content-type'] ?? '';
  if (!/^application\/json\s*(;|$)/i.test(type)) {
    throw new BankApiError(415, 'content_type_unsupported', [
      { ErrorCode: 'UK.OBIE.Header.Invalid', Message: 'send application/json', Path: 'content-type' },
    ]);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) {
      throw new BankApiError(413, 'body_too_large', [
        { ErrorCode: 'UK.OBIE.Field.Invalid', Message: 'the body is too large' },
      ]);
    }
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    throw badRequest('body_not_json', [
      { ErrorCode: 'UK.OBIE.Resource.InvalidFormat', Message: 'the body is not JSON', Path: '$' },
    ]);
  }
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string | string[]>): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers });
  res.end(JSON.stringify(body));
}

/** Anything that is not a refusal is a bug: a generic 500 that shows nothing of it. */
function toBankApiError(error: unknown): BankApiError {
  if (error instanceof BankApiError) return error;
  return new BankApiError(500, 'server_error', [
    { ErrorCode: 'UK.OBIE.UnexpectedError', Message: 'an unexpected error occurred' },
  ]);
}

/** OBIE OBErrorResponse1. */
function errorBody(error: BankApiError) {
  return { Code: String(error.status), Id: randomUUID(), Message: error.description, Errors: error.items };
}

/**
 * RFC 6750 §3 and RFC 9449 §7.1: the challenge of the scheme the caller used; both schemes when
 * the caller used neither, so that it learns what this bank accepts.
 */
function challengesOf(error: BankApiError, scheme: PresentedToken['scheme'] | undefined): string[] {
  const params = [`error="${error.challenge}"`, `error_description="${error.description.replaceAll('"', "'")}"`];
  const bearer = `Bearer ${params.join(', ')}`;
  const dpop = `DPoP ${[...params, `algs="${DPOP_ALGORITHMS.join(' ')}"`].join(', ')}`;
  if (scheme === 'Bearer') return [bearer];
  if (scheme === 'DPoP') return [dpop];
  return [bearer, dpop];
}

function isUuid(value: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value);
}
