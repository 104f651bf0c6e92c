/**
 * The sandbox device API (SANDBOX_DEVICE_API=true, off by default), mounted under /sandbox on the
 * HTTP port, which the edge never routes: tests and demos play the customer's authentication
 * device without a browser — list a customer's pending decoupled requests by username, approve or
 * deny one. It decides through the same use case as the portal, so a decision made here is
 * recorded, applied to the consent and delivered to auth-server exactly like the customer's.
 * No authentication at all: never on in production.
 *
 * Errors are `{"error", "error_description"}` JSON, with the domain's stable codes.
 */
import express, { type RequestHandler, type Router } from 'express';
import { BadRequestError } from '@obip/errors';
import { errorHandler, jsonBody, notFoundHandler } from '@obip/http';
import type { AuthenticationStatus, DecoupledAuthentication } from './ciba.model';
import { CIBA_LIMITS, defaultAccountSelection, grantedConsentIdOf } from './ciba.rules';
import type { DecoupledAuthenticationService } from './ciba.service';

export interface SandboxDeviceRouterOptions {
  authentications: Pick<DecoupledAuthenticationService, 'findCustomer' | 'listPending' | 'detailsOf' | 'decide'>;
}

/**
 * What a sandbox approval tells auth-server about the customer's authentication when the caller
 * names none: as if the customer had signed in to the portal with their password.
 */
const SANDBOX_AUTHENTICATION = { acr: 'urn:openbanking:psd2:sca', amr: ['pwd'] };
/** Recorded in consent histories, so that a sandbox decision is never mistaken for the customer's. */
const SANDBOX_ACTOR = 'sandbox:device-api';

const unixSeconds = (date: Date) => Math.floor(date.getTime() / 1000);
const STATUS_WORDS: Record<AuthenticationStatus, string> = {
  Pending: 'pending',
  Approved: 'approved',
  Denied: 'denied',
  Expired: 'expired',
};

function pendingView(authentication: DecoupledAuthentication) {
  return {
    authentication_id: authentication.id,
    client_id: authentication.clientId,
    client_name: authentication.clientName,
    binding_message: authentication.bindingMessage,
    scope: authentication.scope,
    openbanking_intent_id: authentication.intentId ?? '',
    created_at: unixSeconds(authentication.createdAt),
    expires_at: unixSeconds(authentication.expiresAt),
  };
}

function decidedView(authentication: DecoupledAuthentication) {
  return {
    authentication_id: authentication.id,
    status: STATUS_WORDS[authentication.status],
    consent_id: grantedConsentIdOf(authentication) ?? '',
    openbanking_intent_id: authentication.intentId ?? '',
    account_ids: authentication.decision?.accountIds ?? [],
    decided_at: authentication.decision ? unixSeconds(authentication.decision.at) : 0,
  };
}

function text(value: unknown, field: string, maxChars: number): string {
  if (typeof value !== 'string' || value === '') throw new BadRequestError(`${field} is required`);
  if (value.length > maxChars) throw new BadRequestError(`${field} is longer than ${maxChars} characters`);
  return value;
}

function optionalStrings(value: unknown, field: string, maxEntries: number): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length > maxEntries || !value.every((item) => typeof item === 'string')) {
    throw new BadRequestError(`${field} must be an array of at most ${maxEntries} strings`);
  }
  return value as string[];
}

interface DecisionBody {
  username: string;
  approve: boolean;
  accountIds: string[] | undefined;
  acr: string | undefined;
  amr: string[] | undefined;
}

function parseDecisionBody(body: unknown): DecisionBody {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new BadRequestError('the body must be a JSON object');
  }
  const fields = body as Record<string, unknown>;
  if (fields.decision !== 'approve' && fields.decision !== 'deny') {
    throw new BadRequestError('decision must be "approve" or "deny"');
  }
  if (fields.acr !== undefined && typeof fields.acr !== 'string') throw new BadRequestError('acr must be a string');
  return {
    username: text(fields.username, 'username', CIBA_LIMITS.subjectChars),
    approve: fields.decision === 'approve',
    accountIds: optionalStrings(fields.account_ids, 'account_ids', CIBA_LIMITS.accounts),
    acr: fields.acr as string | undefined,
    amr: optionalStrings(fields.amr, 'amr', CIBA_LIMITS.amrEntries),
  };
}

/**
 * @example
 * if (settings.SANDBOX_DEVICE_API) app.use('/sandbox', createSandboxDeviceRouter({ authentications }));
 */
export function createSandboxDeviceRouter(options: SandboxDeviceRouterOptions): Router {
  const { authentications } = options;

  const listPending: RequestHandler = async (req, res) => {
    const subject = await authentications.findCustomer(text(req.query.username, 'username', CIBA_LIMITS.subjectChars));
    const pending = await authentications.listPending(subject);
    res.setHeader('cache-control', 'no-store');
    res.json({ authentications: pending.map(pendingView) });
  };

  /** The accounts approved when the caller names none: what the request needs, from the customer's. */
  async function defaultAccounts(authenticationId: string, subject: string): Promise<string[]> {
    const pending = (await authentications.listPending(subject)).find((found) => found.id === authenticationId);
    // Not pending (unknown, expired, decided): the decision itself gives the answer.
    if (!pending) return [];
    const details = await authentications.detailsOf(pending);
    return defaultAccountSelection(
      details.choice,
      details.selectable.map((account) => account.accountId),
      undefined,
    );
  }

  const decide: RequestHandler = async (req, res) => {
    const body = parseDecisionBody(req.body);
    const authenticationId = String(req.params.authenticationId ?? '');
    const subject = await authentications.findCustomer(body.username);
    const accountIds = body.approve ? (body.accountIds ?? (await defaultAccounts(authenticationId, subject))) : [];
    const decided = await authentications.decide({
      authenticationId,
      subject,
      approve: body.approve,
      accountIds,
      acr: body.acr ?? SANDBOX_AUTHENTICATION.acr,
      amr: body.amr ?? SANDBOX_AUTHENTICATION.amr,
      actor: SANDBOX_ACTOR,
    });
    res.setHeader('cache-control', 'no-store');
    res.json(decidedView(decided));
  };

  const router = express.Router();
  router.get('/decoupled-authentications', listPending);
  router.post('/decoupled-authentications/:authenticationId/decision', jsonBody({ limit: '8kb' }), decide);
  router.use(notFoundHandler('oauth'), errorHandler('oauth'));
  return router;
}
