import type Provider from 'oidc-provider';
import type { ClientInstance, KoaContextWithOidc } from 'oidc-provider';
import { Counter, type Registry } from 'prom-client';
import type { PingOutcome } from '../ciba/ciba.ping';
import type { EngineRebuildCause } from '../live/live.engine';
import { profileOfClient } from '../provider/provider.configuration';
import type { PlatformProfile } from '../provider/provider.profile.rules';

/**
 * auth-server's Prometheus metrics: the engine's events, engine rebuilds and CIBA pings.
 * Every label takes its value from a fixed set, so no client id, path or free text ever becomes a
 * label value.
 */
export interface EngineMetrics {
  /**
   * Counts the events of one engine instance. The listeners are registered on the instance
   * itself, so they are released with it when a newer engine replaces it; call this once for
   * every instance built. `defaultProfile` is the profile the instance gives a client registered
   * without one (its live `defaultFapiProfile`).
   */
  observeEngine(provider: Provider, options: { defaultProfile: PlatformProfile }): void;
  /** Counts one engine swapped in after a live settings or signing keys change. */
  engineRebuilt(cause: EngineRebuildCause): void;
  /** Counts one CIBA ping that ended (after its retries). */
  cibaPinged(outcome: PingOutcome): void;
}

/** `grant_type` label values: the grants auth-server serves; anything else is `other`. */
const GRANT_TYPES = new Set([
  'authorization_code',
  'refresh_token',
  'client_credentials',
  'urn:openid:params:grant-type:ciba',
]);

/**
 * `error` label values: the OAuth error codes node-oidc-provider 9.x defines
 * (lib/helpers/errors.js), plus `server_error`. A code outside the list is counted as `other`.
 */
const ENGINE_ERROR_CODES = new Set([
  'access_denied',
  'authorization_pending',
  'consent_required',
  'expired_login_hint_token',
  'expired_token',
  'insufficient_scope',
  'interaction_required',
  'invalid_authorization_details',
  'invalid_binding_message',
  'invalid_client',
  'invalid_client_attestation',
  'invalid_client_metadata',
  'invalid_dpop_proof',
  'invalid_grant',
  'invalid_nonce',
  'invalid_redirect_uri',
  'invalid_request',
  'invalid_request_object',
  'invalid_request_uri',
  'invalid_scope',
  'invalid_software_statement',
  'invalid_target',
  'invalid_token',
  'login_required',
  'registration_not_supported',
  'request_not_supported',
  'request_uri_not_supported',
  'server_error',
  'slow_down',
  'temporarily_unavailable',
  'transaction_failed',
  'unapproved_software_statement',
  'unauthorized_client',
  'unknown_user_id',
  'unmet_authentication_requirements',
  'unsupported_grant_type',
  'unsupported_response_mode',
  'unsupported_response_type',
  'unsupported_token_type',
  'use_dpop_nonce',
]);

/**
 * The engine's error events (lib/helpers/initialize_app.js) of the endpoints auth-server serves,
 * with the `endpoint` label each one counts under. `server_error` is emitted instead of these for
 * an unexpected failure; its endpoint is taken from the route ({@link ROUTE_ENDPOINTS}).
 */
const ERROR_EVENTS = {
  'authorization.error': 'authorization',
  'pushed_authorization_request.error': 'par',
  'grant.error': 'token',
  'userinfo.error': 'userinfo',
  'revocation.error': 'revocation',
  'backchannel_authentication.error': 'backchannel_authentication',
  'discovery.error': 'discovery',
  'jwks.error': 'jwks',
} as const;

type EngineEndpoint = (typeof ERROR_EVENTS)[keyof typeof ERROR_EVENTS];

/** The engine's route names (`ctx.oidc.route`) → `endpoint` label values. */
const ROUTE_ENDPOINTS: Readonly<Record<string, EngineEndpoint>> = {
  authorization: 'authorization',
  resume: 'authorization',
  pushed_authorization_request: 'par',
  token: 'token',
  userinfo: 'userinfo',
  revocation: 'revocation',
  backchannel_authentication: 'backchannel_authentication',
  discovery: 'discovery',
  jwks: 'jwks',
};

/**
 * The `error` label value of an engine error code: the code itself when the engine defines it,
 * else `other`.
 *
 * @example
 * errorCodeLabel('invalid_grant'); // 'invalid_grant'
 * errorCodeLabel('made_up'); // 'other'
 */
export function errorCodeLabel(code: unknown): string {
  return typeof code === 'string' && ENGINE_ERROR_CODES.has(code) ? code : 'other';
}

/**
 * The `grant_type` label value of a token request's grant type: one auth-server serves, else `other`.
 *
 * @example
 * grantTypeLabel('client_credentials'); // 'client_credentials'
 * grantTypeLabel('password'); // 'other'
 */
export function grantTypeLabel(grantType: unknown): string {
  return typeof grantType === 'string' && GRANT_TYPES.has(grantType) ? grantType : 'other';
}

const metricsByRegistry = new WeakMap<Registry, EngineMetrics>();

/**
 * auth-server's metrics, registered in `registry` (the service's, from `@obip/observability`)
 * on first use; a second call with the same registry returns the same metrics instead of failing
 * with prom-client's "already registered" error (an auth-server rebuilt in one process).
 *
 * - `obip_tokens_issued_total{grant_type,profile}`: successful token responses (`grant.success`);
 *   each issues one access token.
 * - `obip_authorizations_total{outcome,profile}`: authorisation requests that ended, by outcome
 *   `success` (the code went back to the client), `denied` (`access_denied`: the customer refused
 *   or the consent could not be given) or `error` (any other error, server errors included).
 * - `obip_engine_errors_total{endpoint,error}`: every error the engine answered with, by OAuth
 *   `error` code.
 * - `obip_par_requests_total{profile}`: pushed authorisation requests accepted (RFC 9126).
 * - `obip_dpop_nonce_challenges_total{endpoint}`: requests answered with `use_dpop_nonce` and a
 *   fresh `DPoP-Nonce` (RFC 9449 §8), which the client then retries.
 * - `obip_engine_rebuilds_total{cause}`: engines swapped in while serving (`settings`,
 *   `signing_keys`, `cookie_keys`).
 * - `obip_rate_limited_requests_total{endpoint,reason}` is @obip/http's (createRateLimitMetrics, on
 *   the same registry): requests refused with 429 (`token`, `par` by `client`; `oidc` by `address`).
 * - `obip_ciba_pings_total{outcome}`: CIBA pings to clients' notification endpoints that ended,
 *   `delivered`, `refused` (a 3xx/4xx answer or a refused address) or `failed` (retries spent).
 *
 * `profile` is the client's platform profile (`fapi1-advanced`, `fapi2-security`,
 * `fapi2-message-signing`), or `none` when the request named no client the engine found.
 *
 * @example
 * const metrics = createEngineMetrics(deps.metrics.registry);
 * const provider = createProvider(input);
 * metrics.observeEngine(provider, { defaultProfile: input.live.defaultFapiProfile });
 */
export function createEngineMetrics(registry: Registry): EngineMetrics {
  const existing = metricsByRegistry.get(registry);
  if (existing) return existing;

  const tokensIssued = new Counter({
    name: 'obip_tokens_issued_total',
    help: 'Successful token responses (one access token each) by grant type and FAPI profile of the client',
    labelNames: ['grant_type', 'profile'] as const,
    registers: [registry],
  });
  const authorizations = new Counter({
    name: 'obip_authorizations_total',
    help: 'Authorisation requests that ended, by outcome (success, denied, error) and FAPI profile of the client',
    labelNames: ['outcome', 'profile'] as const,
    registers: [registry],
  });
  const engineErrors = new Counter({
    name: 'obip_engine_errors_total',
    help: 'Errors the engine answered with, by endpoint and OAuth error code (unknown codes as other)',
    labelNames: ['endpoint', 'error'] as const,
    registers: [registry],
  });
  const parRequests = new Counter({
    name: 'obip_par_requests_total',
    help: 'Pushed authorisation requests accepted, by FAPI profile of the client',
    labelNames: ['profile'] as const,
    registers: [registry],
  });
  const dpopNonceChallenges = new Counter({
    name: 'obip_dpop_nonce_challenges_total',
    help: 'Requests answered with use_dpop_nonce and a fresh DPoP-Nonce (RFC 9449 section 8), by endpoint',
    labelNames: ['endpoint'] as const,
    registers: [registry],
  });
  const rebuilds = new Counter({
    name: 'obip_engine_rebuilds_total',
    help: 'Engines built and swapped in while serving, by cause (settings, signing_keys, cookie_keys)',
    labelNames: ['cause'] as const,
    registers: [registry],
  });

  const cibaPings = new Counter({
    name: 'obip_ciba_pings_total',
    help: 'CIBA pings to client notification endpoints that ended, by outcome (delivered, refused, failed)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });

  function countError(endpoint: EngineEndpoint | 'other', code: string): void {
    engineErrors.inc({ endpoint, error: code });
    if (code === 'use_dpop_nonce') dpopNonceChallenges.inc({ endpoint });
  }

  const metrics: EngineMetrics = {
    observeEngine(provider, { defaultProfile }) {
      const profileOf = (client: ClientInstance | undefined) =>
        client ? profileOfClient(client, defaultProfile) : 'none';

      provider.on('grant.success', (ctx: KoaContextWithOidc) => {
        tokensIssued.inc({
          grant_type: grantTypeLabel(ctx.oidc?.params?.grant_type),
          profile: profileOf(ctx.oidc?.client),
        });
      });
      provider.on('authorization.success', (ctx: KoaContextWithOidc) => {
        authorizations.inc({ outcome: 'success', profile: profileOf(ctx.oidc?.client) });
      });
      provider.on('pushed_authorization_request.success', (ctx: KoaContextWithOidc) => {
        parRequests.inc({ profile: profileOf(ctx.oidc?.client) });
      });
      for (const [event, endpoint] of Object.entries(ERROR_EVENTS)) {
        provider.on(event, (ctx: KoaContextWithOidc, error: { error?: unknown } | undefined) => {
          const code = errorCodeLabel(error?.error);
          countError(endpoint, code);
          if (endpoint === 'authorization') {
            authorizations.inc({
              outcome: code === 'access_denied' ? 'denied' : 'error',
              profile: profileOf(ctx.oidc?.client),
            });
          }
        });
      }
      // Emitted instead of the endpoint's error event when the failure is not one to expose.
      provider.on('server_error', (ctx: KoaContextWithOidc) => {
        const endpoint = ROUTE_ENDPOINTS[ctx.oidc?.route ?? ''] ?? 'other';
        countError(endpoint, 'server_error');
        if (endpoint === 'authorization') {
          authorizations.inc({ outcome: 'error', profile: profileOf(ctx.oidc?.client) });
        }
      });
    },
    engineRebuilt(cause) {
      rebuilds.inc({ cause });
    },
    cibaPinged(outcome) {
      cibaPings.inc({ outcome });
    },
  };
  metricsByRegistry.set(registry, metrics);
  return metrics;
}
