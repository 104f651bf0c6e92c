import { createHash } from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import { Counter, type Registry } from 'prom-client';
import { type DomainError, TooManyRequestsError } from '@obip/errors';

/** What a counter is keyed by: the client (as authenticated, or as its certificate) or the source address. */
export type RateLimitReason = 'client' | 'address';

/** Counts requests in a window, across every replica. */
export interface RateCounter {
  /** Counts one request against `key` and returns the count so far; the key lives `ttlMs`. */
  hit(key: string, ttlMs: number): Promise<number>;
}

/**
 * What the counter needs of a Redis client (an ioredis client, with its key prefix, fits): a
 * script registered once, then called by name as EVALSHA.
 */
export interface RateCounterStore {
  defineCommand(name: string, definition: { numberOfKeys: number; lua: string }): void;
}

// INCR and the expiry in one step: a counter can never be left without a TTL.
const HIT_SCRIPT = `
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return count
`;
const HIT_COMMAND = 'obipRateLimitHit';

/**
 * The rate counter in Redis (ARCHITECTURE: rate-limit counters live in Redis with a TTL). One key
 * per subject and window, so it works on Redis Cluster too. The script is registered with the
 * client (`defineCommand`), so each hit sends its 40-byte SHA rather than its source.
 *
 * @example
 * const counter = createRedisRateCounter(redis);
 * const count = await counter.hit('ratelimit:token:client:…:29000000', 65_000);
 */
export function createRedisRateCounter(redis: RateCounterStore): RateCounter {
  redis.defineCommand(HIT_COMMAND, { numberOfKeys: 1, lua: HIT_SCRIPT });
  const hit = (redis as unknown as Record<typeof HIT_COMMAND, (key: string, ttlMs: string) => Promise<unknown>>)[
    HIT_COMMAND
  ];
  return {
    async hit(key, ttlMs) {
      return Number(await hit.call(redis, key, String(ttlMs)));
    },
  };
}

/**
 * The limit for one window: the per-minute limit scaled to the window length, rounded up, never
 * below 1.
 *
 * @example
 * limitPerWindow(600, 60_000); // 600
 * limitPerWindow(90, 2_000); // 3
 */
export function limitPerWindow(perMinute: number, windowMs: number): number {
  return Math.max(1, Math.ceil((perMinute * windowMs) / 60_000));
}

/**
 * The fixed window `nowMs` falls in. Windows are aligned to the epoch, so every replica counts
 * into the same one without coordinating (their clocks agree to well under a window).
 *
 * @example
 * fixedWindow(125_000, 60_000); // { index: 2, resetInMs: 55_000 }
 */
export function fixedWindow(nowMs: number, windowMs: number): { index: number; resetInMs: number } {
  const index = Math.floor(nowMs / windowMs);
  return { index, resetInMs: (index + 1) * windowMs - nowMs };
}

/**
 * The counter a request counts against: endpoint, reason, subject and window. The subject (a
 * client id, a certificate thumbprint, an address) is hashed, so a hostile value can neither
 * grow the key nor collide with another field.
 *
 * @example
 * rateLimitKey('register', 'address', '203.0.113.7', 29_000_000); // 'ratelimit:register:address:<sha256>:29000000'
 */
export function rateLimitKey(endpoint: string, reason: RateLimitReason, subject: string, windowIndex: number): string {
  const hashed = createHash('sha256').update(subject).digest('base64url');
  return `ratelimit:${endpoint}:${reason}:${hashed}:${windowIndex}`;
}

/** One request to count: where it went, what it is counted by, and the limit in force. */
export interface RateLimitCheck {
  /** A fixed name (`token`, `register`, `open-banking`): part of the key and the metric label. */
  endpoint: string;
  reason: RateLimitReason;
  subject: string;
  perMinute: number;
  /** Where a counter store failure is reported (the request's logger). */
  log?: { warn(object: object, message: string): void };
}

export interface RateLimiter {
  readonly windowMs: number;
  /**
   * Counts one request and returns the refusal when it is over the limit: a TooManyRequestsError
   * (429 `too_many_requests`) with `Retry-After`, the seconds to the next window. Undefined when
   * it is within the limit, or when the counter store did not answer (fail open, see below).
   */
  check(request: RateLimitCheck): Promise<DomainError | undefined>;
}

export interface RateLimiterOptions {
  counter: RateCounter;
  /** The fixed window's length (RATE_LIMIT_WINDOW_MS); per-minute limits are scaled to it. */
  windowMs: number;
  /** Called for every refusal (e.g. `createRateLimitMetrics(registry).refused`). */
  onRefused?(endpoint: string, reason: RateLimitReason): void;
  now?: () => number;
}

/** How long a counter outlives its window: room for replicas whose clocks differ slightly. */
const KEY_TTL_MARGIN_MS = 5_000;

/**
 * The rate limiter every service shares: fixed windows aligned to the epoch, counted in the
 * RateCounter (Redis, shared by every replica). Fixed windows let a subject send up to twice its
 * limit across a window boundary; a shorter window evens that out.
 *
 * It fails open: when the counter store does not answer, the request is let through and the
 * failure logged. Every limited surface needs Redis for its own work too (tokens, codes, replay
 * caches), so a Redis outage already answers those requests with a 503 of the service's own;
 * refusing the rest with a 429 would turn a counter outage into an outage of the APIs that do
 * not need Redis, and the limits guard capacity, not access (authentication stays in force).
 *
 * @example
 * const limiter = createRateLimiter({ counter: createRedisRateCounter(redis), windowMs: 60_000 });
 * const refusal = await limiter.check({ endpoint: 'introspect', reason: 'client', subject: clientId, perMinute: 6000 });
 * if (refusal) throw refusal;
 */
export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  const { counter, windowMs } = options;
  const now = options.now ?? Date.now;
  return {
    windowMs,
    async check({ endpoint, reason, subject, perMinute, log }) {
      const limit = limitPerWindow(perMinute, windowMs);
      const window = fixedWindow(now(), windowMs);
      let count: number;
      try {
        count = await counter.hit(rateLimitKey(endpoint, reason, subject, window.index), windowMs + KEY_TTL_MARGIN_MS);
      } catch (error) {
        log?.warn({ err: error, endpoint, reason }, 'rate limit not checked: the counter store did not answer');
        return undefined;
      }
      if (count <= limit) return undefined;
      const retryAfter = Math.max(1, Math.ceil(window.resetInMs / 1000));
      options.onRefused?.(endpoint, reason);
      return new TooManyRequestsError(
        `more than ${limit} requests by this ${reason} in ${windowMs / 1000} s; retry after ${retryAfter} s`,
        { headers: { 'Retry-After': String(retryAfter) } },
      );
    },
  };
}

export interface RateLimitOptions {
  endpoint: string;
  reason: RateLimitReason;
  /** The limit in force, read per request; 0 turns the limit off. */
  perMinute: number | (() => number);
  /** What the request counts against; undefined: not counted (e.g. no certificate, an in-cluster caller). */
  subjectOf(req: Request): string | undefined;
}

/**
 * Express middleware over a RateLimiter. Over the limit, the request goes to the router's error
 * handler as a TooManyRequestsError, which answers 429 in the router's own format (OAuth, OBIE,
 * or a portal page) with `Retry-After`; the header is also set here, so an error page that
 * ignores error headers still carries it.
 *
 * @example
 * app.use('/register', rateLimit(limiter, { endpoint: 'register', reason: 'address', perMinute: 120, subjectOf: sourceAddressOf }));
 */
export function rateLimit(limiter: RateLimiter, options: RateLimitOptions): RequestHandler {
  const perMinute = typeof options.perMinute === 'number' ? () => options.perMinute as number : options.perMinute;
  return function checkRateLimit(req, res, next) {
    const limit = perMinute();
    const subject = limit > 0 ? options.subjectOf(req) : undefined;
    if (subject === undefined) {
      next();
      return;
    }
    limiter
      .check({ endpoint: options.endpoint, reason: options.reason, subject, perMinute: limit, log: req.log })
      .then((refusal) => {
        if (refusal && !res.headersSent) res.setHeader('Retry-After', refusal.headers['Retry-After']!);
        next(refusal);
      }, next);
  };
}

export interface RateLimitMetrics {
  /** Counts one request refused with 429. */
  refused(endpoint: string, reason: RateLimitReason): void;
}

const metricsByRegistry = new WeakMap<Registry, RateLimitMetrics>();

/**
 * `obip_rate_limited_requests_total{endpoint,reason}` (plus the registry's `service` label):
 * requests refused with 429. One counter per registry, however often it is asked for.
 *
 * @example
 * const limiter = createRateLimiter({ counter, windowMs, onRefused: createRateLimitMetrics(metrics.registry).refused });
 */
export function createRateLimitMetrics(registry: Registry): RateLimitMetrics {
  const known = metricsByRegistry.get(registry);
  if (known) return known;
  const counter = new Counter({
    name: 'obip_rate_limited_requests_total',
    help: 'Requests refused with 429 by a rate limit, by endpoint and what the limit counts (client, address)',
    labelNames: ['endpoint', 'reason'] as const,
    registers: [registry],
  });
  const metrics: RateLimitMetrics = { refused: (endpoint, reason) => counter.inc({ endpoint, reason }) };
  metricsByRegistry.set(registry, metrics);
  return metrics;
}
