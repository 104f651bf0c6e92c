// Composition root of consent-service: consents, OBIE intent APIs, the customer directory, the
// token-revocation outbox and the customer portal (issue 5).
import { consentsV1 } from '@obip/contracts';
import { createClientCertificateReader, createHttpApp, errorHandler, notFoundHandler } from '@obip/http';
import { bootstrapService, runService } from '@obip/runtime';
import { createTokenStore } from '@obip/token-store';
import { loadConfig } from './config';
import { createConsentsGrpcHandlers } from './consents/consents.grpc';
import { createMongoConsentRepository } from './consents/consents.mongo';
import { createConsentService } from './consents/consents.service';
import { loadSandboxCustomerDirectory } from './customers/customers.sandbox';
import { createIntentsRouter } from './intents/intents.http';
import { INTENTS_OPENAPI } from './intents/intents.openapi';
import { createPortalClient, portalClientMetadata } from './portal/portal.client';
import { createMongoPortalRegistrationStore } from './portal/portal.client.mongo';
import { createPortalRouter } from './portal/portal.http';
import { PortalKeyError, loadPortalKeys } from './portal/portal.keys';
import { createPortalSignIn } from './portal/portal.oidc';
import { createGrpcClientRegistry } from './portal/portal.registry.grpc';
import { createRedisPortalSessions } from './portal/portal.sessions.redis';
import { createGrpcTokenRevoker } from './revocation/revocation.grpc';
import { createMongoRevocationOutbox } from './revocation/revocation.mongo';
import { createRevocationRelay } from './revocation/revocation.service';

const settings = loadConfig();
const foundation = await bootstrapService({ name: 'consent-service', settings, withMongo: true });
const { logger, metrics, redis, mongo, grpcServer } = foundation;

const customers = await loadSandboxCustomerDirectory(settings.CONSENT_CUSTOMERS_FILE);
const repository = await createMongoConsentRepository(mongo);
const revoker = createGrpcTokenRevoker({ target: settings.TOKENS_GRPC_TARGET });
const relay = createRevocationRelay({
  outbox: createMongoRevocationOutbox(mongo),
  revoker,
  logger: logger.child({ component: 'revocation-relay' }),
  pollMs: settings.CONSENT_REVOCATION_POLL_MS,
  initialBackoffMs: settings.CONSENT_REVOCATION_BACKOFF_INITIAL_MS,
  maxBackoffMs: settings.CONSENT_REVOCATION_BACKOFF_MAX_MS,
});
const consents = createConsentService({
  repository,
  accounts: customers,
  authorisationWindowSeconds: settings.CONSENT_AUTHORISATION_WINDOW_SECONDS,
  onCascadePending: () => relay.kick(),
});
// consent-service only reads tokens; revocationMemorySeconds matters to writers and cascades.
// Read-only use of the token keyspace auth-server writes (same REDIS_KEY_PREFIX).
const tokens = createTokenStore(redis);

const app = createHttpApp({ logger, onResponse: metrics.observeHttpRequest });
app.get('/openapi.json', (_req, res) => {
  res.json(INTENTS_OPENAPI);
});
app.use(
  '/open-banking',
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
  }),
);
const portal = settings.PORTAL_PUBLIC_URL ? await startPortal(settings.PORTAL_PUBLIC_URL) : undefined;
app.use(notFoundHandler('obie'));
app.use(errorHandler('obie'));

grpcServer.addService(consentsV1.ConsentsService, createConsentsGrpcHandlers({ consents, customers }));

const expirySweep = setInterval(() => {
  consents.expireDue().catch((error: unknown) => logger.warn({ err: error }, 'consent expiry sweep failed'));
}, settings.CONSENT_EXPIRY_SWEEP_MS);
expirySweep.unref();
relay.start();

await runService({
  name: 'consent-service',
  settings,
  logger,
  metrics,
  dependencies: foundation.dependencies,
  async stopBackgroundWork() {
    clearInterval(expirySweep);
    await relay.stop();
    revoker.close();
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
    createPortalRouter({
      consents,
      customers,
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
