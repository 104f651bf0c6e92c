import { errors, type default as Provider } from 'oidc-provider';
import express, { Router, type NextFunction, type Request, type Response } from 'express';
import { DomainError } from '@obip/errors';
import { contentSecurityPolicy } from '@obip/http';
import type { GrantStore } from '../adapter/adapter.mongo';
import { isFirstPartyClient } from '../provider/provider.configuration';
import type { ConsentDirectory, ConsentRequest } from './interactions.ports';
import { consentPage, loginPage } from './interactions.views';
import {
  describeOffer,
  identityReleaseOf,
  offerVerifiedClaims,
  requestedVerifiedClaims,
  type IdentityRelease,
} from '../ekyc/ekyc.rules';

export interface InteractionsRouterOptions {
  /** The engine serving new requests; asked once per request, as engines are swapped live. */
  engine: () => Provider;
  directory: ConsentDirectory;
  grants: Pick<GrantStore, 'linkConsent'>;
}

const INTERACTION_CSP = "default-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/**
 * The CSP of a login or consent page. Browsers apply `form-action` to the redirects that follow
 * a form post too (Chromium does), and submitting these forms ends in a redirect to the client's
 * redirect_uri, so its origin — already checked by the engine against the registration — is
 * allowed there; nothing else is.
 */
export function interactionCsp(redirectUri: unknown): string {
  let origin: string | undefined;
  try {
    const url = typeof redirectUri === 'string' ? new URL(redirectUri) : undefined;
    if (url && (url.protocol === 'https:' || url.protocol === 'http:')) origin = url.origin;
  } catch {
    origin = undefined;
  }
  return origin ? INTERACTION_CSP.replace("form-action 'self'", `form-action 'self' ${origin}`) : INTERACTION_CSP;
}

const asList = (value: unknown): string[] =>
  Array.isArray(value)
    ? value.filter((v): v is string => typeof v === 'string')
    : typeof value === 'string'
      ? [value]
      : [];

/**
 * Scopes a first-party client is granted without a consent page: identity only. Every API scope
 * (accounts, payments, …) still needs the customer's consent, whoever asks.
 */
const FIRST_PARTY_SCOPES = new Set(['openid']);

/** Whether a request asks for nothing but scopes a first-party client may be granted silently. */
export function isFirstPartyScope(scope: unknown): boolean {
  const scopes = String(scope ?? '')
    .split(' ')
    .filter(Boolean);
  return scopes.length > 0 && scopes.every((entry) => FIRST_PARTY_SCOPES.has(entry));
}

/**
 * A sign-in to the bank's own application (consent-service's portal): a first-party client
 * asking for OpenID scopes only, without an intent. After login it gets no consent page, and no
 * consent is recorded for it.
 */
function isFirstPartyRequest(client: Record<string, unknown> | undefined, params: Record<string, unknown>): boolean {
  return (
    requestedIntentId(params.claims) === undefined &&
    params.authorization_details === undefined &&
    requestedVerifiedClaims(params.claims).length === 0 &&
    isFirstPartyScope(params.scope) &&
    isFirstPartyClient(client)
  );
}

const VERIFIED_CLAIMS = 'verified_claims';

/**
 * What identity data a request asks for that the bank holds for the customer (names per trust
 * framework), or undefined when the request asks for none. An empty array: asked, nothing matches.
 */
async function identityOnOffer(
  directory: ConsentDirectory,
  customerId: string,
  claimsParameter: unknown,
): Promise<{ release: IdentityRelease[]; descriptions: string[] } | undefined> {
  const requested = requestedVerifiedClaims(claimsParameter);
  if (requested.length === 0) return undefined;
  const offered = offerVerifiedClaims(requested, await directory.verifiedIdentity(customerId));
  return {
    release: identityReleaseOf(offered.map(({ answer }) => answer)),
    descriptions: offered.map(({ answer, source }) => describeOffer(answer, source)),
  };
}

/** The RFC 9396 authorization_details of the consent prompt (the engine checked them, rar.feature.ts). */
function requestedDetails(promptDetails: Record<string, unknown>): Record<string, unknown>[] {
  const rar = promptDetails.rar;
  return Array.isArray(rar) ? (rar as Record<string, unknown>[]) : [];
}

/** `openbanking_intent_id` requested as an ID token or userinfo claim (OBIE Security Profile). */
export function requestedIntentId(claimsParameter: unknown): string | undefined {
  if (typeof claimsParameter !== 'string') return undefined;
  try {
    const claims = JSON.parse(claimsParameter) as Record<string, Record<string, { value?: unknown }> | undefined>;
    const value = claims.id_token?.openbanking_intent_id?.value ?? claims.userinfo?.openbanking_intent_id?.value;
    return typeof value === 'string' && value !== '' ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Login and consent, rendered by auth-server on the public host (`/interaction/:uid`). Each
 * step reads the engine's interaction (bound to the browser by its signed cookie), asks the
 * ConsentDirectory, and finishes the interaction; the engine then resumes the authorization.
 *
 * @example
 * app.use(createInteractionsRouter({ engine: () => engine.provider(), directory, grants: stores.grants }));
 */
export function createInteractionsRouter(options: InteractionsRouterOptions): Router {
  const { directory } = options;
  const router = Router();
  const form = express.urlencoded({ extended: false, limit: '8kb', parameterLimit: 50 });

  router.use('/interaction', contentSecurityPolicy(INTERACTION_CSP));

  router.get('/interaction/:uid', async (req: Request, res: Response) => {
    const provider = options.engine();
    const details = await provider.interactionDetails(req, res);
    // OBIE: an intent that is unknown, another client's or no longer awaiting authorisation ends
    // the request before the customer sees anything, and nothing changes at consent-service.
    const intentId = requestedIntentId(details.params.claims);
    if (intentId !== undefined) {
      try {
        await directory.checkIntent({ clientId: String(details.params.client_id), intentId });
      } catch (error) {
        if (!(error instanceof DomainError) || error.kind !== 'bad_request') throw error;
        await provider.interactionFinished(req, res, { error: error.code, error_description: error.description });
        return;
      }
    }
    const clientId = String(details.params.client_id);
    const client = await provider.Client.find(clientId);
    const firstParty = isFirstPartyRequest(client, details.params);
    // The bank's own application (consent-service's portal): signing in is all the customer
    // does; no consent page, and no consent is recorded for it.
    if (firstParty && details.prompt.name === 'consent' && details.session) {
      const grant = details.grantId
        ? await provider.Grant.find(details.grantId)
        : new provider.Grant({ accountId: details.session.accountId, clientId });
      if (!grant) throw new Error('grant of the interaction not found');
      grant.addOIDCScope(String(details.params.scope));
      const missingClaims = (details.prompt.details.missingOIDCClaims as string[] | undefined) ?? [];
      if (missingClaims.length > 0) grant.addOIDCClaims(missingClaims);
      const grantId = await grant.save();
      await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
      return;
    }
    const clientName = String(client?.clientName ?? clientId);
    res.type('html').setHeader('cache-control', 'no-store');
    res.setHeader('content-security-policy', interactionCsp(details.params.redirect_uri));
    if (details.prompt.name === 'login') {
      res.send(loginPage({ action: `/interaction/${details.uid}/login`, clientName, failed: false, firstParty }));
      return;
    }
    const accounts = details.session ? await directory.listAccounts(details.session.accountId) : [];
    const identity = details.session
      ? await identityOnOffer(directory, details.session.accountId, details.params.claims)
      : undefined;
    res.send(
      consentPage({
        action: `/interaction/${details.uid}/consent`,
        clientName,
        scopes: String(details.params.scope ?? '')
          .split(' ')
          .filter(Boolean),
        accounts,
        authorizationDetails: requestedDetails(details.prompt.details),
        ...(identity ? { identity: identity.descriptions } : {}),
      }),
    );
  });

  router.post('/interaction/:uid/login', form, async (req: Request, res: Response) => {
    const provider = options.engine();
    const details = await provider.interactionDetails(req, res);
    const body = req.body as Record<string, unknown>;
    const customer = await directory.verifyCustomer(String(body.username ?? ''), String(body.password ?? ''));
    if (!customer) {
      const clientId = String(details.params.client_id);
      const client = await provider.Client.find(clientId);
      const firstParty = isFirstPartyRequest(client, details.params);
      res.status(401).type('html').setHeader('cache-control', 'no-store');
      res.setHeader('content-security-policy', interactionCsp(details.params.redirect_uri));
      res.send(
        loginPage({
          action: `/interaction/${details.uid}/login`,
          clientName: String(client?.clientName ?? ''),
          failed: true,
          firstParty,
        }),
      );
      return;
    }
    await provider.interactionFinished(
      req,
      res,
      { login: { accountId: customer.customerId, acr: customer.acr, amr: customer.amr } },
      { mergeWithLastSubmission: false },
    );
  });

  router.post('/interaction/:uid/consent', form, async (req: Request, res: Response) => {
    const provider = options.engine();
    const details = await provider.interactionDetails(req, res);
    const body = req.body as Record<string, unknown>;
    if (details.prompt.name !== 'consent' || !details.session) {
      await provider.interactionFinished(req, res, {
        error: 'access_denied',
        error_description: 'no consent step is pending',
      });
      return;
    }
    const clientId = String(details.params.client_id);
    const scope = String(details.params.scope ?? '');
    const intentId = requestedIntentId(details.params.claims);
    const authorizationDetails = requestedDetails(details.prompt.details);
    // OIDC4IDA: identity data is released only when the customer ticked it, and only what the
    // consent page showed; otherwise the grant refuses verified_claims and none is ever returned.
    const identity = await identityOnOffer(directory, details.session.accountId, details.params.claims);
    const identityRelease = identity && body.verified_claims === 'share' ? identity.release : [];
    const request: ConsentRequest = {
      clientId,
      customerId: details.session.accountId,
      scope,
      accountIds: asList(body.accounts),
      ...(intentId ? { intentId } : {}),
      ...(authorizationDetails.length > 0 ? { authorizationDetails } : {}),
      ...(identityRelease.length > 0 ? { identityRelease } : {}),
    };
    if (body.decision !== 'approve') {
      await directory.reject(request);
      await provider.interactionFinished(req, res, {
        error: 'access_denied',
        error_description: 'the customer denied the request',
      });
      return;
    }
    const consent = await directory.approve(request);
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: details.session.accountId, clientId });
    if (!grant) throw new Error('grant of the interaction not found');
    grant.addOIDCScope(scope);
    const missingClaims = (details.prompt.details.missingOIDCClaims as string[] | undefined) ?? [];
    const grantedClaims = missingClaims.filter((claim) => claim !== VERIFIED_CLAIMS || identityRelease.length > 0);
    if (grantedClaims.length > 0) grant.addOIDCClaims(grantedClaims);
    if (grantedClaims.length < missingClaims.length) grant.rejectOIDCClaims([VERIFIED_CLAIMS]);
    // A resource's API scopes (RFC 8707: tokens carrying authorization_details are for one).
    const missingResourceScopes = (details.prompt.details.missingResourceScopes ?? {}) as Record<string, string[]>;
    for (const [resource, scopes] of Object.entries(missingResourceScopes)) {
      grant.addResourceScope(resource, scopes.join(' '));
    }
    for (const detail of authorizationDetails) grant.addRar(detail);
    const grantId = await grant.save();
    await options.grants.linkConsent(grantId, {
      ...consent,
      ...(identityRelease.length > 0 ? { identityRelease } : {}),
    });
    await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  });

  // The one translation of engine errors on these routes: an expired or foreign interaction is a
  // 400 with the engine's code, safe to show; a dependency that did not answer (the client
  // registry's temporarily_unavailable, status 503) stays a 503; anything else stays unexposed.
  router.use('/interaction', (error: unknown, _req: Request, _res: Response, next: NextFunction) => {
    if (error instanceof errors.OIDCProviderError && error.expose) {
      next(
        new DomainError({
          kind: error.statusCode >= 500 ? 'unavailable' : 'bad_request',
          code: error.error,
          description: error.error_description ?? error.error,
          cause: error,
        }),
      );
      return;
    }
    next(error);
  });

  return router;
}
