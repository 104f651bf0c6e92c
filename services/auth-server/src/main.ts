// Composition root of auth-server: the OpenID Provider (node-oidc-provider, issue 4).
import { bootstrapService, runService } from '@obip/runtime';
import { createAuthServer } from './auth-server.app';
import { loadConfig } from './config';
import { createGrpcConsentDirectory } from './interactions/interactions.grpc';
import { KeyConfigurationError } from './keys/keys.signing';
import { TOKENS_GRPC_SERVICE } from './tokens/tokens.grpc';

const settings = loadConfig();
const foundation = await bootstrapService({ name: 'auth-server', settings, withMongo: true });
const { logger, metrics } = foundation;

let server;
try {
  server = await createAuthServer({
    settings,
    logger,
    metrics,
    redis: foundation.redis,
    mongo: foundation.mongo,
    directory: createGrpcConsentDirectory({
      target: settings.CONSENTS_GRPC_TARGET,
      deadlineMs: settings.CONSENTS_GRPC_DEADLINE_MS,
      acrByAuthenticationMethod: settings.ACR_BY_AUTHENTICATION_METHOD,
    }),
    grpcServer: foundation.grpcServer,
  });
} catch (error) {
  if (error instanceof KeyConfigurationError) {
    process.stderr.write(`auth-server: invalid settings\n  ${error.message}\n`);
    process.exit(78);
  }
  throw error;
}

await runService({
  name: 'auth-server',
  settings,
  logger,
  metrics,
  dependencies: foundation.dependencies,
  // The config-api subscription, the key reload and the channel to dcr-service.
  stopBackgroundWork: () => server.close(),
  http: server.app,
  grpc: foundation.grpcEndpoint([TOKENS_GRPC_SERVICE]),
});
