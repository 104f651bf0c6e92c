// Composition root of token-introspection: RFC 7662 / RFC 9701 introspection (issue 6). It owns no database: it reads the token records auth-server writes to Redis.
import { introspectionV1 } from '@obip/contracts';
import { bootstrapService, runService } from '@obip/runtime';
import { composeTokenIntrospection } from './compose';
import { loadConfig, settingsWarnings } from './config';

const settings = loadConfig();
// One GET per request: auto-pipelining would add throughput at peak but queue each GET behind the
// batch in flight, and p99 at half of peak went from ~10 to ~45 ms (libs/redis AUTO_PIPELINING).
const foundation = await bootstrapService({
  name: 'token-introspection',
  settings,
  withMongo: false,
  redisAutoPipelining: false,
});
const { logger, metrics } = foundation;
for (const warning of settingsWarnings(settings)) logger.warn({ setting: warning.split(' ')[0] }, warning);

let introspection: Awaited<ReturnType<typeof composeTokenIntrospection>>;
try {
  introspection = await composeTokenIntrospection({ settings, logger, redis: foundation.redis, metrics });
} catch (error) {
  // A signing key file that cannot be used is a configuration error: stop as a bad setting does.
  logger.fatal({ err: error }, 'token-introspection could not start');
  process.stderr.write(`token-introspection: ${(error as Error).message}\n`);
  process.exit(78);
}
foundation.grpcServer.addService(introspectionV1.IntrospectionService, introspection.grpcHandlers);

await runService({
  name: 'token-introspection',
  settings,
  logger,
  metrics,
  dependencies: foundation.dependencies,
  // The config-api subscription, the key reload and the peer channels.
  stopBackgroundWork: () => introspection.close(),
  http: introspection.http,
  grpc: foundation.grpcEndpoint(['obip.introspection.v1.Introspection']),
});
