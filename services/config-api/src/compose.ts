// Wiring of config-api's adapters and use cases from its settings. main.ts calls it with the
// process's stores; tests call it with their own real MongoDB, so both run the same graph.
import { randomBytes } from 'node:crypto';

import type { Express, RequestHandler } from 'express';
import type { Connection } from 'mongoose';
import { Gauge, type Registry } from 'prom-client';
import { readOrCreateDevelopmentFile } from '@obip/config';
import type { configV1 } from '@obip/contracts';
import type { ServiceHandlers } from '@obip/grpc';
import { createHttpApp, errorHandler, notFoundHandler, type ResponseObserver } from '@obip/http';
import type { Logger } from '@obip/observability';
import { defaultPlatformSettings, type PlatformConfig } from '@obip/platform-config';
import { createAccessGuard, type VerifyAccessToken } from './access/access.http';
import { createAccessTokenVerifier, type AdminPrincipal, type AdminScope } from './access/access.tokens';
import { createAuditRouter } from './audit/audit.http';
import { createMongoAuditRepository } from './audit/audit.mongo';
import { createAuditTrail, type AuditTrail } from './audit/audit.service';
import type { ConfigApiSettings } from './config';
import { createDirectoriesRouter } from './directories/directories.http';
import { createMongoDirectoryRepository } from './directories/directories.mongo';
import { createDirectoryService } from './directories/directories.service';
import { createKeysRouter } from './keys/keys.http';
import { createKeyVault } from './keys/keys.crypto';
import { createMongoKeyRepository } from './keys/keys.mongo';
import { createKeyService, type KeyService } from './keys/keys.service';
import { configApiOpenApi } from './openapi/config-api.openapi';
import { createConfigHandlers } from './publication/publication.grpc';
import { createMongoPublicationState } from './publication/publication.mongo';
import { createPublication, type Publication } from './publication/publication.service';
import { createSettingsRouter } from './settings/settings.http';
import { createMongoSettingsRepository } from './settings/settings.mongo';
import { createSettingsService } from './settings/settings.service';
import { createTrustAnchorsRouter } from './trust-anchors/trust-anchors.http';
import { createMongoTrustAnchorRepository } from './trust-anchors/trust-anchors.mongo';
import { createTrustAnchorService, type TrustAnchorService } from './trust-anchors/trust-anchors.service';

/** Where the CA bundle and the private signing JWKS go (Kubernetes Secrets, the twin's files, or nowhere). */
export interface SecretsSink {
  publishTrustAnchors(pemBundle: string): Promise<void>;
  publishSigningKeys(privateJwksJson: string): Promise<void>;
}

/** config-api acting on its own behalf (first-start key generation), as the audit trail shows it. */
export const SYSTEM_PRINCIPAL: AdminPrincipal = {
  subject: 'config-api',
  clientId: '',
  issuer: '',
  scopes: new Set(),
};

export interface ComposeOptions {
  settings: ConfigApiSettings;
  logger: Logger;
  mongo: Connection;
  registry: Registry;
  sink: SecretsSink;
  onResponse?: ResponseObserver;
  /** Replaces the JWKS-based token verifier (tests of everything but access). */
  verifyAccessToken?: VerifyAccessToken;
  /** Extra routers mounted after the built-in ones (e.g. /v1/clients), with their OpenAPI paths. */
  extraRouters?: (
    guard: (scope: AdminScope) => RequestHandler,
    audit: AuditTrail,
  ) => {
    routers: RequestHandler[];
    openApiPaths: Record<string, object>;
  };
  now?: () => Date;
}

export interface ConfigApiComponents {
  app: Express;
  configHandlers: ServiceHandlers<typeof configV1.ConfigService>;
  publication: Publication;
  keys: KeyService;
  trustAnchors: TrustAnchorService;
  /** Starts the publication poll and the key-transition schedule, and converges the sink. */
  start(): Promise<void>;
  stop(): void;
}

/** The key-encryption key from settings, or a development one kept on disk (with a warning). */
async function keyEncryptionKeyOf(settings: ConfigApiSettings, logger: Logger): Promise<Buffer> {
  if (settings.KEY_ENCRYPTION_KEY) return Buffer.from(settings.KEY_ENCRYPTION_KEY, 'base64url');
  logger.warn(
    { setting: 'KEY_ENCRYPTION_KEY' },
    'KEY_ENCRYPTION_KEY is not set: signing keys are sealed with a development key kept on local disk',
  );
  const key = await readOrCreateDevelopmentFile(settings.DEV_KEYS_DIR, 'config-api-kek', () =>
    randomBytes(32).toString('base64url'),
  );
  return Buffer.from(key.trim(), 'base64url');
}

/**
 * Builds config-api: the admin REST API, the `config.v1.Config` publication, and the key and
 * trust-anchor propagation to the secrets sink.
 */
export async function composeConfigApi(options: ComposeOptions): Promise<ConfigApiComponents> {
  const { settings, logger, mongo } = options;
  const now = options.now ?? (() => new Date());

  const audit = createAuditTrail(
    await createMongoAuditRepository(mongo),
    (error, record) =>
      logger.error({ err: error, action: record.action, resourceId: record.resourceId }, 'audit entry lost'),
    now,
  );
  const settingsRepository = createMongoSettingsRepository(mongo);
  const directoryRepository = await createMongoDirectoryRepository(mongo);
  const trustAnchorRepository = createMongoTrustAnchorRepository(mongo);
  const initialSettings = defaultPlatformSettings(settings.PLATFORM_ISSUER);

  const publication = createPublication({
    state: createMongoPublicationState(mongo),
    pollMs: settings.PUBLICATION_POLL_MS,
    logger,
    now,
    async readConfig(): Promise<PlatformConfig> {
      const [stored, directories, anchors] = await Promise.all([
        settingsRepository.read(initialSettings),
        directoryRepository.list(),
        trustAnchorRepository.list(),
      ]);
      return {
        settings: stored.settings,
        directories: directories.map(({ id, name, issuer, jwksUri, environment, status }) => ({
          id,
          name,
          issuer,
          jwksUri,
          environment,
          status,
        })),
        trustAnchors: anchors.map((anchor) => ({
          fingerprint: anchor.fingerprint,
          subject: anchor.subject,
          notAfter: anchor.notAfter.toISOString(),
          pem: anchor.pem,
        })),
      };
    },
  });
  const published = () => publication.changed();

  const anchorExpiry = new Gauge({
    name: 'obip_trust_anchor_expiry_timestamp_seconds',
    help: 'When each trust anchor (TPP transport CA) expires, unix seconds',
    labelNames: ['fingerprint', 'subject'],
    registers: [options.registry],
  });
  const keyRetirement = new Gauge({
    name: 'obip_signing_key_expiry_timestamp_seconds',
    help: 'When each signing key that signs now is scheduled to stop being published (set once a successor is scheduled), unix seconds',
    labelNames: ['kid', 'alg'],
    registers: [options.registry],
  });

  const trustAnchors = createTrustAnchorService({
    repository: trustAnchorRepository,
    audit,
    published,
    warningDays: settings.TRUST_ANCHOR_EXPIRY_WARNING_DAYS,
    now,
    async bundleChanged(bundle) {
      await options.sink.publishTrustAnchors(bundle);
      await refreshAnchorGauge();
    },
  });
  async function refreshAnchorGauge(): Promise<void> {
    anchorExpiry.reset();
    for (const anchor of await trustAnchorRepository.list()) {
      anchorExpiry.set({ fingerprint: anchor.fingerprint, subject: anchor.subject }, anchor.notAfter.getTime() / 1000);
    }
  }

  const keys = createKeyService({
    repository: createMongoKeyRepository(mongo),
    vault: createKeyVault(await keyEncryptionKeyOf(settings, logger)),
    audit,
    activationDelaySeconds: settings.KEY_ACTIVATION_DELAY_SECONDS,
    retirementDelaySeconds: settings.KEY_RETIREMENT_DELAY_SECONDS,
    now,
    async keySetChanged(privateJwksJson) {
      await options.sink.publishSigningKeys(privateJwksJson);
      keyRetirement.reset();
      for (const key of await keys.list()) {
        if (key.status === 'active' && key.retiresAt) {
          keyRetirement.set({ kid: key.kid, alg: key.alg }, Date.parse(key.retiresAt) / 1000);
        }
      }
      scheduleKeyTransition();
    },
  });

  let transitionTimer: NodeJS.Timeout | undefined;
  let stopped = false;
  // Re-publish the key set when an activation or retirement falls due. Capped at an hour so a
  // clock jump or a change made by another replica is picked up anyway.
  function scheduleKeyTransition(): void {
    if (stopped) return;
    clearTimeout(transitionTimer);
    void keys
      .nextTransition()
      .then((next) => {
        if (stopped) return;
        const delay = Math.min(Math.max((next?.getTime() ?? Infinity) - now().getTime(), 1_000), 3_600_000);
        transitionTimer = setTimeout(() => {
          keys.reconcile().catch((error: unknown) => {
            logger.warn({ err: error }, 'could not re-publish the signing keys; retrying');
            scheduleKeyTransition();
          });
        }, delay);
        transitionTimer.unref();
      })
      .catch((error: unknown) => logger.warn({ err: error }, 'could not schedule the next key transition'));
  }

  const verify =
    options.verifyAccessToken ??
    createAccessTokenVerifier({
      issuers: settings.ADMIN_TOKEN_ISSUERS,
      audience: settings.ADMIN_TOKEN_AUDIENCE,
      clockSkewSeconds: settings.ADMIN_TOKEN_CLOCK_SKEW_SECONDS,
      jwksTimeoutMs: settings.ADMIN_JWKS_TIMEOUT_MS,
    });
  const guard = createAccessGuard(verify);
  const extra = options.extraRouters?.(guard, audit) ?? { routers: [], openApiPaths: {} };
  const openApi = configApiOpenApi(extra.openApiPaths);

  const app = createHttpApp({ logger, ...(options.onResponse ? { onResponse: options.onResponse } : {}) });
  app.get('/openapi.json', (_req, res) => {
    res.json(openApi);
  });
  app.use(
    createSettingsRouter(
      createSettingsService({ repository: settingsRepository, initial: initialSettings, audit, published, now }),
      guard,
    ),
  );
  app.use(
    createDirectoriesRouter(createDirectoryService({ repository: directoryRepository, audit, published, now }), guard),
  );
  app.use(createTrustAnchorsRouter(trustAnchors, guard));
  app.use(createKeysRouter(keys, guard));
  app.use(createAuditRouter(audit, guard));
  for (const router of extra.routers) app.use(router);
  app.use(notFoundHandler('problem'));
  app.use(errorHandler('problem'));

  return {
    app,
    configHandlers: createConfigHandlers(publication),
    publication,
    keys,
    trustAnchors,
    async start() {
      await publication.current();
      publication.start();
      if (await keys.ensureInitialKeys(SYSTEM_PRINCIPAL))
        logger.info('generated the first signing keys (PS256, ES256)');
      else await keys.reconcile();
      const bundle = await trustAnchors.currentBundle();
      if (bundle) await options.sink.publishTrustAnchors(bundle);
      else logger.info('no trust anchors configured yet: the edge keeps the CA bundle it has');
      await refreshAnchorGauge();
    },
    stop() {
      stopped = true;
      clearTimeout(transitionTimer);
      publication.stop();
    },
  };
}
