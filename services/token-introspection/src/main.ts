// Composition root of token-introspection: RFC 7662 / RFC 9701 introspection (issue 6). It owns no database: it reads the token records auth-server writes to Redis.
import { createHttpApp, errorHandler, notFoundHandler } from '@obip/http';
import { bootstrapService, runService } from '@obip/runtime';
import { loadConfig } from './config';

const settings = loadConfig();
const foundation = await bootstrapService({ name: 'token-introspection', settings, withMongo: false });
const { logger, metrics } = foundation;

const app = createHttpApp({ logger, onResponse: metrics.observeHttpRequest });
app.use(notFoundHandler('oauth'));
app.use(errorHandler('oauth'));

await runService({
  name: 'token-introspection',
  settings,
  logger,
  metrics,
  dependencies: foundation.dependencies,
  http: app,
  grpc: foundation.grpcEndpoint([]),
});
