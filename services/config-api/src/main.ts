// Composition root of config-api: the admin API, the config.v1.Config publication and the
// Kubernetes sync (issue 8).
import { configV1 } from '@obip/contracts';
import { bootstrapService, runService } from '@obip/runtime';
import { createGrpcClientRegistry, createGrpcTokenRevoker } from './clients/clients.grpc';
import { createClientsRouter } from './clients/clients.http';
import { clientsOpenApiPaths } from './clients/clients.openapi';
import { startBootstrapAdminClient } from './clients/clients.bootstrap';
import { createClientOnboarding, type ClientOnboarding } from './clients/clients.service';
import { composeConfigApi, type ConfigApiComponents } from './compose';
import { loadConfig } from './config';
import { createGrpcConsents } from './consents/consents.grpc';
import { createConsentsRouter } from './consents/consents.http';
import { consentsOpenApiPaths } from './consents/consents.openapi';
import { createConsentAdministration } from './consents/consents.service';
import { createPlatformSecretsSink } from './kubernetes';

const settings = loadConfig();
const foundation = await bootstrapService({ name: 'config-api', settings, withMongo: true });
const { logger, metrics } = foundation;

// The sink needs the current state when this replica becomes the Kubernetes leader, and the
// bootstrap admin client the onboarding service; the components that hold them are built next.
const built: { components?: ConfigApiComponents; onboarding?: ClientOnboarding } = {};
const sink = createPlatformSecretsSink(settings, {
  logger,
  async currentState() {
    return {
      trustAnchorsPem: await built.components?.trustAnchors.currentBundle(),
      signingKeysJson: await built.components?.keys.privateJwksJson(),
    };
  },
});
const registry = createGrpcClientRegistry(settings.CLIENT_REGISTRY_GRPC_TARGET, settings.PEER_DEADLINE_MS);
const tokens = createGrpcTokenRevoker(settings.TOKENS_GRPC_TARGET, settings.PEER_DEADLINE_MS);
const consents = createGrpcConsents(settings.CONSENTS_GRPC_TARGET, settings.PEER_DEADLINE_MS);

const components = await composeConfigApi({
  settings,
  logger,
  mongo: foundation.mongo,
  registry: metrics.registry,
  sink,
  onResponse: metrics.observeHttpRequest,
  extraRouters: (guard, audit) => ({
    routers: [
      createClientsRouter(
        (built.onboarding = createClientOnboarding({ registry: registry.port, tokens: tokens.port, audit })),
        guard,
      ),
      createConsentsRouter(createConsentAdministration({ consents: consents.port, audit }), guard),
    ],
    openApiPaths: { ...clientsOpenApiPaths(), ...consentsOpenApiPaths() },
  }),
});
built.components = components;
foundation.grpcServer.addService(configV1.ConfigService, components.configHandlers);
await components.start();
const bootstrap =
  settings.BOOTSTRAP_ADMIN_CLIENT && built.onboarding
    ? startBootstrapAdminClient({
        metadata: settings.BOOTSTRAP_ADMIN_CLIENT,
        onboarding: built.onboarding,
        mongo: foundation.mongo,
        logger: logger.child({ component: 'bootstrap-admin-client' }),
      })
    : undefined;

const grpcEndpoint = foundation.grpcEndpoint(['obip.config.v1.Config']);
await runService({
  name: 'config-api',
  settings,
  logger,
  metrics,
  dependencies: foundation.dependencies,
  // The Lease is handed over and the peers' channels closed.
  async stopBackgroundWork() {
    bootstrap?.stop();
    await sink.stop();
    registry.close();
    tokens.close();
    consents.close();
  },
  http: components.app,
  grpc: {
    ...grpcEndpoint,
    // Open WatchConfig streams end first, so subscribers reconnect to another replica at once
    // instead of holding the drain for the whole grace period.
    async shutdown(graceMs) {
      components.stop();
      await grpcEndpoint.shutdown(graceMs);
    },
  },
});
