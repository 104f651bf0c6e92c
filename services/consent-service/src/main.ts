// Composition root of consent-service: consents, OBIE intent APIs, the customer directory and
// the token-revocation outbox (issue 5). The user portal comes with auth-server's OIDC login.
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
  },
  http: app,
  grpc: foundation.grpcEndpoint(['obip.consents.v1.Consents']),
});
