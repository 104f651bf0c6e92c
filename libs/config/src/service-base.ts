import type { z } from 'zod';
import { setting } from './setting-types';

/**
 * Settings every obip service shares. Default ports differ per service so that the local twin
 * can run all five on one machine with no configuration.
 */
export function serviceBaseSettings(service: string, ports: { http: number; grpc: number; ops: number }) {
  return {
    LOG_LEVEL: setting.oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'info', 'pino log level'),
    BIND_HOST: setting.host('0.0.0.0', 'address the HTTP, gRPC and ops listeners bind to'),
    HTTP_PORT: setting.port(ports.http, 'port of the HTTP API (routed by the ingress)'),
    GRPC_PORT: setting.port(ports.grpc, 'port of the in-cluster gRPC API and its health service'),
    OPS_PORT: setting.port(ports.ops, 'port of /livez, /readyz and /metrics (never routed by the ingress)'),
    REDIS_URL: setting.url(
      'redis://127.0.0.1:6379',
      'Redis URL: redis://, rediss://, redis-sentinel:// or redis-cluster://',
      ['redis', 'rediss', 'redis-sentinel', 'redis-cluster'],
    ),
    REDIS_KEY_PREFIX: setting.string(`obip:`, 'prefix for every Redis key this service writes'),
    SHUTDOWN_DELAY_MS: setting.durationMs(
      0,
      'after SIGTERM, how long to keep serving while reporting not-ready, so load balancers stop routing first',
      { max: 60_000 },
    ),
    SHUTDOWN_GRACE_MS: setting.durationMs(
      10_000,
      `how long in-flight requests may take to finish after SIGTERM before ${service} exits`,
      {
        min: 100,
        max: 120_000,
      },
    ),
    GRPC_MAX_CALL_MS: setting.durationMs(
      30_000,
      'longest a unary gRPC call may run on this server, whatever deadline the caller set or omitted; then DEADLINE_EXCEEDED',
      { min: 100, max: 600_000 },
    ),
    STARTUP_TIMEOUT_MS: setting.durationMs(
      30_000,
      'how long to keep retrying the stores at start-up before giving up',
      {
        min: 100,
      },
    ),
  };
}

export type ServiceBaseSettings = z.infer<z.ZodObject<ReturnType<typeof serviceBaseSettings>>>;

/** MongoDB settings for a service that owns a database (ARCHITECTURE: one logical database per service). */
export function mongoSettings(defaultDatabase: string) {
  return {
    MONGO_URL: setting.url('mongodb://127.0.0.1:27017', 'MongoDB connection string (never logged)', [
      'mongodb',
      'mongodb+srv',
    ]),
    MONGO_DB: setting.string(defaultDatabase, 'name of the database this service owns'),
  };
}

/**
 * Rate-limit settings of a service with per-address limits (`@obip/http` rateLimit), counted in
 * Redis in fixed windows every replica shares. Off (0) when unset: tests, benchmarks and the soak
 * send everything from one address; the chart turns them on. `surface` says what is limited.
 *
 * @example
 * rateLimitSettings('POST /introspect'); // { RATE_LIMIT_WINDOW_MS, RATE_LIMIT_PER_ADDRESS_PER_MINUTE }
 */
export function rateLimitSettings(surface: string) {
  return {
    RATE_LIMIT_WINDOW_MS: setting.durationMs(
      60_000,
      'length of the fixed window in which rate limits count, shared by every replica through Redis; the per-minute limits are scaled to it (rounded up), so the default applies them as written and a shorter window spreads the same rate more evenly',
      { min: 1_000, max: 3_600_000 },
    ),
    RATE_LIMIT_PER_ADDRESS_PER_MINUTE: setting.integer(
      0,
      `requests per source address per minute on ${surface}; over it, 429 with Retry-After. The address is the one the edge forwards (X-Forwarded-For from a TRUSTED_PROXY_CIDRS peer), so set TRUSTED_PROXY_CIDRS with it. 0 (the default): off; the chart turns it on`,
      { min: 0, max: 1_000_000 },
    ),
  };
}

/**
 * The per-client limit beside {@link rateLimitSettings}: `surface` is what is limited and
 * `countedBy` what names the client there.
 *
 * @example
 * perClientRateLimitSetting('POST /introspect', 'the authenticated resource server');
 */
export function perClientRateLimitSetting(surface: string, countedBy: string) {
  return {
    RATE_LIMIT_PER_CLIENT_PER_MINUTE: setting.integer(
      0,
      `requests per client per minute on ${surface}, counted by ${countedBy}; over it, 429 with Retry-After. 0 (the default): off; the chart turns it on`,
      { min: 0, max: 1_000_000 },
    ),
  };
}
