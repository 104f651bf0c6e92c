import { randomUUID } from 'node:crypto';
import Provider, {
  errors,
  type BackchannelAuthenticationRequestInstance,
  type ClientInstance,
  type KoaContextWithOidc,
} from 'oidc-provider';
import { DomainError } from '@obip/errors';
import type { PlatformSettings } from '@obip/platform-config';
import { temporarilyUnavailable } from '../adapter/adapter.errors';
import { requestedIntentId } from '../interactions/interactions.http';
import type { ConsentDirectory } from '../interactions/interactions.ports';
import type { CibaStore } from './ciba.store';

export type CibaSettings = PlatformSettings['ciba'];

export const CIBA_GRANT_TYPE = 'urn:openid:params:grant-type:ciba';

export interface CibaFeatureInput {
  settings: CibaSettings;
  directory: Pick<ConsentDirectory, 'findCustomer' | 'checkIntent' | 'startAuthentication'>;
  store: CibaStore;
}

/**
 * Letters and digits of any script, currency signs, spaces and plain punctuation: what a customer
 * can compare at a glance between the TPP's screen and the bank's app. No markup, quotes or
 * control characters.
 */
const BINDING_MESSAGE_CHARACTERS = /^[\p{L}\p{N}\p{Sc} .,:;!?#+\-_/()]+$/u;

/**
 * The binding_message rules (CIBA Core §7.1: short, plain text). FAPI-CIBA 5.2.2-3: a request
 * without a unique authorisation context (here: an OBIE intent) must carry one, so that the
 * customer can tell which of the TPP's requests they approve.
 */
export function checkBindingMessage(message: unknown, maxLength: number, hasIntent: boolean): void {
  if (message === undefined || message === '') {
    if (hasIntent) return;
    throw new errors.InvalidBindingMessage(
      'binding_message is required when the request names no openbanking_intent_id (FAPI-CIBA 5.2.2-3)',
    );
  }
  if (typeof message !== 'string' || [...message].length > maxLength) {
    throw new errors.InvalidBindingMessage(`binding_message must be at most ${maxLength} characters`);
  }
  if (message.trim() !== message || !BINDING_MESSAGE_CHARACTERS.test(message)) {
    throw new errors.InvalidBindingMessage(
      'binding_message may hold letters, digits, currency signs, inner spaces and . , : ; ! ? # + - _ / ( ) only',
    );
  }
}

/**
 * The lifetime of an auth_req_id: the client's requested_expiry (already checked a positive
 * integer by the engine), at most `maxExpirySeconds`, else the default.
 */
export function cibaExpirySeconds(requestedExpiry: unknown, settings: CibaSettings): number {
  const requested = Number(requestedExpiry);
  if (requestedExpiry === undefined || !Number.isSafeInteger(requested) || requested <= 0) {
    return settings.defaultExpirySeconds;
  }
  return Math.min(requested, settings.maxExpirySeconds);
}

/** Turns consent-service's failures into the engine's errors: a refusal stays one, silence is a 503. */
function asEngineError(error: unknown): never {
  if (error instanceof DomainError && error.kind === 'bad_request') throw new errors.InvalidRequest(error.description);
  if (error instanceof DomainError && error.kind === 'unavailable')
    throw temporarilyUnavailable('consent-service', error);
  throw error;
}

/**
 * node-oidc-provider's `features.ciba`: the engine does FAPI-CIBA's protocol checks (client
 * authentication, signed request object with exp/iat/nbf/jti and a 60-minute life, one hint,
 * requested_expiry, push refused through `deliveryModes`); this supplies what it leaves to us:
 *
 * - login_hint is a customer's username or subject, resolved by consent-service (unknown →
 *   unknown_user_id); login_hint_token is not offered (invalid_request); id_token_hint is the
 *   engine's, checked against our own ID tokens;
 * - a signed request is required of every client (FAPI-CIBA 5.2.2, which the engine enforces
 *   only for clients that registered a signing alg), and a named OBIE intent must be the
 *   client's and await authorisation, as in the redirect flow;
 * - the request is handed to consent-service (the customer's authentication device) under a
 *   fresh authentication id, and the response gets the poll `interval`.
 */
export function cibaFeature(input: CibaFeatureInput): Record<string, unknown> {
  const { settings, directory, store } = input;
  return {
    enabled: settings.enabled,
    deliveryModes: [...settings.deliveryModes],
    async processLoginHint(_ctx: KoaContextWithOidc, loginHint: string) {
      return directory.findCustomer(loginHint).catch(asEngineError);
    },
    async processLoginHintToken() {
      throw new errors.InvalidRequest('login_hint_token is not supported; send login_hint or id_token_hint');
    },
    async verifyUserCode(_ctx: KoaContextWithOidc, _account: unknown, userCode: unknown) {
      if (userCode !== undefined) throw new errors.InvalidRequest('user_code is not supported');
    },
    async validateBindingMessage(ctx: KoaContextWithOidc, bindingMessage: unknown) {
      const hasIntent = requestedIntentId(ctx.oidc.params?.claims) !== undefined;
      checkBindingMessage(bindingMessage, settings.bindingMessageMaxLength, hasIntent);
    },
    // Runs once the request object is verified: where the request's own context is checked.
    async validateRequestContext(ctx: KoaContextWithOidc) {
      if (typeof ctx.oidc.body?.request !== 'string') {
        throw new errors.InvalidRequest('FAPI-CIBA requires a signed authentication request (the request parameter)');
      }
      const intentId = requestedIntentId(ctx.oidc.params?.claims);
      const clientId = ctx.oidc.client?.clientId;
      if (intentId !== undefined && clientId) {
        await directory.checkIntent({ clientId, intentId }).catch(asEngineError);
      }
    },
    async triggerAuthenticationDevice(
      ctx: KoaContextWithOidc,
      request: BackchannelAuthenticationRequestInstance,
      account: { accountId: string },
      client: ClientInstance,
    ) {
      const authenticationId = randomUUID();
      const expiresIn = request.expiration;
      await store.remember(authenticationId, request.jti, expiresIn);
      // The poll interval runs from now: a first poll before it gets slow_down.
      await store.countPoll(request.jti, pollPaceMs(settings.pollIntervalSeconds));
      const bindingMessage = ctx.oidc.params?.binding_message;
      const intentId = requestedIntentId(ctx.oidc.params?.claims);
      await directory
        .startAuthentication({
          authenticationId,
          clientId: client.clientId,
          clientName: typeof client.clientName === 'string' ? client.clientName : client.clientId,
          customerId: account.accountId,
          scope: request.scope ?? '',
          ...(typeof bindingMessage === 'string' && bindingMessage ? { bindingMessage } : {}),
          ...(intentId ? { intentId } : {}),
          expiresAt: Math.floor(Date.now() / 1000) + expiresIn,
        })
        .catch(asEngineError);
      (ctx.body as Record<string, unknown>).interval = settings.pollIntervalSeconds;
    },
  };
}

/** The shortest gap between two counted polls: the interval less a tenth, for network jitter. */
const pollPaceMs = (intervalSeconds: number) => Math.floor(intervalSeconds * 900);

/**
 * slow_down (CIBA Core §11) for a client that polls a pending auth_req_id faster than the
 * interval. The engine's CIBA grant has no such check; this one runs where the grant looks the
 * request up, after client authentication and the check that the request is this client's, so a
 * stranger's guess is never counted against the owner.
 */
export function paceCibaPolling(provider: Provider, store: CibaStore, intervalSeconds: number): void {
  const Model = provider.BackchannelAuthenticationRequest;
  const find = Model.find.bind(Model);
  const intervalMs = pollPaceMs(intervalSeconds);
  Model.find = async (id, options) => {
    const request = await find(id, options);
    const ctx = Provider.ctx;
    const pending = request && !request.grantId && !request.error && !request.isExpired;
    if (
      pending &&
      ctx?.oidc?.route === 'token' &&
      ctx.oidc.params?.grant_type === CIBA_GRANT_TYPE &&
      request.clientId === ctx.oidc.client?.clientId &&
      !(await store.countPoll(request.jti, intervalMs))
    ) {
      throw new errors.SlowDown(`poll at most every ${intervalSeconds} s, and add 5 s after each slow_down`);
    }
    return request;
  };
}
