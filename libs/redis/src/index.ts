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
export {
  defineIndexAdd,
  defineScript,
  isSingleConnection,
  readCommandStats,
  type IndexAdd,
  type RedisCommandStats,
  type RedisScript,
  type RedisScriptCall,
} from './redis.scripts';
export { parseRedisUrl, type RedisAddress, type RedisTopology } from './redis.url';
