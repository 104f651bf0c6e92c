// The sandbox's demo TPP, in the spirit of Cloudentity's "Financroo": a small server-rendered
// web app a person uses in a browser. At start it gets a software statement, a transport
// certificate and a signing key from the mock directory, registers itself at the bank (OBIE
// DCR), and then connects the person's bank (account-access consent → FAPI 2.0 PAR + PKCE →
// accounts and balances) and makes payments (domestic-payment consent → PAR → payment).
//
// Tokens stay on the server, in the person's session: never in pages, URLs or logs.
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { importJWK, SignJWT, type JWK } from 'jose';
import * as oidc from 'openid-client';
import { Agent, fetch as undiciFetch } from 'undici';
import type { TestPki } from '@obip/testing';
import { createRelyingParty, type RelyingParty, type RelyingPartyOptions } from './relying-party';
import {
  accountAccessConsentRequest,
  balanceToShow,
  describeCallFailure,
  domesticInitiation,
  domesticPaymentConsentRequest,
  domesticPaymentRequest,
  errorCodeOf,
  formatAccountIdentification,
  html,
  intentClaimsParameter,
  isSameSecret,
  PAYMENT_FORM_DEFAULTS,
  readCookie,
  registrationClaims,
  SafeHtml,
  validatePaymentForm,
  type DomesticInitiation,
  type FormProblem,
  type ObieBalance,
  type PaymentFormValues,
} from './tpp-app.rules';

export interface TppAppOptions {
  /** Issues the app's own TLS server certificate for 127.0.0.1 and localhost (pki.issueServerCertificate). */
  pki: TestPki;
  /** Trusted for the edge, the bank API and the directory: pki.caBundlePem. */
  caPem: string;
  /** Default 0. */
  port?: number;
  /** The mock directory, e.g. http://127.0.0.1:8090 (POST /tpps). */
  directoryUrl: string;
  /** The OpenID Provider's issuer (discovery at /.well-known/openid-configuration). */
  issuer: string;
  /** DCR endpoint on the mTLS host, e.g. https://127.0.0.1:9443/register. */
  registrationEndpoint: string;
  /** The bank's identifier that registration requests carry as aud. */
  registrationAudience: string;
  /** The demo bank API base URL, e.g. https://127.0.0.1:8096 (OBIE v3.1 paths). */
  bankApiUrl: string;
  /** Default 'Financroo (obip demo TPP)'. */
  clientName?: string;
}

export interface TppApp {
  /** https://127.0.0.1:<port> */
  readonly url: string;
  /** The client_id it got from DCR. */
  readonly clientId: string;
  stop(): Promise<void>;
}

const ACCOUNT_ACCESS_CONSENTS = '/open-banking/v3.1/aisp/account-access-consents';
const DOMESTIC_PAYMENT_CONSENTS = '/open-banking/v3.1/pisp/domestic-payment-consents';
const ACCOUNTS = '/open-banking/v3.1/aisp/accounts';
const DOMESTIC_PAYMENTS = '/open-banking/v3.1/pisp/domestic-payments';

/** `__Host-`: Secure, Path=/, no Domain (RFC 6265bis §4.1.3.2), so no other host can set it. */
const SESSION_COOKIE = '__Host-financroo';
const SESSION_IDLE_MS = 30 * 60 * 1000;
const MAX_SESSIONS = 10_000;
const MAX_FORM_BYTES = 8 * 1024;
const CALL_TIMEOUT_MS = 15_000;

/**
 * Starts the demo TPP on 127.0.0.1: it listens first (its redirect URI names its port), then
 * enrols at the directory, registers at the bank and discovers the OpenID Provider. Fails with
 * the directory's or the bank's error when either refuses.
 *
 * @example
 * const tpp = await startTppApp({ pki, caPem: pki.caBundlePem, directoryUrl, issuer,
 *   registrationEndpoint: `${mtlsUrl}/register`, registrationAudience: BANK, bankApiUrl });
 * console.log(`open ${tpp.url}`);
 */
export async function startTppApp(options: TppAppOptions): Promise<TppApp> {
  const tls = await options.pki.issueServerCertificate({ hostnames: ['127.0.0.1', 'localhost'] });
  const holder: { app?: AppContext } = {};
  const server: Server = createServer({ cert: tls.chainPem, key: tls.keyPem }, (req, res) => {
    if (!holder.app) {
      sendPage(res, 503, page('Starting', html`<p>Financroo is still starting; try again in a moment.</p>`));
      return;
    }
    const app = holder.app;
    handle(app, req, res).catch((error: unknown) => sendFailure(app, res, error));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const redirectUri = `${url}/callback`;
  const closeServer = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });

  let relyingParty: RelyingParty | undefined;
  try {
    const clientName = options.clientName ?? 'Financroo (obip demo TPP)';
    const software = await enrolAtDirectory(options.directoryUrl, clientName, redirectUri);
    const clientId = await registerClient(options, software, redirectUri);
    relyingParty = await createRelyingParty({
      issuer: options.issuer,
      clientId,
      signing: {
        kid: software.signing.kid,
        alg: 'PS256',
        privateJwk: software.signing.private_jwk as RelyingPartyOptions['signing']['privateJwk'],
      },
      transport: { certPem: software.transport.cert, keyPem: software.transport.key },
      caPem: options.caPem,
    });
    const metadata = relyingParty.config.serverMetadata();
    const tokenAlias = metadata.mtls_endpoint_aliases?.token_endpoint;
    if (!tokenAlias || !metadata.authorization_endpoint) {
      throw new Error(`${options.issuer} publishes no authorization endpoint or mTLS token endpoint alias`);
    }
    holder.app = {
      url,
      redirectUri,
      clientId,
      rp: relyingParty,
      // The intent API lives on the issuer's mTLS host, as the token endpoint alias does.
      intentsUrl: new URL(tokenAlias).origin,
      bankApiUrl: options.bankApiUrl.replace(/\/+$/, ''),
      authorizationOrigin: new URL(metadata.authorization_endpoint).origin,
      sessions: new Map(),
    };
  } catch (error) {
    await relyingParty?.close();
    await closeServer();
    throw error;
  }
  const app = holder.app;
  return {
    url,
    clientId: app.clientId,
    async stop() {
      await closeServer();
      app.sessions.clear();
      await app.rp.close();
    },
  };
}

// ---- start-up: directory and registration ----

/**
 * The directory or the bank refused the TPP at start: the HTTP status and the OAuth `error`
 * (stable, for callers to test) and the `error_description`, all in the message too.
 */
class StartRefusedError extends Error {
  readonly status: number;
  readonly code: string;
  readonly description: string | undefined;
  constructor(what: string, status: number, body: Record<string, unknown> | undefined) {
    const code = typeof body?.error === 'string' ? body.error : 'no_error_code';
    const description = typeof body?.error_description === 'string' ? body.error_description : undefined;
    super(`${what} refused the TPP: HTTP ${status} ${code}${description ? `: ${description}` : ''}`);
    this.name = 'StartRefusedError';
    this.status = status;
    this.code = code;
    this.description = description;
  }
}

/** The mock directory's answer to POST /tpps (directory-app.ts). */
interface DirectorySoftware {
  software_id: string;
  ssa: string;
  transport: { cert: string; key: string };
  signing: { kid: string; private_jwk: JWK };
}

async function enrolAtDirectory(
  directoryUrl: string,
  clientName: string,
  redirectUri: string,
): Promise<DirectorySoftware> {
  const response = await fetch(`${directoryUrl.replace(/\/+$/, '')}/tpps`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({
      software_client_name: clientName,
      software_redirect_uris: [redirectUri],
      software_roles: ['AISP', 'PISP'],
    }),
    signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
  });
  const body = (await response.json().catch(() => undefined)) as Record<string, unknown> | undefined;
  if (response.status !== 201 || !body) throw new StartRefusedError('the directory', response.status, body);
  return body as unknown as DirectorySoftware;
}

/** OBIE DCR 3.3: POST /register over mTLS with a request JWT the software signs. */
async function registerClient(
  options: TppAppOptions,
  software: DirectorySoftware,
  redirectUri: string,
): Promise<string> {
  const claims = registrationClaims({
    softwareId: software.software_id,
    ssa: software.ssa,
    redirectUri,
    audience: options.registrationAudience,
    now: new Date(),
    jti: randomUUID(),
  });
  const request = await new SignJWT(claims)
    .setProtectedHeader({ alg: 'PS256', kid: software.signing.kid, typ: 'JWT' })
    .sign(await importJWK(software.signing.private_jwk, 'PS256'));
  const agent = new Agent({
    connect: { ca: options.caPem, cert: software.transport.cert, key: software.transport.key },
  });
  try {
    const response = await undiciFetch(options.registrationEndpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/jose', accept: 'application/json' },
      body: request,
      dispatcher: agent,
      signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
    });
    const body = (await response.json().catch(() => undefined)) as Record<string, unknown> | undefined;
    if (response.status !== 201 || typeof body?.client_id !== 'string') {
      throw new StartRefusedError(`registration at ${options.registrationEndpoint}`, response.status, body);
    }
    return body.client_id;
  } finally {
    await agent.close();
  }
}

// ---- the running app ----

interface AppContext {
  url: string;
  redirectUri: string;
  clientId: string;
  rp: RelyingParty;
  /** Origin of consent-service's intent API (the issuer's mTLS host). */
  intentsUrl: string;
  bankApiUrl: string;
  /** Where the person is sent to authorise: the pages' CSP lets forms redirect there. */
  authorizationOrigin: string;
  sessions: Map<string, Session>;
}

/** An authorisation in flight: what the callback needs to finish it. */
interface PendingAuthorisation {
  kind: 'accounts' | 'payment';
  verifier: string;
  state: string;
  consentId: string;
  /** Payments: the Initiation of the consent, sent again with the payment. */
  initiation?: DomesticInitiation;
}

interface Session {
  id: string;
  /** Anti-CSRF token for this session's forms. */
  csrf: string;
  lastSeen: number;
  pending?: PendingAuthorisation;
  /** The account-access grant. */
  accounts?: { consentId: string; accessToken: string };
  /** Payments made in this session, by DomesticPaymentId, each with its own token. */
  payments: Map<string, { accessToken: string }>;
}

type Handler = (app: AppContext, exchange: Exchange) => Promise<void>;

interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  params: Record<string, string>;
}

const ROUTES: Array<{ path: RegExp; methods: Partial<Record<'GET' | 'POST', Handler>> }> = [
  { path: /^\/$/, methods: { GET: showHome } },
  { path: /^\/connect$/, methods: { POST: connectBank } },
  { path: /^\/callback$/, methods: { GET: completeAuthorisation } },
  { path: /^\/accounts$/, methods: { GET: showAccounts } },
  { path: /^\/pay$/, methods: { POST: startPayment } },
  { path: /^\/payments\/(?<id>[^/]{1,200})$/, methods: { GET: showPayment } },
];

async function handle(app: AppContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', app.url);
  const route = ROUTES.map((candidate) => ({ candidate, match: candidate.path.exec(url.pathname) })).find(
    ({ match }) => match !== null,
  );
  if (!route) {
    sendPage(res, 404, notFoundPage());
    return;
  }
  const handler = route.candidate.methods[req.method as 'GET' | 'POST'];
  if (!handler) {
    sendPage(res, 405, page('Method not allowed', html`<p>This page does not accept that request.</p>`), {
      allow: Object.keys(route.candidate.methods).join(', '),
    });
    return;
  }
  const params: Record<string, string> = {};
  try {
    for (const [name, value] of Object.entries(route.match!.groups ?? {})) params[name] = decodeURIComponent(value);
  } catch {
    sendPage(res, 404, notFoundPage());
    return;
  }
  await handler(app, { req, res, url, params });
}

// ---- errors ----

/** A call to the platform or the bank that failed: what was being done, and its answer. */
class CallFailedError extends Error {
  constructor(
    /** What the app was doing, shown to the person: "creating the account-access consent". */
    readonly step: string,
    readonly status: number | undefined,
    /** The OBIE or OAuth error code, or the library's or network's. */
    readonly code: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(`${step} failed`, options);
    this.name = 'CallFailedError';
  }
}

/** Runs one call through openid-client, turning its failure into a {@link CallFailedError}. */
async function step<T>(name: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof CallFailedError) throw error;
    const { status, code } = describeCallFailure(error);
    throw new CallFailedError(name, status, code, { cause: error });
  }
}

/** The one place failures become pages and log lines (never with tokens in either). */
function sendFailure(app: AppContext, res: ServerResponse, error: unknown): void {
  if (error instanceof CallFailedError) {
    log(`${error.step} failed: status=${error.status ?? '-'} code=${error.code ?? '-'}`);
    const answer = [
      error.status === undefined ? undefined : `HTTP ${error.status}`,
      error.code === undefined ? undefined : error.code,
    ].filter(Boolean);
    sendPage(
      res,
      502,
      page(
        'Something went wrong',
        html`<p class="problem">Financroo could not finish <strong>${error.step}</strong>.</p>
          <p>
            ${
              answer.length > 0
                ? html`The answer was <code id="failure-code">${answer.join(' ')}</code>.`
                : 'There was no answer.'
            }
          </p>
          <p><a href="/">Start again</a></p>`,
      ),
      {},
      app,
    );
    return;
  }
  const { code } = describeCallFailure(error);
  log(`request failed: ${error instanceof Error ? error.name : typeof error} code=${code ?? '-'}`);
  if (res.headersSent) {
    res.end();
    return;
  }
  sendPage(res, 500, page('Something went wrong', html`<p>Financroo hit a problem. <a href="/">Start again</a>.</p>`));
}

function log(line: string): void {
  process.stderr.write(`[financroo] ${line}\n`);
}

// ---- sessions ----

function findSession(app: AppContext, req: IncomingMessage): Session | undefined {
  const id = readCookie(req.headers.cookie, SESSION_COOKIE);
  const session = id === undefined ? undefined : app.sessions.get(id);
  if (!session) return undefined;
  if (Date.now() - session.lastSeen > SESSION_IDLE_MS) {
    app.sessions.delete(session.id);
    return undefined;
  }
  session.lastSeen = Date.now();
  return session;
}

/** The person's session, started (and its cookie set) when there is none. */
function sessionOf(app: AppContext, exchange: Exchange): Session {
  const found = findSession(app, exchange.req);
  if (found) return found;
  const now = Date.now();
  for (const [id, session] of app.sessions) {
    if (now - session.lastSeen > SESSION_IDLE_MS || app.sessions.size >= MAX_SESSIONS) app.sessions.delete(id);
    else break;
  }
  const session: Session = {
    id: randomBytes(32).toString('base64url'),
    csrf: randomBytes(24).toString('base64url'),
    lastSeen: now,
    payments: new Map(),
  };
  app.sessions.set(session.id, session);
  exchange.res.setHeader(
    'set-cookie',
    `${SESSION_COOKIE}=${session.id}; Path=/; HttpOnly; Secure; SameSite=Lax; Max-Age=${SESSION_IDLE_MS / 1000}`,
  );
  return session;
}

/** A POST from one of our own forms: the session it was rendered for, and its fields. */
async function readForm(app: AppContext, exchange: Exchange): Promise<{ session: Session; form: URLSearchParams }> {
  const type = exchange.req.headers['content-type'] ?? '';
  if (!type.startsWith('application/x-www-form-urlencoded')) {
    throw new FormRefusedError(415, 'This page accepts form submissions only.');
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of exchange.req) {
    size += (chunk as Buffer).length;
    if (size > MAX_FORM_BYTES) throw new FormRefusedError(413, 'The form is too large.');
    chunks.push(chunk as Buffer);
  }
  const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
  const session = findSession(app, exchange.req);
  if (!session || !isSameSecret(session.csrf, form.get('csrf') ?? undefined)) {
    throw new FormRefusedError(403, 'Your session has expired.');
  }
  return { session, form };
}

class FormRefusedError extends Error {
  constructor(
    readonly status: number,
    readonly description: string,
  ) {
    super(description);
    this.name = 'FormRefusedError';
  }
}

/** Runs a form handler; a refused form is answered with a page that starts again. */
async function withForm(
  app: AppContext,
  exchange: Exchange,
  then: (session: Session, form: URLSearchParams) => Promise<void>,
): Promise<void> {
  let read: { session: Session; form: URLSearchParams };
  try {
    read = await readForm(app, exchange);
  } catch (error) {
    if (!(error instanceof FormRefusedError)) throw error;
    sendPage(
      exchange.res,
      error.status,
      page(
        'Please start again',
        html`<p>${error.description}</p>
          ${homeLink()}`,
      ),
    );
    return;
  }
  await then(read.session, read.form);
}

// ---- pages ----

async function showHome(app: AppContext, exchange: Exchange): Promise<void> {
  const session = sessionOf(app, exchange);
  sendPage(
    exchange.res,
    200,
    page(
      'See all your money in one place',
      html`<p>
          Financroo is a demo <abbr title="third-party provider">TPP</abbr> for the obip sandbox. It shows how an app
          connects to a bank through UK Open Banking: it asks the bank for access to your account information (an
          account-access consent), sends you to the bank to sign in and agree (FAPI 2.0 with pushed authorisation
          requests and PKCE), and then reads your accounts and balances. It can also make a payment the same way, with a
          payment consent you approve at the bank.
        </p>
        <p>Sandbox customers: <code>amelia.hart</code> / <code>Sandbox-Amelia-1</code>.</p>
        ${session.accounts ? html`<p><a href="/accounts">Your accounts</a></p>` : ''}
        <form method="post" action="/connect">
          ${csrfField(session)}
          <button type="submit" id="connect">Connect your bank</button>
        </form>`,
    ),
    {},
    app,
  );
}

/** Account-access consent → PAR → the bank's sign-in page. */
async function connectBank(app: AppContext, exchange: Exchange): Promise<void> {
  await withForm(app, exchange, async (session) => {
    const token = await clientCredentialsToken(app, 'accounts');
    const consent = await callApi<{ Data?: { ConsentId?: string } }>(app, {
      step: 'creating the account-access consent',
      url: `${app.intentsUrl}${ACCOUNT_ACCESS_CONSENTS}`,
      method: 'POST',
      token,
      body: accountAccessConsentRequest(new Date()),
      expect: 201,
    });
    const consentId = requireString(consent.Data?.ConsentId, 'creating the account-access consent');
    redirect(exchange.res, await pushAuthorisation(app, session, { kind: 'accounts', consentId }, 'openid accounts'));
  });
}

/** Payment consent → PAR → the bank's sign-in page; the form re-renders when it is not right. */
async function startPayment(app: AppContext, exchange: Exchange): Promise<void> {
  await withForm(app, exchange, async (session, form) => {
    const checked = validatePaymentForm({
      amount: form.get('amount') ?? undefined,
      creditor_name: form.get('creditor_name') ?? undefined,
      creditor_account: form.get('creditor_account') ?? undefined,
      reference: form.get('reference') ?? undefined,
    });
    if (!checked.ok) {
      sendPage(
        exchange.res,
        400,
        page('Make a payment', paymentForm(session, checked.values, checked.problems)),
        {},
        app,
      );
      return;
    }
    const initiation = domesticInitiation(checked.order, {
      instruction: randomUUID().replaceAll('-', ''),
      endToEnd: randomUUID().replaceAll('-', ''),
    });
    const token = await clientCredentialsToken(app, 'payments');
    const consent = await callApi<{ Data?: { ConsentId?: string } }>(app, {
      step: 'creating the payment consent',
      url: `${app.intentsUrl}${DOMESTIC_PAYMENT_CONSENTS}`,
      method: 'POST',
      token,
      body: domesticPaymentConsentRequest(initiation),
      idempotencyKey: randomUUID(),
      expect: 201,
    });
    const consentId = requireString(consent.Data?.ConsentId, 'creating the payment consent');
    redirect(
      exchange.res,
      await pushAuthorisation(app, session, { kind: 'payment', consentId, initiation }, 'openid payments'),
    );
  });
}

/** The bank sends the person back: redeem the code, then show the accounts or make the payment. */
async function completeAuthorisation(app: AppContext, exchange: Exchange): Promise<void> {
  const session = findSession(app, exchange.req);
  const pending = session?.pending;
  if (!session || !pending) {
    sendPage(
      exchange.res,
      400,
      page(
        'Please start again',
        html`<p>This sign-in has expired or was already used.</p>
          ${homeLink()}`,
      ),
    );
    return;
  }
  // Single use: a replayed callback finds nothing pending.
  delete session.pending;
  let tokens: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers;
  try {
    tokens = await oidc.authorizationCodeGrant(app.rp.config, exchange.url, {
      pkceCodeVerifier: pending.verifier,
      expectedState: pending.state,
      idTokenExpected: true,
    });
  } catch (error) {
    if (error instanceof oidc.AuthorizationResponseError) {
      sendAuthorisationRefused(app, exchange, session, error.error);
      return;
    }
    throw new CallFailedError('exchanging the authorisation code for tokens', ...failureOf(error), { cause: error });
  }
  // OBIE: the ID token names the intent the person authorised; it must be the one we created.
  if (tokens.claims()?.openbanking_intent_id !== pending.consentId) {
    throw new CallFailedError('checking the ID token', undefined, 'openbanking_intent_id_mismatch');
  }
  if (pending.kind === 'accounts') {
    session.accounts = { consentId: pending.consentId, accessToken: tokens.access_token };
    redirect(exchange.res, '/accounts');
    return;
  }
  const payment = await callApi<{ Data?: { DomesticPaymentId?: string } }>(app, {
    step: 'making the payment',
    url: `${app.bankApiUrl}${DOMESTIC_PAYMENTS}`,
    method: 'POST',
    token: tokens.access_token,
    body: domesticPaymentRequest(pending.consentId, pending.initiation!),
    idempotencyKey: randomUUID(),
    expect: 201,
  });
  const paymentId = requireString(payment.Data?.DomesticPaymentId, 'making the payment');
  session.payments.set(paymentId, { accessToken: tokens.access_token });
  redirect(exchange.res, `/payments/${encodeURIComponent(paymentId)}`);
}

function sendAuthorisationRefused(app: AppContext, exchange: Exchange, session: Session, error: string): void {
  log(`authorisation refused: code=${error}`);
  const denied = error === 'access_denied';
  sendPage(
    exchange.res,
    400,
    page(
      denied ? 'You did not allow access' : 'The bank did not complete the authorisation',
      html`<p>
          ${
            denied
              ? 'You chose not to share this with Financroo at your bank, so nothing was shared and no payment was made.'
              : 'Your bank could not complete the authorisation.'
          }
        </p>
        <p>The bank answered <code id="authorisation-error">${error}</code>.</p>
        <form method="post" action="/connect">
          ${csrfField(session)}
          <button type="submit">Connect your bank</button>
        </form>`,
    ),
    {},
    app,
  );
}

interface ObieAccount {
  AccountId?: string;
  Currency?: string;
  Nickname?: string;
  Account?: Array<{ SchemeName?: string; Identification?: string; Name?: string }>;
}

async function showAccounts(app: AppContext, exchange: Exchange): Promise<void> {
  const session = sessionOf(app, exchange);
  if (!session.accounts) {
    sendPage(
      exchange.res,
      200,
      page(
        'Your accounts',
        html`<p>You have not connected a bank yet.</p>
          ${connectForm(session, 'Connect your bank')}`,
      ),
      {},
      app,
    );
    return;
  }
  const token = session.accounts.accessToken;
  let rows: Array<{ account: ObieAccount; balance: { amount: string; currency: string } | undefined }>;
  try {
    const listed = await callApi<{ Data?: { Account?: ObieAccount[] } }>(app, {
      step: 'reading your accounts',
      url: `${app.bankApiUrl}${ACCOUNTS}`,
      method: 'GET',
      token,
      expect: 200,
    });
    const accounts = (listed.Data?.Account ?? []).filter((account) => typeof account.AccountId === 'string');
    rows = await Promise.all(
      accounts.map(async (account) => {
        const balances = await callApi<{ Data?: { Balance?: ObieBalance[] } }>(app, {
          step: 'reading a balance',
          url: `${app.bankApiUrl}${ACCOUNTS}/${encodeURIComponent(account.AccountId!)}/balances`,
          method: 'GET',
          token,
          expect: 200,
        });
        return { account, balance: balanceToShow(balances.Data?.Balance ?? []) };
      }),
    );
  } catch (error) {
    // The consent was revoked or the token expired: the person has to connect again.
    if (error instanceof CallFailedError && error.status === 401) {
      log(`${error.step} failed: status=401 code=${error.code ?? '-'}`);
      delete session.accounts;
      sendPage(
        exchange.res,
        200,
        page(
          'Your accounts',
          html`<p class="problem" id="reconnect-needed">
              Your bank no longer lets Financroo read your accounts: the access was withdrawn or has run out.
            </p>
            ${connectForm(session, 'Connect again')}`,
        ),
        {},
        app,
      );
      return;
    }
    throw error;
  }
  const table = html`<table id="accounts">
    <thead>
      <tr>
        <th>Account</th>
        <th>Name</th>
        <th>Sort code and number</th>
        <th class="number">Balance</th>
      </tr>
    </thead>
    <tbody>
      ${rows.map(({ account, balance }) => {
        const held = account.Account?.[0];
        return html`<tr data-account-id="${account.AccountId}">
          <td>${account.Nickname ?? account.AccountId}</td>
          <td>${held?.Name ?? ''}</td>
          <td>${formatAccountIdentification(held?.SchemeName, held?.Identification ?? '')}</td>
          <td class="number balance" data-amount="${balance?.amount ?? ''}" data-currency="${balance?.currency ?? ''}">
            ${balance ? `${balance.amount} ${balance.currency}` : 'not available'}
          </td>
        </tr>`;
      })}
    </tbody>
  </table>`;
  sendPage(
    exchange.res,
    200,
    page(
      'Your accounts',
      html`${rows.length === 0 ? html`<p>Your bank shared no accounts.</p>` : table}
        <p class="note">Shared under consent <code id="accounts-consent-id">${session.accounts.consentId}</code>.</p>
        <h2>Make a payment</h2>
        ${paymentForm(session, PAYMENT_FORM_DEFAULTS, [])}`,
    ),
    {},
    app,
  );
}

interface ObiePayment {
  DomesticPaymentId?: string;
  ConsentId?: string;
  Status?: string;
  CreationDateTime?: string;
  Initiation?: Partial<DomesticInitiation>;
}

async function showPayment(app: AppContext, exchange: Exchange): Promise<void> {
  const session = findSession(app, exchange.req);
  const paymentId = exchange.params.id!;
  const made = session?.payments.get(paymentId);
  if (!made) {
    sendPage(exchange.res, 404, page('Payment not found', html`<p>Financroo made no such payment for you.</p>`));
    return;
  }
  const answer = await callApi<{ Data?: ObiePayment }>(app, {
    step: 'reading the payment',
    url: `${app.bankApiUrl}${DOMESTIC_PAYMENTS}/${encodeURIComponent(paymentId)}`,
    method: 'GET',
    token: made.accessToken,
    expect: 200,
  });
  const payment = answer.Data ?? {};
  const amount = payment.Initiation?.InstructedAmount;
  const creditor = payment.Initiation?.CreditorAccount;
  sendPage(
    exchange.res,
    200,
    page(
      'Your payment',
      html`<dl id="payment">
          <dt>Payment</dt>
          <dd id="payment-id">${payment.DomesticPaymentId ?? paymentId}</dd>
          <dt>Amount</dt>
          <dd id="payment-amount">${amount ? `${amount.Amount} ${amount.Currency}` : ''}</dd>
          <dt>To</dt>
          <dd id="payment-payee">
            ${creditor?.Name ?? ''}
            ${
              creditor?.Identification
                ? `(${formatAccountIdentification(creditor.SchemeName, creditor.Identification)})`
                : ''
            }
          </dd>
          ${
            payment.Initiation?.RemittanceInformation?.Reference
              ? html`<dt>Reference</dt>
                  <dd>${payment.Initiation.RemittanceInformation.Reference}</dd>`
              : ''
          }
          <dt>Consent</dt>
          <dd id="payment-consent-id">${payment.ConsentId ?? ''}</dd>
          <dt>Status</dt>
          <dd id="payment-status">${payment.Status ?? 'unknown'}</dd>
        </dl>
        <p><a href="/accounts">Back to your accounts</a></p>`,
    ),
    {},
    app,
  );
}

// ---- calls to the platform and the bank ----

async function clientCredentialsToken(app: AppContext, scope: 'accounts' | 'payments'): Promise<string> {
  const tokens = await step(`getting a ${scope} token from the bank`, () =>
    oidc.clientCredentialsGrant(app.rp.config, { scope }),
  );
  return tokens.access_token;
}

/** FAPI 2.0 SP §5.3.2.2: PAR with PKCE (S256); the intent as an essential ID token claim. */
async function pushAuthorisation(
  app: AppContext,
  session: Session,
  pending: Omit<PendingAuthorisation, 'verifier' | 'state'>,
  scope: string,
): Promise<string> {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = await step('sending the authorisation request to the bank', async () =>
    oidc.buildAuthorizationUrlWithPAR(app.rp.config, {
      redirect_uri: app.redirectUri,
      scope,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      claims: intentClaimsParameter(pending.consentId),
    }),
  );
  session.pending = { ...pending, verifier, state };
  return url.href;
}

/**
 * One OBIE API call over mTLS (the transport certificate binds the tokens, RFC 8705) with a
 * fresh x-fapi-interaction-id; a status other than `expect` becomes a {@link CallFailedError}
 * with the OBIE error code.
 */
async function callApi<T>(
  app: AppContext,
  call: {
    step: string;
    url: string;
    method: 'GET' | 'POST';
    token: string;
    body?: unknown;
    idempotencyKey?: string;
    expect: number;
  },
): Promise<T> {
  const response = await step(call.step, () =>
    undiciFetch(call.url, {
      method: call.method,
      headers: {
        authorization: `Bearer ${call.token}`,
        accept: 'application/json',
        'x-fapi-interaction-id': randomUUID(),
        ...(call.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(call.idempotencyKey ? { 'x-idempotency-key': call.idempotencyKey } : {}),
      },
      ...(call.body === undefined ? {} : { body: JSON.stringify(call.body) }),
      dispatcher: app.rp.mtls,
      signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
    }),
  );
  const body: unknown = await response.json().catch(() => undefined);
  if (response.status !== call.expect) {
    throw new CallFailedError(call.step, response.status, errorCodeOf(body));
  }
  return (body ?? {}) as T;
}

function failureOf(error: unknown): [number | undefined, string | undefined] {
  const { status, code } = describeCallFailure(error);
  return [status, code];
}

function requireString(value: unknown, stepName: string): string {
  if (typeof value !== 'string' || value === '') throw new CallFailedError(stepName, undefined, 'unexpected_response');
  return value;
}

// ---- rendering ----

const STYLE = `
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1c2430;background:#f4f6fa}
header{background:#0b5cab;color:#fff;padding:.8rem 1.5rem;display:flex;justify-content:space-between;align-items:center}
header a{color:#fff;margin-left:1rem}
main{max-width:52rem;margin:1.5rem auto;padding:1.5rem;background:#fff;border-radius:8px;box-shadow:0 1px 4px #0002}
table{border-collapse:collapse;width:100%}th,td{padding:.5rem;border-bottom:1px solid #dde3ea;text-align:left}
.number{text-align:right}button{background:#0b5cab;color:#fff;border:0;border-radius:4px;padding:.6rem 1.2rem;font-size:1rem;cursor:pointer}
label{display:block;margin:.6rem 0 .2rem}input{padding:.4rem;width:20rem;max-width:100%}
.problem{color:#a4262c}.note{color:#66707c;font-size:.9rem}dt{font-weight:600;margin-top:.5rem}footer{text-align:center;color:#66707c;font-size:.8rem;margin:1rem}
`;

function page(title: string, body: SafeHtml): SafeHtml {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${title} — Financroo</title>
        <style>
          ${new SafeHtml(STYLE)}
        </style>
      </head>
      <body>
        <header>
          <strong>Financroo — demo TPP</strong>
          <nav><a href="/">Home</a><a href="/accounts">Accounts</a></nav>
        </header>
        <main>
          <h1>${title}</h1>
          ${body}
        </main>
        <footer>A demo third-party provider for the obip sandbox. Not a real service.</footer>
      </body>
    </html>`;
}

function csrfField(session: Session): SafeHtml {
  return html`<input type="hidden" name="csrf" value="${session.csrf}" />`;
}

function connectForm(session: Session, label: string): SafeHtml {
  return html`<form method="post" action="/connect">
    ${csrfField(session)}
    <button type="submit" id="connect">${label}</button>
  </form>`;
}

function notFoundPage(): SafeHtml {
  return page('Not found', html`<p>There is no such page. <a href="/">Start again</a>.</p>`);
}

function homeLink(): SafeHtml {
  return html`<p><a href="/">Start again</a></p>`;
}

function paymentForm(session: Session, values: Readonly<PaymentFormValues>, problems: FormProblem[]): SafeHtml {
  const problemOf = (field: keyof PaymentFormValues) => problems.find((problem) => problem.field === field)?.message;
  const field = (name: keyof PaymentFormValues, label: string, extra: SafeHtml) => {
    const problem = problemOf(name);
    return html`<label for="${name}">${label}</label>
      <input id="${name}" name="${name}" value="${values[name]}" ${extra} />
      ${problem ? html`<div class="problem" id="${name}-problem">${problem}</div>` : ''}`;
  };
  return html`${
      problems.length > 0
        ? html`<p class="problem" role="alert" id="payment-problems">Please check the payment details.</p>`
        : ''
    }
    <form method="post" action="/pay" id="payment-form">
      ${csrfField(session)} ${field('amount', 'Amount (GBP)', html`inputmode="decimal" required`)}
      ${field('creditor_name', 'Payee name', html`required maxlength="350"`)}
      ${field('creditor_account', 'Sort code and account number', html`inputmode="numeric" required`)}
      ${field('reference', 'Reference (optional)', html`maxlength="35"`)}
      <p><button type="submit" id="pay">Pay</button></p>
    </form>`;
}

function sendPage(
  res: ServerResponse,
  status: number,
  body: SafeHtml,
  headers: Record<string, string> = {},
  app?: AppContext,
): void {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'referrer-policy': 'no-referrer',
    'x-content-type-options': 'nosniff',
    // Forms post here and are redirected to the bank's authorization endpoint (form-action
    // governs the redirect too); no script anywhere.
    'content-security-policy': `default-src 'none'; style-src 'unsafe-inline'; form-action 'self'${
      app ? ` ${app.authorizationOrigin}` : ''
    }; frame-ancestors 'none'; base-uri 'none'`,
    ...headers,
  });
  res.end(body.value);
}

function redirect(res: ServerResponse, location: string): void {
  res.writeHead(303, { location, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' });
  res.end();
}
