// Composition root of dcr-service: OBIE Dynamic Client Registration (issue 3).
import { clientsV1 } from '@obip/contracts';
import { createRateLimitMetrics } from '@obip/http';
import { bootstrapService, runService } from '@obip/runtime';
import { composeDcrService, settingsWarnings } from './compose';
import { loadConfig } from './config';

const settings = loadConfig();
const foundation = await bootstrapService({ name: 'dcr-service', settings, withMongo: true });
const { logger, metrics } = foundation;
for (const warning of settingsWarnings(settings)) logger.warn({ setting: warning.split(' ')[0] }, warning);

const dcr = await composeDcrService({
  settings,
  logger,
  redis: foundation.redis,
  mongo: foundation.mongo,
  onResponse: metrics.observeHttpRequest,
  onRateLimited: createRateLimitMetrics(metrics.registry).refused,
});
foundation.grpcServer.addService(clientsV1.ClientRegistryService, dcr.clientRegistry);
dcr.revocations.start();

await runService({
  name: 'dcr-service',
  settings,
  logger,
  metrics,
  dependencies: foundation.dependencies,
  // The config-api subscription and the revocation outbox.
  stopBackgroundWork: () => dcr.close(),
  http: dcr.app,
  grpc: foundation.grpcEndpoint(['obip.clients.v1.ClientRegistry']),
});
