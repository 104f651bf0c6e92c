// Composition root of consent-service: consents, OBIE intent APIs, the customer directory, the
// token-revocation outbox, the customer portal (issue 5) and the customer's authentication
// device for FAPI-CIBA with its decision outbox (issue 7).
import { consentsV1 } from '@obip/contracts';
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
import { bootstrapService, runService } from '@obip/runtime';
import { createTokenStore } from '@obip/token-store';
import { createDecisionRelay } from './ciba/ciba.delivery.service';
import { createMongoDecisionOutbox, createMongoDecoupledAuthentications } from './ciba/ciba.mongo';
import { createSandboxDeviceRouter } from './ciba/ciba.sandbox.http';
import { createDecoupledAuthenticationService } from './ciba/ciba.service';
import { loadConfig } from './config';
import { createConsentsGrpcHandlers } from './consents/consents.grpc';
import { createMongoConsentRepository } from './consents/consents.mongo';
import { createConsentService } from './consents/consents.service';
import { loadSandboxCustomerDirectory } from './customers/customers.sandbox';
import { createIntentsRouter } from './intents/intents.http';
import { INTENTS_OPENAPI } from './intents/intents.openapi';
import { createOutboxMetrics } from './outbox/outbox.metrics';
import { createPortalClient, portalClientMetadata } from './portal/portal.client';
import { createMongoPortalRegistrationStore } from './portal/portal.client.mongo';
import { createPortalRouter } from './portal/portal.http';
import { PortalKeyError, loadPortalKeys } from './portal/portal.keys';
import { createPortalSignIn } from './portal/portal.oidc';
import { createGrpcClientRegistry } from './portal/portal.registry.grpc';
import { createRedisPortalSessions } from './portal/portal.sessions.redis';
import { createMongoRevocationOutbox } from './revocation/revocation.mongo';
import { createRevocationRelay } from './revocation/revocation.service';
import { createGrpcTokensClient } from './tokens/tokens.grpc';

const settings = loadConfig();
const foundation = await bootstrapService({ name: 'consent-service', settings, withMongo: true });
const { logger, metrics, redis, mongo, grpcServer } = foundation;

const customers = await loadSandboxCustomerDirectory(settings.CONSENT_CUSTOMERS_FILE);
const repository = await createMongoConsentRepository(mongo);
// One channel to auth-server's tokens.v1.Tokens for both outboxes.
const authServerTokens = createGrpcTokensClient({ target: settings.TOKENS_GRPC_TARGET });
const outboxMetrics = createOutboxMetrics(metrics.registry);
const revocationOutbox = createMongoRevocationOutbox(mongo);
outboxMetrics.trackPending('revocation', () => revocationOutbox.countPending());
const relay = createRevocationRelay({
  outbox: revocationOutbox,
  revoker: authServerTokens,
  logger: logger.child({ component: 'revocation-relay' }),
  pollMs: settings.CONSENT_REVOCATION_POLL_MS,
  initialBackoffMs: settings.CONSENT_REVOCATION_BACKOFF_INITIAL_MS,
  maxBackoffMs: settings.CONSENT_REVOCATION_BACKOFF_MAX_MS,
  onOutcome: outboxMetrics.outcomesOf('revocation'),
});
const consents = createConsentService({
  repository,
  accounts: customers,
  authorisationWindowSeconds: settings.CONSENT_AUTHORISATION_WINDOW_SECONDS,
  idempotencyKeyTtlSeconds: settings.CONSENT_IDEMPOTENCY_KEY_TTL_SECONDS,
  onCascadePending: () => relay.kick(),
});

const authenticationRepository = await createMongoDecoupledAuthentications(mongo);
if (authenticationRepository.purgeIndex === 'plain') {
  logger.info('the database has no TTL indexes: expired decoupled authentications are removed by the purge sweep');
}
const authentications = createDecoupledAuthenticationService({
  repository: authenticationRepository,
  consents,
  customers,
  retentionSeconds: settings.CONSENT_DECOUPLED_RETENTION_SECONDS,
  onDecisionRecorded: () => decisionRelay.kick(),
  logger: logger.child({ component: 'ciba' }),
});
const decisionOutbox = createMongoDecisionOutbox(mongo);
outboxMetrics.trackPending('decision', () => decisionOutbox.countPending());
const decisionRelay = createDecisionRelay({
  outbox: decisionOutbox,
  authentications,
  completer: authServerTokens,
  logger: logger.child({ component: 'decision-relay' }),
  pollMs: settings.CONSENT_DECISION_POLL_MS,
  initialBackoffMs: settings.CONSENT_DECISION_BACKOFF_INITIAL_MS,
  maxBackoffMs: settings.CONSENT_DECISION_BACKOFF_MAX_MS,
  onOutcome: outboxMetrics.outcomesOf('decision'),
});
// consent-service only reads tokens; revocationMemorySeconds matters to writers and cascades.
// Read-only use of the token keyspace auth-server writes (same REDIS_KEY_PREFIX).
const tokens = createTokenStore(redis);

// Rate limits (off unless set): per source address on the intent APIs and, counted apart, the
// portal; per client on the intent APIs once the token named the client. A 429 is answered by the
// router it reached, so in the OBIE envelope on /open-banking and as a page on /portal.
const limiter = createRateLimiter({
  counter: createRedisRateCounter(redis),
  windowMs: settings.RATE_LIMIT_WINDOW_MS,
  onRefused: createRateLimitMetrics(metrics.registry).refused,
});
const sourceAddressOf = createSourceAddressReader({ trustedProxyCidrs: settings.TRUSTED_PROXY_CIDRS });
const limitAddress = (endpoint: string) =>
  rateLimit(limiter, {
    endpoint,
    reason: 'address',
    perMinute: settings.RATE_LIMIT_PER_ADDRESS_PER_MINUTE,
    subjectOf: sourceAddressOf,
  });

const app = createHttpApp({ logger, onResponse: metrics.observeHttpRequest });
app.get('/openapi.json', (_req, res) => {
  res.json(INTENTS_OPENAPI);
});
app.use(
  '/open-banking',
  limitAddress('open-banking'),
  createIntentsRouter({
    consents,
    customers,
    tokens,
    readCertificate: createClientCertificateReader({
      format: settings.CLIENT_CERT_HEADER_FORMAT,
      ...(settings.TRUSTED_PROXY_CIDRS.length > 0 ? { trustedProxyCidrs: settings.TRUSTED_PROXY_CIDRS } : {}),
    }),
    paymentCurrencies: settings.CONSENT_PAYMENT_CURRENCIES,
    linksBaseUrl: settings.CONSENT_LINKS_BASE_URL?.replace(/\/$/, '') ?? '',
    afterAuthentication: rateLimit(limiter, {
      endpoint: 'open-banking',
      reason: 'client',
      perMinute: settings.RATE_LIMIT_PER_CLIENT_PER_MINUTE,
      subjectOf: (req) => req.tpp?.clientId,
    }),
  }),
);
if (settings.SANDBOX_DEVICE_API) {
  logger.warn(
    { setting: 'SANDBOX_DEVICE_API' },
    'the sandbox device API is on: anyone who reaches this HTTP port can approve CIBA requests for any customer; never in production',
  );
  app.use('/sandbox', createSandboxDeviceRouter({ authentications }));
}
const portal = settings.PORTAL_PUBLIC_URL ? await startPortal(settings.PORTAL_PUBLIC_URL) : undefined;
app.use(notFoundHandler('obie'));
app.use(errorHandler('obie'));

grpcServer.addService(consentsV1.ConsentsService, createConsentsGrpcHandlers({ consents, customers, authentications }));

const expirySweep = setInterval(() => {
  consents.expireDue().catch((error: unknown) => logger.warn({ err: error }, 'consent expiry sweep failed'));
  consents
    .purgeExpiredIdempotencyKeys()
    .catch((error: unknown) => logger.warn({ err: error }, 'idempotency key purge failed'));
  authentications
    .purgeDue()
    .catch((error: unknown) => logger.warn({ err: error }, 'decoupled authentication purge failed'));
}, settings.CONSENT_EXPIRY_SWEEP_MS);
expirySweep.unref();
relay.start();
decisionRelay.start();

await runService({
  name: 'consent-service',
  settings,
  logger,
  metrics,
  dependencies: foundation.dependencies,
  async stopBackgroundWork() {
    clearInterval(expirySweep);
    await Promise.all([relay.stop(), decisionRelay.stop()]);
    authServerTokens.close();
    portal?.stop();
  },
  http: app,
  grpc: foundation.grpcEndpoint(['obip.consents.v1.Consents']),
});

/**
 * The customer portal under /portal (on when PORTAL_PUBLIC_URL is set): its keys, its
 * registration at dcr-service as a first-party client (settled in the background, retried until
 * it succeeds, so start-up never waits for dcr-service), its sign-in through auth-server and its
 * sessions in Redis.
 */
async function startPortal(publicUrl: string) {
  const publicOrigin = new URL(publicUrl).origin;
  let keys;
  try {
    keys = await loadPortalKeys(settings);
  } catch (error) {
    if (!(error instanceof PortalKeyError)) throw error;
    process.stderr.write(`consent-service: invalid settings\n  ${error.message}\n`);
    process.exit(78);
  }
  if (keys.developmentDefaults.length > 0) {
    logger.warn(
      { settings: keys.developmentDefaults },
      `insecure development defaults in use: ${keys.developmentDefaults.join(', ')}; set them for production`,
    );
  }
  const registry = createGrpcClientRegistry({ target: settings.CLIENT_REGISTRY_GRPC_TARGET });
  const redirectUri = `${publicOrigin}/portal/callback`;
  const portalClient = createPortalClient({
    registry,
    store: createMongoPortalRegistrationStore(mongo),
    metadata: portalClientMetadata({
      clientName: settings.PORTAL_CLIENT_NAME,
      redirectUri,
      signingAlg: keys.signing.alg,
      publicJwks: keys.publicJwks,
    }),
    onReplaced: (retired, current) =>
      logger.info({ retired, clientId: current }, 'portal registration replaced (new key or redirect URI)'),
  });
  app.use(
    '/portal',
    limitAddress('portal'),
    createPortalRouter({
      consents,
      customers,
      authentications,
      tpps: registry,
      sessions: createRedisPortalSessions(redis, {
        idleSeconds: settings.PORTAL_SESSION_IDLE_SECONDS,
        maxSeconds: settings.PORTAL_SESSION_MAX_SECONDS,
      }),
      signIn: createPortalSignIn({
        issuer: settings.PORTAL_ISSUER ?? publicOrigin,
        authServerUrl: settings.AUTH_SERVER_URL,
        redirectUri,
        clientId: () => portalClient.clientId(),
        onClientRefused: () => portalClient.forget(),
        signing: keys.signing,
      }),
      cookieKeys: keys.cookieKeys,
      publicOrigin,
    }),
  );

  let retry: NodeJS.Timeout | undefined;
  const register = () => {
    portalClient.clientId().then(
      (clientId) => logger.info({ clientId, redirectUri }, 'portal registered at dcr-service'),
      (error: unknown) => {
        logger.warn({ err: error }, 'portal registration not settled yet; retrying in 5 s');
        retry = setTimeout(register, 5_000);
        retry.unref();
      },
    );
  };
  register();
  return {
    stop() {
      clearTimeout(retry);
      registry.close();
    },
  };
}
