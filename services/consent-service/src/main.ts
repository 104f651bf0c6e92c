// Composition root of consent-service: consents, intent APIs and the user portal (issue 5).
import { createHttpApp, errorHandler, notFoundHandler } from '@obip/http';
import { bootstrapService, runService } from '@obip/runtime';
import { loadConfig } from './config';

const settings = loadConfig();
const foundation = await bootstrapService({ name: 'consent-service', settings, withMongo: true });
const { logger, metrics } = foundation;

const app = createHttpApp({ logger, onResponse: metrics.observeHttpRequest });
app.use(notFoundHandler('obie'));
app.use(errorHandler('obie'));

await runService({
  name: 'consent-service',
  settings,
  logger,
  metrics,
  dependencies: foundation.dependencies,
  http: app,
  grpc: foundation.grpcEndpoint([]),
});
