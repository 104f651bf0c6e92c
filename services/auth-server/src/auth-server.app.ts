import type { KoaContextWithOidc } from 'oidc-provider';
import type Provider from 'oidc-provider';
import type { Express } from 'express';
import type { Connection } from 'mongoose';
import { createGrpcClient, type GrpcServer } from '@obip/grpc';
import { clientsV1, tokensV1 } from '@obip/contracts';
import { createClientCertificateReader, createHttpApp, errorHandler, notFoundHandler } from '@obip/http';
import type { Logger, ServiceMetrics } from '@obip/observability';
import type { RedisClient } from '@obip/redis';
import { createTokenStore } from '@obip/token-store';
import type { AuthServerSettings } from './config';
import { createClientAdapter } from './adapter/adapter.clients';
import { createOidcStores, type OidcStores } from './adapter/adapter.factory';
import { createInteractionsRouter } from './interactions/interactions.http';
import type { ConsentDirectory } from './interactions/interactions.ports';
import { errorPage } from './interactions/interactions.views';
import { loadKeyMaterial } from './keys/keys.signing';
import { createMtlsHooks } from './mtls/mtls.certificates';
import { createProvider } from './provider/provider.factory';
import { engineHandler } from './provider/provider.http';
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
  provider: Provider;
  stores: OidcStores;
  /** Closes the gRPC channel to dcr-service. */
  close(): void;
}

/** Seconds the revocation markers outlive the longest-lived token (token store and grant markers). */
const REVOCATION_MARGIN_SECONDS = 3600;

/**
 * Builds auth-server around node-oidc-provider: stores, keys, the engine, its HTTP surface
 * (engine routes, interactions, 404 in the OAuth error format) and the Tokens gRPC service.
 * main.ts is the only caller outside tests.
 *
 * @example
 * const server = await createAuthServer({ settings, logger, redis, mongo, directory, grpcServer });
 * await runService({ ..., http: server.app });
 */
export async function createAuthServer(deps: AuthServerDependencies): Promise<AuthServer> {
  const { settings, logger } = deps;
  const keys = await loadKeyMaterial(settings);
  const insecure = [
    ...keys.developmentDefaults,
    ...(['ISSUER', 'MTLS_BASE_URL'] as const).filter((name) =>
      /^https:\/\/(127\.0\.0\.1|localhost)[:/]/.test(settings[name]),
    ),
  ];
  if (insecure.length > 0) {
    logger.warn(
      { settings: insecure },
      `insecure development defaults in use: ${insecure.join(', ')}; set them for production`,
    );
  }

  const revocationMemorySeconds =
    Math.max(settings.REFRESH_TOKEN_TTL_SECONDS, settings.GRANT_TTL_SECONDS, settings.ACCESS_TOKEN_TTL_SECONDS) +
    REVOCATION_MARGIN_SECONDS;
  const registry = createGrpcClient(clientsV1.ClientRegistryClient, {
    target: settings.CLIENT_REGISTRY_GRPC_TARGET,
    idempotentMethods: ['getClient', 'listClients'],
    defaultDeadlineMs: 2_000,
  });
  const clients = createClientAdapter({
    registry,
    cacheTtlMs: settings.CLIENT_CACHE_TTL_MS,
    defaultProfile: settings.FAPI_DEFAULT_PROFILE,
  });
  const issuer = new URL(settings.ISSUER).origin;
  const stores = createOidcStores({
    redis: deps.redis,
    mongo: deps.mongo,
    clients,
    tokenStore: createTokenStore(deps.redis, { revocationMemorySeconds }),
    issuer,
    revocationMemorySeconds,
    clockToleranceSeconds: 10,
  });
  await stores.ensureIndexes();

  const mtls = createMtlsHooks(
    createClientCertificateReader({
      format: settings.CLIENT_CERT_HEADER_FORMAT,
      ...(settings.TRUSTED_PROXY_CIDRS ? { trustedProxyCidrs: settings.TRUSTED_PROXY_CIDRS } : {}),
    }),
  );

  const provider = createProvider({
    settings,
    adapter: stores.adapter,
    replayStore: stores.redisModel('ReplayDetection'),
    jwks: keys.jwks,
    cookieKeys: keys.cookieKeys,
    dpopNonceSecret: keys.dpopNonceSecret,
    mtls: mtls.engineFeature,
    accounts: {
      async findAccount(ctx, sub) {
        return {
          accountId: sub,
          async claims() {
            const grant = ctx.oidc.entities.Grant as { jti?: string } | undefined;
            const token = (ctx.oidc.entities.AccessToken ?? ctx.oidc.entities.AuthorizationCode) as
              { grantId?: string } | undefined;
            const grantId = grant?.jti ?? token?.grantId;
            const consent = grantId ? await stores.grants.consentOf(grantId) : undefined;
            return {
              sub,
              ...(consent?.openbankingIntentId ? { openbanking_intent_id: consent.openbankingIntentId } : {}),
            };
          },
        };
      },
    },
    async renderError(ctx: KoaContextWithOidc, out: Record<string, unknown>) {
      ctx.set('content-type', 'text/html; charset=utf-8');
      ctx.body = errorPage(String(out.error ?? 'server_error'));
    },
  });
  provider.on('server_error', (_ctx: unknown, error: unknown) => logger.error({ err: error }, 'engine server_error'));

  const app = createHttpApp({ logger, ...(deps.metrics ? { onResponse: deps.metrics.observeHttpRequest } : {}) });
  app.use(mtls.capture);
  app.use(engineHandler(provider, { publicOrigin: issuer, mtlsOrigin: settings.MTLS_BASE_URL }));
  app.use(createInteractionsRouter({ provider, directory: deps.directory, grants: stores.grants }));
  app.use(notFoundHandler('oauth'));
  app.use(errorHandler('oauth'));

  deps.grpcServer?.addService(tokensV1.TokensService, createTokensGrpcHandlers(stores.revocation, logger));

  return { app, provider, stores, close: () => registry.close() };
}
