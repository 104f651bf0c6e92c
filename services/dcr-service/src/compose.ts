// Wiring of dcr-service's adapters and use cases from its settings. main.ts calls it with the
// process's stores; tests call it with their own real Redis and MongoDB, so both run the same
// graph, config-api subscription included.
import { readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import type { Express } from 'express';
import type { Connection } from 'mongoose';
import type { Logger } from '@obip/observability';
import type { clientsV1 } from '@obip/contracts';
import type { ServiceHandlers } from '@obip/grpc';
import {
  createClientCertificateReader,
  createHttpApp,
  createRateLimiter,
  createRedisRateCounter,
  createSourceAddressReader,
  errorHandler,
  notFoundHandler,
  rateLimit,
  type ClientCertificateReader,
  type RateLimiterOptions,
  type ResponseObserver,
} from '@obip/http';
import { subscribeToPlatformConfig, type PlatformConfigSubscription } from '@obip/platform-config';
import type { RedisClient } from '@obip/redis';
import { createClientRegistryHandlers } from './clients/clients.grpc';
import { createMongoClientRepository } from './clients/clients.mongo';
import type { ClientRepository } from './clients/clients.repository';
import { createClientAdministration } from './clients/clients.service';
import type { DcrSettings } from './config';
import { createJwksCache } from './jwks/jwks.cache';
import { fetchJwks } from './jwks/jwks.fetcher';
import { createRegistrationRouter } from './registration/registration.http';
import { registrationOpenApi } from './registration/registration.openapi';
import type { RegistrationPolicy, TrustedDirectory } from './registration/registration.rules';
import { createTokenStore } from '@obip/token-store';
import { createRegistrationService, type RegistrationService } from './registration/registration.service';
import { createRedisReplayCache } from './replay/replay.redis';
import { createGrpcTokenRevoker } from './revocation/revocation.grpc';
import { createMongoRevocationOutbox } from './revocation/revocation.mongo';
import {
  createRevocationDispatcher,
  type RevocationDispatcher,
  type TokenRevoker,
} from './revocation/revocation.service';
import { createLiveTrust, trustFromPlatformConfig, type EnvironmentTrust, type LiveTrust } from './trust/trust.live';

export interface DcrComponents {
  app: Express;
  clients: ClientRepository;
  registration: RegistrationService;
  clientRegistry: ServiceHandlers<typeof clientsV1.ClientRegistryService>;
  revocations: RevocationDispatcher;
  /** The directories and CAs in force, and the platform config version they came from. */
  trust: Pick<LiveTrust, 'current' | 'version'>;
  /** Stops the config-api subscription and the outbox, and closes the tokens.v1 channel. */
  close(): Promise<void>;
}

export interface ComposeOptions {
  settings: DcrSettings;
  logger: Logger;
  redis: RedisClient;
  mongo: Connection;
  onResponse?: ResponseObserver;
  /** Called for every request refused with 429 (main.ts: createRateLimitMetrics(registry).refused). */
  onRateLimited?: RateLimiterOptions['onRefused'];
  /** Replaces the tokens.v1 gRPC client (tests). */
  tokenRevoker?: TokenRevoker;
}

/** The rule policy from settings (fixed for the life of the process). */
export function policyFromSettings(settings: DcrSettings): RegistrationServiceOptionsPolicy {
  return {
    signingAlgs: settings.DCR_SIGNING_ALGS,
    acceptedAudiences: settings.DCR_ACCEPTED_AUDIENCES,
    clockSkewSeconds: settings.DCR_CLOCK_SKEW_SECONDS,
    requestMaxAgeSeconds: settings.DCR_REQUEST_MAX_AGE_SECONDS,
    ssaMaxAgeSeconds: settings.DCR_SSA_MAX_AGE_SECONDS,
    authMethods: settings.DCR_TOKEN_ENDPOINT_AUTH_METHODS,
    applicationTypes: settings.DCR_APPLICATION_TYPES,
    scopesByRole: settings.DCR_SCOPES_BY_ROLE,
    allowLoopbackRedirectUris: settings.DCR_ALLOW_LOOPBACK_REDIRECT_URIS,
    certificateBinding: settings.DCR_CERTIFICATE_BINDING,
    ssaReplayCheck: settings.DCR_SSA_REPLAY_CHECK,
    useSoftwareIdAsClientName: settings.DCR_USE_SOFTWARE_ID_AS_CLIENT_NAME,
    rotateRegistrationAccessToken: settings.DCR_ROTATE_REGISTRATION_ACCESS_TOKEN,
  };
}

type RegistrationServiceOptionsPolicy = Parameters<typeof createRegistrationService>[0]['policy'] & RegistrationPolicy;

/**
 * The trust the environment gives (DCR_TRUSTED_DIRECTORIES, DCR_TRUSTED_CA_FILE, read once): in
 * force until a platform config arrives, and the CA file outranks published trust anchors.
 */
export function trustFromSettings(settings: DcrSettings): EnvironmentTrust {
  return {
    directories: settings.DCR_TRUSTED_DIRECTORIES,
    trustedCas: settings.DCR_TRUSTED_CA_FILE ? readCertificates(settings.DCR_TRUSTED_CA_FILE) : [],
    casFromFile: settings.DCR_TRUSTED_CA_FILE !== undefined,
  };
}

function readCertificates(file: string): X509Certificate[] {
  const pem = readFileSync(file, 'utf8');
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new Error(`DCR_TRUSTED_CA_FILE: no certificate found in ${file}`);
  return blocks.map((block) => new X509Certificate(block));
}

/** Insecure or incomplete settings, each named, for a warning at start-up (STYLE habit 6). */
export function settingsWarnings(settings: DcrSettings): string[] {
  const warnings: string[] = [];
  if (settings.DCR_TRUSTED_DIRECTORIES.length === 0 && !settings.CONFIG_GRPC_TARGET)
    warnings.push('DCR_TRUSTED_DIRECTORIES is empty: every registration is refused');
  if (settings.DCR_ACCEPTED_AUDIENCES.length === 0)
    warnings.push('DCR_ACCEPTED_AUDIENCES is empty: every registration is refused');
  if (!settings.DCR_TRUSTED_CA_FILE && !settings.CONFIG_GRPC_TARGET)
    warnings.push('DCR_TRUSTED_CA_FILE is not set: transport certificate chains are verified by the edge only');
  if (settings.DCR_ALLOW_PRIVATE_JWKS_URIS)
    warnings.push(
      'DCR_ALLOW_PRIVATE_JWKS_URIS is on: TPP key sets may be fetched from private addresses (sandbox only)',
    );
  if (settings.DCR_ALLOW_LOOPBACK_REDIRECT_URIS)
    warnings.push('DCR_ALLOW_LOOPBACK_REDIRECT_URIS is on: loopback redirect URIs are accepted (sandbox only)');
  if (!settings.DCR_REGISTRATION_BASE_URL)
    warnings.push('DCR_REGISTRATION_BASE_URL is not set: registration_client_uri is built from the Host header');
  if (settings.DCR_CERTIFICATE_BINDING !== 'require')
    warnings.push(
      `DCR_CERTIFICATE_BINDING is ${settings.DCR_CERTIFICATE_BINDING}: certificate/SSA mismatches are not refused`,
    );
  return warnings;
}

export async function composeDcrService(options: ComposeOptions): Promise<DcrComponents> {
  const { settings, logger } = options;
  const policy = policyFromSettings(settings);
  const environmentTrust = trustFromSettings(settings);
  const clients = await createMongoClientRepository(options.mongo);
  const outbox = await createMongoRevocationOutbox(options.mongo);
  const grpcRevoker = options.tokenRevoker
    ? undefined
    : createGrpcTokenRevoker({ target: settings.TOKENS_GRPC_TARGET });
  const revocations = createRevocationDispatcher({
    store: outbox,
    revoker: options.tokenRevoker ?? grpcRevoker!,
    logger: logger.child({ component: 'revocation-outbox' }),
    pollMs: settings.DCR_REVOCATION_POLL_MS,
    maxBackoffMs: settings.DCR_REVOCATION_BACKOFF_MAX_MS,
  });
  const keys = createJwksCache({
    fetcher: fetchJwks,
    timeoutMs: settings.DCR_JWKS_TIMEOUT_MS,
    ttlMs: settings.DCR_JWKS_CACHE_TTL_MS,
    refreshCooldownMs: settings.DCR_JWKS_REFRESH_COOLDOWN_MS,
    allowPrivate: settings.DCR_ALLOW_PRIVATE_JWKS_URIS,
  });
  const trust = createLiveTrust(environmentTrust);
  const subscription = await subscribeToTrust(settings, logger, environmentTrust, trust, (directory) =>
    keys.forget(directory.jwksUri),
  );
  const registration = createRegistrationService({
    clients,
    replay: createRedisReplayCache(options.redis),
    keys,
    revocation: revocations,
    // Read-only use of the token keyspace auth-server writes (same REDIS_KEY_PREFIX).
    accessTokens: createTokenStore(options.redis),
    policy,
    trust: () => trust.current(),
    logger,
  });

  const app = createHttpApp({ logger, onResponse: options.onResponse });
  app.get('/openapi.json', (_req, res) => {
    res.json(registrationOpenApi);
  });
  const readCertificate = createClientCertificateReader({
    format: settings.CLIENT_CERT_HEADER_FORMAT,
    ...(settings.TRUSTED_PROXY_CIDRS.length > 0 ? { trustedProxyCidrs: settings.TRUSTED_PROXY_CIDRS } : {}),
  });
  app.use('/register', ...registrationRateLimits(settings, options, readCertificate));
  app.use(
    createRegistrationRouter({
      service: registration,
      readCertificate,
      acceptJson: settings.DCR_ACCEPT_JSON_REGISTRATION,
      enabledMethods: settings.DCR_ENABLED_METHODS,
      registrationBaseUrl: settings.DCR_REGISTRATION_BASE_URL,
    }),
  );
  app.use(notFoundHandler('oauth'));
  app.use(errorHandler('oauth'));

  const clientRegistry = createClientRegistryHandlers({
    clients,
    administration: createClientAdministration({ clients, policy }),
    async resolveJwks(jwksUri) {
      try {
        return await keys.keySet(jwksUri, false);
      } catch (error) {
        // The jwks_uri in the metadata stays authoritative; auth-server can fetch it itself.
        logger.warn({ err: error }, 'could not resolve a client key set for GetClient');
        return undefined;
      }
    },
  });

  return {
    app,
    clients,
    registration,
    clientRegistry,
    revocations,
    trust,
    async close() {
      await subscription?.stop();
      await revocations.stop();
      grpcRevoker?.close();
    },
  };
}

/**
 * The limits on /register (both off unless set): per source address as the edge reports it, and
 * per client by the certificate the edge verified, which every registration and management call
 * presents (the registration access token is checked later, by the service). Their 429 goes to
 * the registration router's RFC 7591 error handler.
 */
function registrationRateLimits(
  settings: DcrSettings,
  options: Pick<ComposeOptions, 'redis' | 'onRateLimited'>,
  readCertificate: ClientCertificateReader,
) {
  const limiter = createRateLimiter({
    counter: createRedisRateCounter(options.redis),
    windowMs: settings.RATE_LIMIT_WINDOW_MS,
    ...(options.onRateLimited ? { onRefused: options.onRateLimited } : {}),
  });
  const certificateThumbprintOf = (req: Parameters<ClientCertificateReader>[0]) => {
    try {
      return readCertificate(req)?.thumbprintS256;
    } catch {
      return undefined; // an untrustworthy header: the router refuses it with invalid_client
    }
  };
  return [
    rateLimit(limiter, {
      endpoint: 'register',
      reason: 'address',
      perMinute: settings.RATE_LIMIT_PER_ADDRESS_PER_MINUTE,
      subjectOf: createSourceAddressReader({ trustedProxyCidrs: settings.TRUSTED_PROXY_CIDRS }),
    }),
    rateLimit(limiter, {
      endpoint: 'register',
      reason: 'client',
      perMinute: settings.RATE_LIMIT_PER_CLIENT_PER_MINUTE,
      subjectOf: certificateThumbprintOf,
    }),
  ];
}

/**
 * With CONFIG_GRPC_TARGET, keeps `trust` on what config-api publishes (issue 8), starting from
 * the cached snapshot when there is one; without it, nothing (the environment applies for good).
 * `onWithdrawn` is called for each directory that stops being trusted as it was.
 */
async function subscribeToTrust(
  settings: DcrSettings,
  logger: Logger,
  environment: EnvironmentTrust,
  trust: LiveTrust,
  onWithdrawn: (directory: TrustedDirectory) => void,
): Promise<PlatformConfigSubscription | undefined> {
  if (!settings.CONFIG_GRPC_TARGET) return undefined;
  const log = logger.child({ component: 'platform-config' });
  return subscribeToPlatformConfig({
    target: settings.CONFIG_GRPC_TARGET,
    ...(settings.CONFIG_CACHE_FILE ? { cacheFile: settings.CONFIG_CACHE_FILE } : {}),
    logger: log,
    onConfig(config, version) {
      const next = trustFromPlatformConfig(config, environment);
      const withdrawn = trust.replace(next, version);
      for (const directory of withdrawn) onWithdrawn(directory);
      log.info(
        {
          version,
          directories: next.directories.map((directory) => directory.issuer),
          withdrawn: withdrawn.map((directory) => directory.issuer),
          trustedCas: next.trustedCas.length,
          casFrom: environment.casFromFile ? 'DCR_TRUSTED_CA_FILE' : 'config-api',
        },
        `trust from platform config version ${version}: ${next.directories.length} directories, ${next.trustedCas.length} CAs`,
      );
    },
  });
}
