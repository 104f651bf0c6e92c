// Composition root of auth-server: the OpenID Provider (node-oidc-provider, issue 4).
import { createHttpApp, errorHandler, notFoundHandler } from '@obip/http';
import { bootstrapService, runService } from '@obip/runtime';
import { loadConfig } from './config';

const settings = loadConfig();
const foundation = await bootstrapService({ name: 'auth-server', settings, withMongo: true });
const { logger, metrics } = foundation;

const app = createHttpApp({ logger, onResponse: metrics.observeHttpRequest });
app.use(notFoundHandler('oauth'));
app.use(errorHandler('oauth'));

await runService({
  name: 'auth-server',
  settings,
  logger,
  metrics,
  dependencies: foundation.dependencies,
  http: app,
  grpc: foundation.grpcEndpoint([]),
});
