// Wiring of token-introspection's adapters and use cases from its settings. main.ts calls it with
// the process's Redis and metrics; tests call it with their own, so both run the same graph,
// config-api subscription included.
import type { IncomingMessage, RequestListener } from 'node:http';
import { Counter } from 'prom-client';
import type { introspectionV1 } from '@obip/contracts';
import type { ServiceHandlers } from '@obip/grpc';
import {
  createClientCertificateReader,
  createHttpApp,
  createRateLimiter,
  createRateLimitMetrics,
  createRedisRateCounter,
  createSourceAddressReader,
  errorHandler,
  notFoundHandler,
} from '@obip/http';
import type { Logger, ServiceMetrics } from '@obip/observability';
import { subscribeToPlatformConfig, type PlatformConfigSubscription } from '@obip/platform-config';
import type { RedisClient } from '@obip/redis';
import { createTokenStore } from '@obip/token-store';
import { createGrpcCallerRegistry } from './callers/callers.grpc';
import { createHttpCallerKeySets } from './callers/callers.jwks';
import { createRedisAssertionReplayCache } from './callers/callers.redis';
import { createCallerAuthenticator } from './callers/callers.service';
import type { IntrospectionSettings } from './config';
import { createGrpcConsentStatuses } from './consents/consents.grpc';
import { createIntrospectionHandlers } from './introspection/introspection.grpc';
import { createIntrospectionListener } from './introspection/introspection.http';
import { introspectionOpenApi } from './introspection/introspection.openapi';
import { createIntrospectionService, type IntrospectionService } from './introspection/introspection.service';
import { createReloadingResponseSigner } from './introspection/introspection.signing';
import { liveSettingsFromEnvironment, liveSettingsFromPlatform, type LiveSettings } from './live/live.settings';

export interface TokenIntrospectionComponents {
  /** The node:http listener: POST /introspect, and the Express app for everything else. */
  http: RequestListener;
  introspection: IntrospectionService;
  grpcHandlers: ServiceHandlers<typeof introspectionV1.IntrospectionService>;
  /** The live settings in force, and the platform config version they came from (undefined: the environment). */
  liveSettings(): { settings: LiveSettings; version: number | undefined };
  /** Stops the config-api subscription and the key reload, and closes the channels to dcr-service and consent-service. */
  close(): Promise<void>;
}

export interface ComposeOptions {
  settings: IntrospectionSettings;
  logger: Logger;
  redis: RedisClient;
  metrics: ServiceMetrics;
}

/**
 * Builds token-introspection. With CONFIG_GRPC_TARGET it subscribes to config-api without waiting
 * for it: the environment's live settings apply until a snapshot arrives (or is read from
 * CONFIG_CACHE_FILE), then each new one applies to the next introspection (issue 8).
 *
 * @example
 * const introspection = await composeTokenIntrospection({ settings, logger, redis, metrics });
 * // ... on shutdown
 * await introspection.close();
 */
export async function composeTokenIntrospection(options: ComposeOptions): Promise<TokenIntrospectionComponents> {
  const { settings, logger, metrics } = options;
  let live: { settings: LiveSettings; version: number | undefined } = {
    settings: liveSettingsFromEnvironment(settings),
    version: undefined,
  };

  const outcomes = new Counter({
    name: 'token_introspection_outcomes_total',
    help: 'Introspections by outcome: active, why a token was inactive, or which dependency could not answer',
    labelNames: ['outcome'] as const,
    registers: [metrics.registry],
  });
  const consents = createGrpcConsentStatuses({
    target: settings.CONSENTS_GRPC_TARGET,
    deadlineMs: settings.PEER_DEADLINE_MS,
    cacheMs: () => live.settings.consentStatusCacheMs,
  });
  const introspection = createIntrospectionService({
    // Read-only: records are written and revoked by auth-server.
    tokens: createTokenStore(options.redis),
    consents,
    onOutcome: (outcome) => outcomes.inc({ outcome }),
  });

  const registry = createGrpcCallerRegistry({
    target: settings.CLIENT_REGISTRY_GRPC_TARGET,
    deadlineMs: settings.PEER_DEADLINE_MS,
    cacheMs: settings.CLIENTS_CACHE_MS,
  });
  const callers = createCallerAuthenticator({
    registry,
    keySets: createHttpCallerKeySets({
      timeoutMs: settings.JWKS_TIMEOUT_MS,
      ttlMs: settings.JWKS_CACHE_TTL_MS,
      allowPrivate: settings.ALLOW_PRIVATE_JWKS_URIS,
    }),
    replay: createRedisAssertionReplayCache(options.redis),
    policy: {
      resourceServerClientIds: settings.RESOURCE_SERVER_CLIENT_IDS,
      audiences: [settings.INTROSPECTION_ENDPOINT, settings.ISSUER],
      clockSkewSeconds: settings.CLIENT_ASSERTION_CLOCK_SKEW_SECONDS,
      maxLifetimeSeconds: settings.CLIENT_ASSERTION_MAX_LIFETIME_SECONDS,
    },
  });
  const signer = settings.SIGNING_KEYS_FILE
    ? await createReloadingResponseSigner({
        file: settings.SIGNING_KEYS_FILE,
        issuer: settings.ISSUER,
        reloadMs: settings.SIGNING_KEYS_RELOAD_MS,
        logger: logger.child({ component: 'signing-keys' }),
      })
    : undefined;
  const subscription: PlatformConfigSubscription | undefined = settings.CONFIG_GRPC_TARGET
    ? await subscribeToPlatformConfig({
        target: settings.CONFIG_GRPC_TARGET,
        ...(settings.CONFIG_CACHE_FILE ? { cacheFile: settings.CONFIG_CACHE_FILE } : {}),
        logger: logger.child({ component: 'platform-config' }),
        onConfig(config, version) {
          live = { settings: liveSettingsFromPlatform(config.settings), version };
        },
      })
    : undefined;

  const app = createHttpApp({ logger, onResponse: metrics.observeHttpRequest });
  app.get('/openapi.json', (_req, res) => {
    res.json(introspectionOpenApi);
  });
  app.use(notFoundHandler('oauth'));
  app.use(errorHandler('oauth'));

  const http = createIntrospectionListener({
    introspection,
    callers,
    readCertificate: createClientCertificateReader({
      format: settings.CLIENT_CERT_HEADER_FORMAT,
      ...(settings.TRUSTED_PROXY_CIDRS.length > 0 ? { trustedProxyCidrs: settings.TRUSTED_PROXY_CIDRS } : {}),
    }),
    signer,
    fallback: app,
    logger,
    onResponse: metrics.observeHttpRequest,
    rateLimits: introspectionRateLimits(options),
  });

  return {
    http,
    introspection,
    grpcHandlers: createIntrospectionHandlers(introspection),
    liveSettings: () => live,
    async close() {
      await subscription?.stop();
      signer?.stop();
      consents.close();
      registry.close();
    },
  };
}

/**
 * The limits on POST /introspect (both off unless set): per source address as the edge reports
 * it (an in-cluster gateway calling the Service directly sends no forwarded address and is not
 * counted by address), and per calling resource server once authenticated.
 */
function introspectionRateLimits({ settings, redis, logger, metrics }: ComposeOptions) {
  // Both off: nothing on the hot path.
  if (settings.RATE_LIMIT_PER_ADDRESS_PER_MINUTE === 0 && settings.RATE_LIMIT_PER_CLIENT_PER_MINUTE === 0)
    return undefined;
  const limiter = createRateLimiter({
    counter: createRedisRateCounter(redis),
    windowMs: settings.RATE_LIMIT_WINDOW_MS,
    onRefused: createRateLimitMetrics(metrics.registry).refused,
  });
  const sourceAddressOf = createSourceAddressReader({ trustedProxyCidrs: settings.TRUSTED_PROXY_CIDRS });
  const check = async (reason: 'address' | 'client', perMinute: number, subject: string | undefined) =>
    perMinute > 0 && subject !== undefined
      ? limiter.check({ endpoint: 'introspect', reason, subject, perMinute, log: logger })
      : undefined;
  return {
    address: (req: IncomingMessage) =>
      check('address', settings.RATE_LIMIT_PER_ADDRESS_PER_MINUTE, sourceAddressOf(req)),
    caller: (_req: IncomingMessage, clientId: string) =>
      check('client', settings.RATE_LIMIT_PER_CLIENT_PER_MINUTE, clientId),
  };
}
