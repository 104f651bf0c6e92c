// Composition root of dcr-service: OBIE Dynamic Client Registration (issue 3).
import { createHttpApp, errorHandler, notFoundHandler } from '@obip/http';
import { bootstrapService, runService } from '@obip/runtime';
import { loadConfig } from './config';

const settings = loadConfig();
const foundation = await bootstrapService({ name: 'dcr-service', settings, withMongo: true });
const { logger, metrics } = foundation;

const app = createHttpApp({ logger, onResponse: metrics.observeHttpRequest });
app.use(notFoundHandler('oauth'));
app.use(errorHandler('oauth'));

await runService({
  name: 'dcr-service',
  settings,
  logger,
  metrics,
  dependencies: foundation.dependencies,
  http: app,
  grpc: foundation.grpcEndpoint([]),
});
