// Wiring of token-introspection's adapters and use cases from its settings. main.ts calls it with
// the process's Redis and metrics; tests call it with their own, so both run the same graph.
import type { RequestListener } from 'node:http';
import { Counter } from 'prom-client';
import type { introspectionV1 } from '@obip/contracts';
import type { ServiceHandlers } from '@obip/grpc';
import { createClientCertificateReader, createHttpApp, errorHandler, notFoundHandler } from '@obip/http';
import type { Logger, ServiceMetrics } from '@obip/observability';
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
import { loadResponseSigner } from './introspection/introspection.signing';

export interface TokenIntrospectionComponents {
  /** The node:http listener: POST /introspect, and the Express app for everything else. */
  http: RequestListener;
  introspection: IntrospectionService;
  grpcHandlers: ServiceHandlers<typeof introspectionV1.IntrospectionService>;
  /** Closes the channels to dcr-service and consent-service. */
  close(): void;
}

export interface ComposeOptions {
  settings: IntrospectionSettings;
  logger: Logger;
  redis: RedisClient;
  metrics: ServiceMetrics;
}

export async function composeTokenIntrospection(options: ComposeOptions): Promise<TokenIntrospectionComponents> {
  const { settings, logger, metrics } = options;

  const outcomes = new Counter({
    name: 'token_introspection_outcomes_total',
    help: 'Introspections by outcome: active, why a token was inactive, or which dependency could not answer',
    labelNames: ['outcome'] as const,
    registers: [metrics.registry],
  });
  const consents = createGrpcConsentStatuses({
    target: settings.CONSENTS_GRPC_TARGET,
    deadlineMs: settings.PEER_DEADLINE_MS,
    cacheMs: settings.CONSENT_STATUS_CACHE_MS,
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
    ? await loadResponseSigner({ file: settings.SIGNING_KEYS_FILE, issuer: settings.ISSUER })
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
  });

  return {
    http,
    introspection,
    grpcHandlers: createIntrospectionHandlers(introspection),
    close() {
      consents.close();
      registry.close();
    },
  };
}
