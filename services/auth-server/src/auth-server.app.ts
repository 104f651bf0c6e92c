import type { KoaContextWithOidc } from 'oidc-provider';
import type Provider from 'oidc-provider';
import type { Express } from 'express';
import type { Connection } from 'mongoose';
import { createGrpcClient, type GrpcServer } from '@obip/grpc';
import { clientsV1, tokensV1 } from '@obip/contracts';
import {
  createClientCertificateReader,
  createHttpApp,
  createRateLimiter,
  createRateLimitMetrics,
  createRedisRateCounter,
  createSourceAddressReader,
  errorHandler,
  notFoundHandler,
  rateLimit,
} from '@obip/http';
import type { Logger, ServiceMetrics } from '@obip/observability';
import { subscribeToPlatformConfig, type PlatformConfigSubscription } from '@obip/platform-config';
import type { RedisClient } from '@obip/redis';
import { createTokenStore } from '@obip/token-store';
import type { AuthServerSettings } from './config';
import { readFileSync } from 'node:fs';
import { createClientAdapter } from './adapter/adapter.clients';
import { createCibaCompletion } from './ciba/ciba.completion';
import { createPingSender, type PingSender } from './ciba/ciba.ping';
import { createCibaStore } from './ciba/ciba.store';
import { createOidcStores, type OidcStores } from './adapter/adapter.factory';
import { selectVerifiedClaims, verifiedClaimsValue } from './ekyc/ekyc.rules';
import { createInteractionsRouter } from './interactions/interactions.http';
import type { ConsentDirectory } from './interactions/interactions.ports';
import { errorPage } from './interactions/interactions.views';
import {
  watchCookieKeysFile,
  watchSigningKeysFile,
  type KeyFileWatch,
  type SigningKeysWatch,
} from './keys/keys.reload';
import { loadKeyMaterial } from './keys/keys.signing';
import { createLiveEngine, type LiveEngine } from './live/live.engine';
import { liveSettingsFromEnvironment, liveSettingsFromPlatform, type LiveSettings } from './live/live.settings';
import { createEngineMetrics } from './metrics/metrics.engine';
import { createMtlsHooks } from './mtls/mtls.certificates';
import { createProvider } from './provider/provider.factory';
import { engineHandler } from './provider/provider.http';
import { rateLimitClients } from './ratelimit/ratelimit.http';
import { createTokensGrpcHandlers } from './tokens/tokens.grpc';

export interface AuthServerDependencies {
  settings: AuthServerSettings;
  logger: Logger;
  metrics?: ServiceMetrics;
  redis: RedisClient;
  mongo: Connection;
  /** Login and consent: consent-service over gRPC (createGrpcConsentDirectory), or a test double. */
  directory: ConsentDirectory;
  /** Where `obip.tokens.v1.Tokens` is registered; omitted when the caller serves no gRPC. */
  grpcServer?: GrpcServer;
}

export interface AuthServer {
  app: Express;
  /** The engine serving new requests; a live settings or signing key change swaps in a new one. */
  provider(): Provider;
  /** The live settings in force, and the platform config version they came from (undefined: the environment). */
  liveSettings(): { settings: LiveSettings; version: number | undefined };
  stores: OidcStores;
  /** Stops the config-api subscription and the signing keys watch, and closes the channel to dcr-service. */
  close(): Promise<void>;
}

/** Seconds the revocation markers outlive the longest-lived token (token store and grant markers). */
const REVOCATION_MARGIN_SECONDS = 3600;

const isLocalUrl = (url: string) => /^https:\/\/(127\.0\.0\.1|localhost)[:/]/.test(url);

/**
 * Builds auth-server around node-oidc-provider: stores, keys, the engine, its HTTP surface
 * (rate limits, engine routes, interactions, 404 in the OAuth error format) and the Tokens gRPC
 * service. main.ts is the only caller outside tests.
 *
 * Live settings (issue 8): with CONFIG_GRPC_TARGET, auth-server subscribes to config-api without
 * waiting for it. The platform config in hand when the engine is built (normally the one cached
 * in CONFIG_CACHE_FILE) gives the start values, its issuer included, which then stays for the
 * life of the process; every later snapshot is applied while serving, as is a changed
 * SIGNING_KEYS_FILE (live.engine.ts).
 *
 * @example
 * const server = await createAuthServer({ settings, logger, redis, mongo, directory, grpcServer });
 * await runService({ ..., http: server.app });
 */
export async function createAuthServer(deps: AuthServerDependencies): Promise<AuthServer> {
  const { settings, logger } = deps;
  const keys = await loadKeyMaterial(settings);

  // Until the engine exists, a snapshot (the cached one, or config-api's if it answers first)
  // only replaces the start values; afterwards it is applied to the running engine.
  const running: { engine?: LiveEngine } = {};
  let startup: { live: LiveSettings; version?: number } = { live: liveSettingsFromEnvironment(settings) };
  const subscription: PlatformConfigSubscription | undefined = settings.CONFIG_GRPC_TARGET
    ? await subscribeToPlatformConfig({
        target: settings.CONFIG_GRPC_TARGET,
        ...(settings.CONFIG_CACHE_FILE ? { cacheFile: settings.CONFIG_CACHE_FILE } : {}),
        logger: logger.child({ component: 'platform-config' }),
        onConfig(config, version) {
          const live = liveSettingsFromPlatform(config.settings);
          if (running.engine) running.engine.applySettings(live, version);
          else startup = { live, version };
        },
      })
    : undefined;

  const issuer = new URL(startup.live.issuer).origin;
  if (issuer !== new URL(settings.ISSUER).origin) {
    logger.warn(
      { issuer, ISSUER: settings.ISSUER, version: startup.version },
      `issuer ${issuer} from platform config version ${startup.version} is used instead of ISSUER`,
    );
  }
  const insecure = [
    ...keys.developmentDefaults,
    ...(isLocalUrl(issuer) ? ['ISSUER'] : []),
    ...(isLocalUrl(settings.MTLS_BASE_URL) ? ['MTLS_BASE_URL'] : []),
  ];
  if (insecure.length > 0) {
    logger.warn(
      { settings: insecure },
      `insecure development defaults in use: ${insecure.join(', ')}; set them for production`,
    );
  }

  // Refresh tokens never outlive their grant (GRANT_TTL_SECONDS, fixed), so a later live change of
  // the lifetimes cannot outgrow this.
  const revocationMemorySeconds =
    Math.max(
      startup.live.lifetimes.refreshTokenSeconds,
      settings.GRANT_TTL_SECONDS,
      startup.live.lifetimes.accessTokenSeconds,
    ) + REVOCATION_MARGIN_SECONDS;
  const registry = createGrpcClient(clientsV1.ClientRegistryClient, {
    target: settings.CLIENT_REGISTRY_GRPC_TARGET,
    idempotentMethods: ['getClient', 'listClients'],
    defaultDeadlineMs: 2_000,
  });
  const liveSettings = () => running.engine?.settings() ?? startup.live;
  const clients = createClientAdapter({
    registry,
    cacheTtlMs: settings.CLIENT_CACHE_TTL_MS,
    policy: () => ({
      defaultProfile: liveSettings().defaultFapiProfile,
      parForFapi1: liveSettings().requirements.parForFapi1,
    }),
  });
  const stores = createOidcStores({
    redis: deps.redis,
    mongo: deps.mongo,
    clients,
    tokenStore: createTokenStore(deps.redis, { revocationMemorySeconds }),
    issuer,
    revocationMemorySeconds,
    clockToleranceSeconds: 10,
  });
  const { expiry } = await stores.ensureIndexes();
  if (expiry === 'plain') {
    logger.info('the database has no TTL indexes: expired grants and refresh tokens are removed by the purge sweep');
  }
  const purgeSweep = startPurgeSweep(stores, settings.EXPIRED_GRANTS_PURGE_MS, logger);

  const mtls = createMtlsHooks(
    createClientCertificateReader({
      format: settings.CLIENT_CERT_HEADER_FORMAT,
      ...(settings.TRUSTED_PROXY_CIDRS ? { trustedProxyCidrs: settings.TRUSTED_PROXY_CIDRS } : {}),
    }),
  );

  // Everything below is built once and shared by every engine; only `live` and `jwks` vary.
  const replayStore = stores.redisModel('ReplayDetection');
  const accounts = {
    async findAccount(ctx: KoaContextWithOidc, sub: string) {
      return {
        accountId: sub,
        async claims(_use: string, _scope: string, requested?: Record<string, unknown>) {
          const grant = ctx.oidc.entities.Grant as { jti?: string } | undefined;
          const token = (ctx.oidc.entities.AccessToken ?? ctx.oidc.entities.AuthorizationCode) as
            { grantId?: string } | undefined;
          const grantId = grant?.jti ?? token?.grantId;
          const consent = grantId ? await stores.grants.consentOf(grantId) : undefined;
          // OIDC4IDA: asked for this response only; the engine drops it unless the customer released it.
          const verifiedClaims =
            requested?.verified_claims === undefined
              ? undefined
              : verifiedClaimsValue(
                  selectVerifiedClaims(requested.verified_claims, await deps.directory.verifiedIdentity(sub)),
                );
          return {
            sub,
            ...(consent?.openbankingIntentId ? { openbanking_intent_id: consent.openbankingIntentId } : {}),
            ...(verifiedClaims ? { verified_claims: verifiedClaims } : {}),
          };
        },
      };
    },
  };
  const renderError = async (ctx: KoaContextWithOidc, out: Record<string, unknown>) => {
    ctx.set('content-type', 'text/html; charset=utf-8');
    ctx.body = errorPage(String(out.error ?? 'server_error'));
  };
  const logServerError = (_ctx: unknown, error: unknown) => logger.error({ err: error }, 'engine server_error');
  const metrics = deps.metrics ? createEngineMetrics(deps.metrics.registry) : undefined;
  const cibaStore = createCibaStore(deps.redis);
  const pingSender: PingSender = createPingSender({
    timeoutMs: settings.CIBA_PING_TIMEOUT_MS,
    attempts: settings.CIBA_PING_ATTEMPTS,
    allowPrivate: settings.CIBA_PING_ALLOW_PRIVATE,
    ...(settings.CIBA_PING_CA_FILE ? { extraCa: readFileSync(settings.CIBA_PING_CA_FILE, 'utf8') } : {}),
    logger: logger.child({ component: 'ciba-ping' }),
    ...(metrics ? { onOutcome: metrics.cibaPinged } : {}),
  });

  const live = createLiveEngine({
    issuer,
    initial: { live: startup.live, jwks: keys.jwks, cookieKeys: keys.cookieKeys },
    ...(startup.version === undefined ? {} : { initialVersion: startup.version }),
    logger: logger.child({ component: 'engine' }),
    build(inputs) {
      const provider = createProvider({
        settings,
        issuer,
        ...inputs,
        adapter: stores.adapter,
        replayStore,
        dpopNonceSecret: keys.dpopNonceSecret,
        mtls: mtls.engineFeature,
        accounts,
        ciba: { directory: deps.directory, store: cibaStore },
        pingSender,
        renderError,
      });
      // The engine's own emitter: released with the engine, never registered twice.
      provider.on('server_error', logServerError);
      metrics?.observeEngine(provider, { defaultProfile: inputs.live.defaultFapiProfile });
      return provider;
    },
    ...(metrics ? { onRebuilt: metrics.engineRebuilt } : {}),
  });
  running.engine = live;

  const keysWatch: SigningKeysWatch | undefined =
    settings.SIGNING_KEYS_FILE && settings.SIGNING_KEYS_RELOAD_MS > 0
      ? watchSigningKeysFile({
          file: settings.SIGNING_KEYS_FILE,
          intervalMs: settings.SIGNING_KEYS_RELOAD_MS,
          current: () => live.signingKeys(),
          onKeys: (jwks) => live.applySigningKeys(jwks),
          logger: logger.child({ component: 'signing-keys' }),
        })
      : undefined;

  const cookieKeysWatch: KeyFileWatch | undefined =
    settings.COOKIE_KEYS_FILE && settings.SIGNING_KEYS_RELOAD_MS > 0
      ? watchCookieKeysFile({
          file: settings.COOKIE_KEYS_FILE,
          intervalMs: settings.SIGNING_KEYS_RELOAD_MS,
          current: () => live.cookieKeys(),
          onKeys: (cookieKeys) => live.applyCookieKeys(cookieKeys),
          logger: logger.child({ component: 'cookie-keys' }),
        })
      : undefined;

  const app = createHttpApp({ logger, ...(deps.metrics ? { onResponse: deps.metrics.observeHttpRequest } : {}) });
  const limiter = createRateLimiter({
    counter: createRedisRateCounter(deps.redis),
    windowMs: settings.RATE_LIMIT_WINDOW_MS,
    ...(deps.metrics ? { onRefused: createRateLimitMetrics(deps.metrics.registry).refused } : {}),
  });
  // Per source address on both hosts, before any work; off unless RATE_LIMIT_PER_ADDRESS_PER_MINUTE is set.
  app.use(
    rateLimit(limiter, {
      endpoint: 'oidc',
      reason: 'address',
      perMinute: settings.RATE_LIMIT_PER_ADDRESS_PER_MINUTE,
      subjectOf: createSourceAddressReader({ trustedProxyCidrs: settings.TRUSTED_PROXY_CIDRS ?? [] }),
    }),
  );
  app.use(mtls.capture);
  app.use(
    rateLimitClients({
      limiter,
      limits: () => live.settings().rateLimits,
      certificateThumbprint: (req) => mtls.certificateOf(req)?.thumbprintS256,
    }),
  );
  app.use(engineHandler(() => live.provider(), { publicOrigin: issuer, mtlsOrigin: settings.MTLS_BASE_URL }));
  app.use(
    createInteractionsRouter({ engine: () => live.provider(), directory: deps.directory, grants: stores.grants }),
  );
  app.use(notFoundHandler('oauth'));
  app.use(errorHandler('oauth'));

  const completeAuthentication = createCibaCompletion({
    engine: () => live.provider(),
    store: cibaStore,
    grants: stores.grants,
  });
  deps.grpcServer?.addService(
    tokensV1.TokensService,
    createTokensGrpcHandlers(stores.revocation, completeAuthentication, logger),
  );

  return {
    app,
    provider: () => live.provider(),
    liveSettings: () => ({ settings: live.settings(), version: live.version() }),
    stores,
    async close() {
      clearInterval(purgeSweep);
      keysWatch?.stop();
      cookieKeysWatch?.stop();
      await pingSender.idle();
      await subscription?.stop();
      registry.close();
    },
  };
}

/** Deletes expired grants and refresh tokens every `intervalMs` (0: never); a failed sweep is logged and retried next time. */
function startPurgeSweep(
  stores: Pick<OidcStores, 'purgeExpired'>,
  intervalMs: number,
  logger: Pick<Logger, 'info' | 'warn'>,
): NodeJS.Timeout | undefined {
  if (intervalMs === 0) return undefined;
  const timer = setInterval(() => {
    stores
      .purgeExpired()
      .then((purged) => {
        if (purged.grants + purged.refreshTokens + purged.consumptions > 0) {
          logger.info({ purged }, 'expired grants and refresh tokens deleted');
        }
      })
      .catch((error: unknown) =>
        logger.warn({ err: error }, 'the purge of expired grants failed; retrying next sweep'),
      );
  }, intervalMs);
  timer.unref();
  return timer;
}
