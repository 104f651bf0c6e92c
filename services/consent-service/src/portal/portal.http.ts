/**
 * The customer portal (issue 5), mounted under /portal on the public host: the customer signs in
 * through auth-server (portal.oidc.ts), sees every consent they gave and revokes an active one
 * after a confirmation step. Server-rendered, no script; a strict CSP on every page; every form
 * post carries the session's synchronizer token and is checked against the portal's origin.
 * Revocation goes through the consent service as the TPP's does: Revoked atomically with its
 * outbox entry, then auth-server's RevokeByConsent.
 *
 * The portal is also the customer's authentication device for FAPI-CIBA (issue 7): under
 * /portal/requests the customer sees the decoupled requests waiting for them and approves or
 * denies each, with the same session, CSRF and CSP protections as every other form.
 */
import express, {
  type ErrorRequestHandler,
  type Request,
  type RequestHandler,
  type Response,
  type Router,
} from 'express';
import {
  BadRequestError,
  ForbiddenError,
  NotFoundError,
  PreconditionFailedError,
  isDomainError,
  type DomainError,
} from '@obip/errors';
import { formBody, statusForKind, toHttpDomainError } from '@obip/http';
import { CIBA_ERROR_CODES } from '../ciba/ciba.errors';
import type { DecoupledAuthentication } from '../ciba/ciba.model';
import { CIBA_LIMITS } from '../ciba/ciba.rules';
import type { DecoupledAuthenticationService } from '../ciba/ciba.service';
import { CONSENT_ERROR_CODES, ConsentNotFoundError } from '../consents/consents.errors';
import type { Consent } from '../consents/consents.model';
import type { ConsentService } from '../consents/consents.service';
import type { CustomerDirectory } from '../customers/customers.directory';
import { clearCookie, cookieName, createCookieSigner, readCookie, serializeCookie } from './portal.cookies';
import { PortalSignInError, type PortalSignIn } from './portal.oidc';
import { requestsPage, type RequestView } from './portal.requests.views';
import { deviceAuthenticationOf, isAllowedOrigin, isCsrfTokenValid, isOwnedBy, isRevocable } from './portal.rules';
import type { PortalSession, PortalSessions } from './portal.sessions.redis';
import {
  STYLESHEET,
  confirmRevokePage,
  consentsPage,
  errorPage,
  imageOriginsOf,
  signedOutPage,
  type AccountView,
  type ConsentView,
  type TppView,
} from './portal.views';

/** A TPP as dcr-service registered it: the name and logo the customer recognises. */
export interface TppDescription {
  /** `client_name`; empty when it registered none. */
  name: string;
  /** `logo_uri` as registered, unchecked (the page shows only an https one). */
  logoUri: string | undefined;
}

/** Where the portal learns TPPs' names and logos (dcr-service's ClientRegistry in production). */
export interface TppDirectory {
  /** Undefined for a client the registry does not know (deleted). */
  describe(clientId: string): Promise<TppDescription | undefined>;
}

export interface PortalRouterOptions {
  consents: Pick<ConsentService, 'get' | 'list' | 'revoke'>;
  customers: Pick<CustomerDirectory, 'listAccounts'>;
  /** The decoupled (CIBA) requests the customer decides here. */
  authentications: Pick<DecoupledAuthenticationService, 'listPending' | 'detailsOf' | 'decide'>;
  tpps: TppDirectory;
  sessions: PortalSessions;
  signIn: PortalSignIn;
  /** Keys that sign the portal's cookies, newest first. */
  cookieKeys: readonly string[];
  /** Origin of the public host the portal is served on (PORTAL_PUBLIC_URL). */
  publicOrigin: string;
  /** Consents per page. Default 20. */
  pageSize?: number;
  /** How long a customer has to sign in at auth-server, in seconds. Default 600. */
  signInSeconds?: number;
}

/** Who is signed in, set on `res.locals` by the session step. */
interface SignedIn {
  id: string;
  session: PortalSession;
}

/** The strict CSP of every portal page; a page with TPP logos adds their origins as `img-src`. */
export function portalCsp(imageOrigins: readonly string[] = []): string {
  return [
    "default-src 'none'",
    "style-src 'self'",
    ...(imageOrigins.length > 0 ? [`img-src ${imageOrigins.join(' ')}`] : []),
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; ');
}

/**
 * `same-origin` rather than the platform's `no-referrer`: under `no-referrer` a browser sends
 * `Origin: null` with a form post (Fetch, "append a request Origin header"), which would defeat
 * the Origin check; `same-origin` still gives TPP logo hosts and every other site nothing.
 */
export const PORTAL_REFERRER_POLICY = 'same-origin';

const CSRF_CODES = {
  origin: 'csrf_origin_mismatch',
  token: 'csrf_token_invalid',
  session: 'session_required',
} as const;
const MAX_PAGE_TOKEN_LENGTH = 256;

/**
 * @example
 * app.use('/portal', createPortalRouter({ consents, customers, tpps, sessions, signIn, cookieKeys, publicOrigin }));
 */
export function createPortalRouter(options: PortalRouterOptions): Router {
  const { consents, sessions } = options;
  const secure = new URL(options.publicOrigin).protocol === 'https:';
  const publicOrigin = new URL(options.publicOrigin).origin;
  const signer = createCookieSigner(options.cookieKeys);
  const sessionCookie = cookieName('obip-portal', secure);
  const signInCookie = cookieName('obip-portal-signin', secure);
  const signInSeconds = options.signInSeconds ?? 600;
  const form = formBody({ limit: '4kb', parameterLimit: 10 });
  // A decision names one parameter per selected account.
  const decisionForm = formBody({ limit: '8kb', parameterLimit: 4 + CIBA_LIMITS.accounts });

  const signedInOf = (res: Response) => res.locals.signedIn as SignedIn | undefined;

  // ---- steps ----

  /** Reads the session cookie, when it is one we signed and its session is alive. */
  const loadSession: RequestHandler = async (req, res, next) => {
    const id = signer.verify(readCookie(req.headers.cookie, sessionCookie));
    const session = id ? await sessions.find(id) : undefined;
    if (id && session) res.locals.signedIn = { id, session } satisfies SignedIn;
    next();
  };

  /** A page needs a signed-in customer: anyone else is sent to sign in. */
  const requireSignedIn: RequestHandler = (_req, res, next) => {
    if (signedInOf(res)) return next();
    res.redirect(303, '/portal/login');
  };

  /**
   * Every form post: a live session, a browser origin that is the portal's own, and the
   * session's synchronizer token. Nothing is changed when any is missing (403).
   */
  const checkFormPost: RequestHandler = (req, res, next) => {
    const signedIn = signedInOf(res);
    if (!signedIn) throw new ForbiddenError('your session has ended; sign in again', { code: CSRF_CODES.session });
    if (!isAllowedOrigin(req.headers.origin, publicOrigin)) {
      throw new ForbiddenError('the form was not sent from this site', { code: CSRF_CODES.origin });
    }
    const body = req.body as Record<string, unknown>;
    if (!isCsrfTokenValid(body.csrf_token, signedIn.session.csrfToken)) {
      throw new ForbiddenError('the form has expired or was not sent from this site', { code: CSRF_CODES.token });
    }
    next();
  };

  // ---- shared work ----

  /** The consent when it is the signed-in customer's; another's or an unknown one is the same 404. */
  async function ownConsent(req: Request, signedIn: SignedIn): Promise<Consent> {
    const id = req.params.consentId;
    if (typeof id !== 'string' || id.length === 0 || id.length > 128) throw new ConsentNotFoundError();
    const consent = await consents.get(id);
    if (!isOwnedBy(consent, signedIn.session.subject)) throw new ConsentNotFoundError();
    return consent;
  }

  /** TPP names and logos for the page; a registry that cannot answer shows the client id instead. */
  async function describeTpps(clientIds: readonly string[], req: Request): Promise<Map<string, TppView>> {
    const described = await Promise.all(
      [...new Set(clientIds)].map(async (clientId): Promise<[string, TppView]> => {
        try {
          const found = await options.tpps.describe(clientId);
          return [clientId, { name: found?.name || clientId, logoUri: found?.logoUri }];
        } catch (error) {
          // The consents, and revoking them, do not depend on dcr-service being up.
          (req as { log?: { warn(o: object, m: string): void } }).log?.warn(
            { err: error, clientId },
            'TPP name and logo unavailable',
          );
          return [clientId, { name: clientId, logoUri: undefined }];
        }
      }),
    );
    return new Map(described);
  }

  async function accountsOf(subject: string): Promise<Map<string, AccountView>> {
    const accounts = await options.customers.listAccounts(subject);
    return new Map(accounts.map((account) => [account.accountId, accountViewOf(account)]));
  }

  async function viewsOf(list: readonly Consent[], subject: string, req: Request): Promise<ConsentView[]> {
    const [tpps, accounts] = await Promise.all([
      describeTpps(
        list.map((consent) => consent.clientId),
        req,
      ),
      accountsOf(subject),
    ]);
    return list.map((consent) => ({
      consent,
      tpp: tpps.get(consent.clientId)!,
      accounts: consent.accountIds.map((accountId) => accounts.get(accountId) ?? { accountId, label: accountId }),
    }));
  }

  function sendPage(res: Response, html: string, imageOrigins: readonly string[] = [], status = 200): void {
    res.status(status).type('html').setHeader('content-security-policy', portalCsp(imageOrigins));
    res.setHeader('cache-control', 'no-store');
    res.setHeader('referrer-policy', PORTAL_REFERRER_POLICY);
    res.send(html);
  }

  // ---- endpoints ----

  const listConsents: RequestHandler = async (req, res) => {
    const { id, session } = signedInOf(res)!;
    const pageToken = typeof req.query.page === 'string' ? req.query.page.slice(0, MAX_PAGE_TOKEN_LENGTH) : '';
    const { consents: page, nextPageToken } = await consents.list({
      owner: { subject: session.subject },
      pageSize: options.pageSize ?? 20,
      pageToken,
    });
    const views = await viewsOf(page, session.subject, req);
    const { notice, ...rest } = session;
    if (notice !== undefined) await sessions.update(id, rest);
    sendPage(
      res,
      consentsPage({
        consents: views,
        subject: session.subject,
        csrfToken: session.csrfToken,
        ...(notice ? { notice } : {}),
        ...(nextPageToken ? { nextPage: nextPageToken } : {}),
      }),
      imageOriginsOf(views),
    );
  };

  const confirmRevoke: RequestHandler = async (req, res) => {
    const signedIn = signedInOf(res)!;
    const consent = await ownConsent(req, signedIn);
    if (!isRevocable(consent)) {
      res.redirect(303, '/portal');
      return;
    }
    const [view] = await viewsOf([consent], signedIn.session.subject, req);
    sendPage(res, confirmRevokePage({ view: view!, csrfToken: signedIn.session.csrfToken }), imageOriginsOf([view!]));
  };

  /** The same revocation as the TPP's DELETE, recorded as the customer's (issue 5). */
  const revoke: RequestHandler = async (req, res) => {
    const signedIn = signedInOf(res)!;
    const consent = await ownConsent(req, signedIn);
    const [tpp] = (await describeTpps([consent.clientId], req)).values();
    let notice: string;
    try {
      await consents.revoke({
        consentId: consent.id,
        actor: `customer:${signedIn.session.subject}`,
        reason: 'revoked by the customer in the portal',
      });
      notice = `You revoked ${tpp!.name}’s access. It can no longer use this consent.`;
    } catch (error) {
      if (!(error instanceof PreconditionFailedError)) throw error;
      notice = `${tpp!.name}’s access had already ended; nothing was changed.`;
    }
    await sessions.update(signedIn.id, { ...signedIn.session, notice });
    res.redirect(303, '/portal');
  };

  /** The customer's pending decoupled requests, with what each asks for and the accounts to choose. */
  const listRequests: RequestHandler = async (req, res) => {
    const { id, session } = signedInOf(res)!;
    const pending = await options.authentications.listPending(session.subject);
    const [details, tpps] = await Promise.all([
      Promise.all(pending.map((authentication) => options.authentications.detailsOf(authentication))),
      describeTpps(
        pending.map((authentication) => authentication.clientId),
        req,
      ),
    ]);
    const views: RequestView[] = details.map((detail) => ({
      details: detail,
      // The name auth-server sent with the request: shown even when dcr-service cannot answer for the logo.
      tpp: { ...tpps.get(detail.authentication.clientId)!, name: detail.authentication.clientName },
      selectable: detail.selectable.map(accountViewOf),
    }));
    const { notice, ...rest } = session;
    if (notice !== undefined) await sessions.update(id, rest);
    sendPage(
      res,
      requestsPage({ requests: views, csrfToken: session.csrfToken, ...(notice ? { notice } : {}) }),
      imageOriginsOf(views),
    );
  };

  /** The customer's decision on one request, as their authentication device (consents.v1 DecideAuthentication). */
  const decideRequest: RequestHandler = async (req, res) => {
    const signedIn = signedInOf(res)!;
    const body = req.body as Record<string, unknown>;
    if (body.decision !== 'approve' && body.decision !== 'deny') {
      throw new BadRequestError('choose to approve or to deny the request', { code: 'invalid_request' });
    }
    let notice: string;
    try {
      const decided = await options.authentications.decide({
        authenticationId: String(req.params.authenticationId ?? ''),
        subject: signedIn.session.subject,
        approve: body.decision === 'approve',
        accountIds: selectedAccountsOf(body),
        ...deviceAuthenticationOf(signedIn.session),
        actor: '',
      });
      notice = decidedNotice(decided);
    } catch (error) {
      const refused = refusalNotice(error);
      if (refused === undefined) throw error;
      notice = refused;
    }
    await sessions.update(signedIn.id, { ...signedIn.session, notice });
    res.redirect(303, '/portal/requests');
  };

  const beginSignIn: RequestHandler = async (_req, res) => {
    if (signedInOf(res)) {
      res.redirect(303, '/portal');
      return;
    }
    const { authorizationUrl, transaction } = await options.signIn.begin();
    const transactionId = await sessions.saveTransaction(transaction, signInSeconds);
    res.append(
      'set-cookie',
      serializeCookie(signInCookie, signer.sign(transactionId), { secure, maxAgeSeconds: signInSeconds }),
    );
    res.redirect(303, authorizationUrl);
  };

  const completeSignIn: RequestHandler = async (req, res) => {
    const transactionId = signer.verify(readCookie(req.headers.cookie, signInCookie));
    const transaction = transactionId ? await sessions.takeTransaction(transactionId) : undefined;
    res.append('set-cookie', clearCookie(signInCookie, secure));
    if (!transaction) {
      sendPage(
        res,
        errorPage({
          title: 'Sign-in did not complete',
          description: 'The sign-in took too long or was already used. Please sign in again.',
          retry: true,
        }),
        [],
        400,
      );
      return;
    }
    const query = new URL(req.originalUrl, publicOrigin).searchParams;
    const { subject, acr, amr } = await options.signIn.complete(query, transaction);
    // A new session id at every sign-in (no fixation); a previous one in this browser ends.
    const previous = signedInOf(res);
    if (previous) await sessions.destroy(previous.id);
    const { id } = await sessions.create(subject, { ...(acr ? { acr } : {}), ...(amr ? { amr } : {}) });
    res.append('set-cookie', serializeCookie(sessionCookie, signer.sign(id), { secure }));
    res.redirect(303, '/portal');
  };

  const signOut: RequestHandler = async (_req, res) => {
    await sessions.destroy(signedInOf(res)!.id);
    res.append('set-cookie', clearCookie(sessionCookie, secure));
    res.redirect(303, '/portal/signed-out');
  };

  /** The one rendering of errors on these pages: a safe title and description, never detail. */
  const renderError: ErrorRequestHandler = (error: unknown, req, res, next) => {
    if (res.headersSent) {
      next(error);
      return;
    }
    const domain = toHttpDomainError(error);
    const status = domain.expose ? statusForKind(domain.kind) : 500;
    const log = (req as { log?: { error(o: object, m: string): void; info(o: object, m: string): void } }).log;
    if (!domain.expose || status >= 500) log?.error({ err: domain }, 'portal request failed');
    else log?.info({ code: domain.code, status }, 'portal request refused');
    sendPage(res, errorPage({ ...errorText(domain, status), retry: true }), [], status);
  };

  const router = express.Router();
  router.get('/static/portal.css', (_req, res) => {
    res.type('text/css').setHeader('cache-control', 'public, max-age=3600').send(STYLESHEET);
  });
  router.use(loadSession);
  router.get('/', requireSignedIn, listConsents);
  router.get('/login', beginSignIn);
  router.get('/callback', completeSignIn);
  router.get('/signed-out', (_req, res) => sendPage(res, signedOutPage()));
  router.get('/consents/:consentId/revoke', requireSignedIn, confirmRevoke);
  router.post('/consents/:consentId/revoke', form, checkFormPost, revoke);
  router.get('/requests', requireSignedIn, listRequests);
  router.post('/requests/:authenticationId', decisionForm, checkFormPost, decideRequest);
  router.post('/logout', form, checkFormPost, signOut);
  router.use((_req, _res, next) =>
    next(new NotFoundError('there is no page at this address', { code: 'page_not_found' })),
  );
  router.use(renderError);
  return router;
}

function errorText(error: DomainError, status: number): { title: string; description: string } {
  if (status === 404) {
    return {
      title: 'Not found',
      description:
        error.code === 'consent_not_found'
          ? 'We could not find that consent.'
          : error.code === CIBA_ERROR_CODES.notFound
            ? 'We could not find that request. It may have been answered already or have expired.'
            : 'There is no page at this address.',
    };
  }
  if (status === 403) return { title: 'Request refused', description: error.description };
  if (status === 400 && error instanceof PortalSignInError) {
    return { title: 'Sign-in did not complete', description: error.description };
  }
  if (status < 500) return { title: 'Request not accepted', description: error.description };
  if (status === 503) {
    return {
      title: 'Temporarily unavailable',
      description: 'This service is unavailable right now. Please try again shortly.',
    };
  }
  return { title: 'Something went wrong', description: 'The request could not be completed. Please try again.' };
}

/** An account as the pages name it: its nickname (or type) and the last digits of its number. */
function accountViewOf(account: {
  accountId: string;
  nickname: string;
  accountSubType: string;
  identification: string;
}): AccountView {
  return {
    accountId: account.accountId,
    label: `${account.nickname || account.accountSubType} ••${account.identification.slice(-4)}`,
  };
}

/** The accounts a decision form selected: the radio button `account`, or checkboxes `account.<id>`. */
function selectedAccountsOf(body: Record<string, unknown>): string[] {
  return Object.entries(body)
    .filter(([name, value]) => (name === 'account' || name.startsWith('account.')) && typeof value === 'string')
    .map(([, value]) => value as string);
}

function decidedNotice(decided: DecoupledAuthentication): string {
  return decided.status === 'Approved'
    ? `You approved ${decided.clientName}’s request. You can return to ${decided.clientName}.`
    : `You denied ${decided.clientName}’s request. Nothing was shared.`;
}

/** A refusal the customer can act on, in words; undefined for anything else (an error page). */
function refusalNotice(error: unknown): string | undefined {
  if (!isDomainError(error)) return undefined;
  switch (error.code) {
    case CIBA_ERROR_CODES.expired:
      return 'That request expired before you answered. Nothing was shared; start again from the app.';
    case CIBA_ERROR_CODES.alreadyDecided:
      return 'That request was already answered; your first answer stands.';
    case CIBA_ERROR_CODES.intentInvalid:
      return 'That request can no longer be approved. You can deny it.';
    case CONSENT_ERROR_CODES.invalidAccounts:
      return 'Choose the accounts to use for that request, then approve it again.';
    default:
      // The intent can no longer be authorised (e.g. it expired): only a denial is possible.
      return error instanceof PreconditionFailedError
        ? 'That request can no longer be approved. You can deny it.'
        : undefined;
  }
}
