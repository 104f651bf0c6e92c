export {
  closeRedis,
  createRedis,
  redisHealthCheck,
  redisReconnectDelay,
  type CreateRedisOptions,
  type RedisClient,
  type RedisLogger,
} from './redis.client';
export { isRedisUnavailableError, translateRedisError } from './redis.errors';
export { parseRedisUrl, type RedisAddress, type RedisTopology } from './redis.url';
