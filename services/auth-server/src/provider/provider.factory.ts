import { createHash } from 'node:crypto';
import { decodeJwt } from 'jose';
import Provider, { errors, type KoaContextWithOidc, type RefreshTokenInstance } from 'oidc-provider';
import { isAdminApiScope } from '@obip/platform-config';
import type { RedisModelStore } from '../adapter/adapter.redis';
import { paceCibaPolling } from '../ciba/ciba.feature';
import { pingInBackground, type PingSender } from '../ciba/ciba.ping';
import { isParRequiredByDefault, type ProfilePolicy } from './provider.profile.rules';
import {
  buildProviderConfiguration,
  mtlsEndpointAliases,
  type ProviderConfigurationInput,
} from './provider.configuration';

export interface CreateProviderInput extends ProviderConfigurationInput {
  /** The Redis store of ReplayDetection, for the atomic replay check. */
  replayStore: RedisModelStore;
  /** Delivers CIBA pings in the background, with retries. */
  pingSender: PingSender;
}

/**
 * Builds the engine: configuration from settings, the issuer on the public host, discovery
 * completed for FAPI, replay detection made atomic, refresh tokens bound to the client
 * certificate, CIBA polls paced (slow_down) and pings sent in the background with retries. Called again for every live settings or signing key change (live.engine.ts), so
 * it registers nothing outside the instance it returns.
 *
 * `provider.proxy = true` makes Koa read the scheme and host from X-Forwarded-Proto/-Host, which
 * the engine uses for every URL it prints (discovery endpoints, client assertion `aud`
 * checks, `htu` of DPoP proofs). Those headers are never taken from the network: provider.http.ts
 * overwrites both on every request with the configured public or mTLS origin, chosen by the
 * route (routes.json), before the engine sees the request.
 *
 * @example
 * const provider = createProvider({ settings, adapter: stores.adapter, replayStore: stores.redisModel('ReplayDetection'), ... });
 */
export function createProvider(input: CreateProviderInput): Provider {
  const provider = new Provider(new URL(input.issuer).origin, buildProviderConfiguration(input));
  provider.proxy = true;
  provider.use(
    completeDiscovery(input.settings.MTLS_BASE_URL, {
      defaultProfile: input.live.defaultFapiProfile,
      parForFapi1: input.live.requirements.parForFapi1,
    }),
  );
  makeReplayDetectionAtomic(provider, input.replayStore);
  bindRefreshTokensToCertificate(provider);
  paceCibaPolling(provider, input.ciba.store, input.live.ciba.pollIntervalSeconds);
  pingInBackground(provider, input.pingSender);
  return provider;
}

/**
 * Discovery as FAPI deployments publish it: the client-authenticating endpoints on the mTLS host
 * (the public host does not route them), repeated in `mtls_endpoint_aliases` (RFC 8705 §5) for
 * endpoints the engine advertises, and `require_pushed_authorization_requests` when the platform
 * default is a FAPI 2.0 profile or FAPI 1.0 clients must use PAR too (otherwise clients on FAPI
 * 1.0 Advanced may still send request objects by value; the requirement is enforced per client).
 */
function completeDiscovery(mtlsBaseUrl: string, policy: ProfilePolicy) {
  const aliases = mtlsEndpointAliases(mtlsBaseUrl);
  return async (ctx: KoaContextWithOidc, next: () => Promise<void>) => {
    await next();
    if (ctx.oidc?.route !== 'discovery' || typeof ctx.body !== 'object' || ctx.body === null) return;
    const body = ctx.body as Record<string, unknown>;
    const advertised = Object.fromEntries(Object.entries(aliases).filter(([name]) => body[name] !== undefined));
    Object.assign(body, advertised, { mtls_endpoint_aliases: advertised });
    body.require_pushed_authorization_requests = isParRequiredByDefault(policy);
    // FAPI-CIBA: no user_code (OBIE DCR 3.3 refuses clients that would send one).
    if (body.backchannel_user_code_parameter_supported !== undefined) {
      body.backchannel_user_code_parameter_supported = false;
    }
    // The admin API is internal: TPPs are not told of its scopes.
    if (Array.isArray(body.scopes_supported)) {
      body.scopes_supported = body.scopes_supported.filter((scope) => !isAdminApiScope(String(scope)));
    }
  };
}

/**
 * The engine checks replays (client assertion and DPoP `jti`) by find-then-save, which two
 * replicas can both pass. Here the check is one SET-NX-like claim in Redis: exactly one caller
 * gets `true`. Same id derivation as lib/models/replay_detection.js.
 */
function makeReplayDetectionAtomic(provider: Provider, store: RedisModelStore): void {
  provider.ReplayDetection.unique = async (iss, jti, exp) => {
    const id = createHash('sha256').update(`${iss}${jti}`).digest('base64url');
    const now = Math.floor(Date.now() / 1000);
    const unique = await store.insertOnce(
      id,
      { iss, kind: 'ReplayDetection', jti: id, iat: now, exp },
      Math.max(1, exp - now),
    );
    // RFC 9449 §5, §7.1: a replayed DPoP proof is an invalid proof (invalid_dpop_proof); the
    // engine would report it as invalid_grant at /token and invalid_request at PAR.
    if (!unique && isJtiOfDpopProof(jti)) throw new errors.InvalidDpopProof('DPoP proof JWT Replay detected');
    return unique;
  };
}

/**
 * Whether `jti` is that of the request's DPoP proof. The engine checks client assertions and DPoP
 * proofs through the same `unique`; a jti that both carry is left to the engine's own error.
 */
function isJtiOfDpopProof(jti: string): boolean {
  const ctx = Provider.ctx;
  return jtiOf(ctx?.get('DPoP')) === jti && jtiOf(ctx?.oidc?.params?.client_assertion) !== jti;
}

function jtiOf(jwt: unknown): unknown {
  if (typeof jwt !== 'string' || jwt === '') return undefined;
  try {
    return decodeJwt(jwt).jti;
  } catch {
    return undefined;
  }
}

/**
 * Binds a refresh token to the certificate its access token is bound to, so that a refresh
 * presenting another certificate is refused with invalid_grant (the engine's own check,
 * lib/actions/grants/refresh_token.js: "failed x5t#S256 verification") and the token stays usable
 * with the right one. The engine binds refresh tokens only for public clients
 * (lib/helpers/set_rt_bindings.js), RFC 8705 §3 leaving those of confidential clients bound to
 * client authentication alone; auth-server binds them for every client with certificate-bound
 * access tokens (issue 4). The cost: a TPP that replaces its transport certificate needs new
 * authorisations for refresh. A rotated refresh token (FAPI 1.0, REFRESH_TOKEN_ROTATION) keeps
 * its predecessor's binding; DPoP-bound clients' refresh tokens stay unbound (RFC 9449 §5).
 */
function bindRefreshTokensToCertificate(provider: Provider): void {
  const { prototype } = provider.RefreshToken;
  const save = prototype.save;
  prototype.save = function saveBoundToCertificate(this: RefreshTokenInstance, ttl?: number) {
    // Set by the engine before it saves the refresh token issued with it (lib/helpers/grant_common.js).
    const accessToken = Provider.ctx?.oidc?.entities.AccessToken as { 'x5t#S256'?: unknown } | undefined;
    const thumbprint = accessToken?.['x5t#S256'];
    if (this['x5t#S256'] === undefined && this.jkt === undefined && typeof thumbprint === 'string') {
      this['x5t#S256'] = thumbprint;
    }
    return save.call(this, ttl);
  };
}
