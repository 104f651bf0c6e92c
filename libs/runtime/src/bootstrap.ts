import type { Connection } from 'mongoose';
import type { ServiceBaseSettings } from '@obip/config';
import { createGrpcServer, type GrpcServer } from '@obip/grpc';
import { closeMongo, connectMongo, mongoHealthCheck } from '@obip/mongo';
import { createLogger, createMetrics, type Logger, type ServiceMetrics } from '@obip/observability';
import { closeRedis, createRedis, redisHealthCheck, type RedisClient } from '@obip/redis';
import type { Dependency, GrpcEndpoint } from './run-service';

const HEALTH_CHECK_TIMEOUT_MS = 1_500;

export interface ServiceFoundation<WithMongo extends boolean> {
  logger: Logger;
  metrics: ServiceMetrics;
  redis: RedisClient;
  mongo: WithMongo extends true ? Connection : undefined;
  grpcServer: GrpcServer;
  /** The stores, in the order /readyz reports them and shutdown closes them. */
  dependencies: Dependency[];
  /** The gRPC server as the lifecycle sees it; health is reported for `grpcServiceNames` too. */
  grpcEndpoint(grpcServiceNames: readonly string[]): GrpcEndpoint;
}

/**
 * Builds what every obip service starts with: logger, metrics, the Redis client, the MongoDB
 * connection (for services that own a database) and a gRPC server with the health service.
 * Connecting to MongoDB is retried until STARTUP_TIMEOUT_MS so that pods started before their
 * database settle on their own.
 */
export async function bootstrapService<WithMongo extends boolean>(options: {
  name: string;
  settings: ServiceBaseSettings & (WithMongo extends true ? { MONGO_URL: string; MONGO_DB: string } : object);
  withMongo: WithMongo;
  /** Whether the Redis client auto-pipelines (libs/redis `createRedis`). Default on. */
  redisAutoPipelining?: boolean;
}): Promise<ServiceFoundation<WithMongo>> {
  const { name, settings } = options;
  const logger = createLogger({ service: name, level: settings.LOG_LEVEL });
  const metrics = createMetrics({ service: name });

  const redis = createRedis({
    url: settings.REDIS_URL,
    keyPrefix: settings.REDIS_KEY_PREFIX,
    connectionName: name,
    logger,
    ...(options.redisAutoPipelining === undefined ? {} : { autoPipelining: options.redisAutoPipelining }),
  });
  const dependencies: Dependency[] = [];
  let mongo: Connection | undefined;
  if (options.withMongo) {
    const { MONGO_URL, MONGO_DB } = settings as unknown as { MONGO_URL: string; MONGO_DB: string };
    mongo = await connectMongo({
      url: MONGO_URL,
      dbName: MONGO_DB,
      serverSelectionTimeoutMS: 5_000,
      connectDeadlineMs: settings.STARTUP_TIMEOUT_MS,
      appName: name,
      logger,
    });
    const connection = mongo;
    dependencies.push({
      name: 'mongodb',
      check: () => mongoHealthCheck(connection, HEALTH_CHECK_TIMEOUT_MS),
      close: () => closeMongo(connection),
    });
  }
  dependencies.push({
    name: 'redis',
    check: () => redisHealthCheck(redis, HEALTH_CHECK_TIMEOUT_MS),
    close: () => closeRedis(redis),
  });

  const grpcServer = createGrpcServer({
    serviceName: name,
    logger,
    registry: metrics.registry,
    maxCallDurationMs: settings.GRPC_MAX_CALL_MS,
  });
  return {
    logger,
    metrics,
    redis,
    mongo: mongo as ServiceFoundation<WithMongo>['mongo'],
    grpcServer,
    dependencies,
    grpcEndpoint: (grpcServiceNames) => ({
      listen: (host, port) => grpcServer.listen(host, port),
      setServing: (serving) => {
        for (const service of ['', ...grpcServiceNames]) grpcServer.health.setServing(service, serving);
      },
      shutdown: (graceMs) => grpcServer.shutdown(graceMs),
    }),
  };
}
