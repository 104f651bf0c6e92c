// Composition root of config-api: the admin API, synced into Kubernetes (issue 8).
import { createHttpApp, errorHandler, notFoundHandler } from '@obip/http';
import { bootstrapService, runService } from '@obip/runtime';
import { loadConfig } from './config';

const settings = loadConfig();
const foundation = await bootstrapService({ name: 'config-api', settings, withMongo: true });
const { logger, metrics } = foundation;

const app = createHttpApp({ logger, onResponse: metrics.observeHttpRequest });
app.use(notFoundHandler('problem'));
app.use(errorHandler('problem'));

await runService({
  name: 'config-api',
  settings,
  logger,
  metrics,
  dependencies: foundation.dependencies,
  http: app,
  grpc: foundation.grpcEndpoint([]),
});
