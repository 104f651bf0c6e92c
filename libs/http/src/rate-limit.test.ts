// The shared rate limiter: its rules, its counting in real Redis (two replicas, windows, TTLs, an
// outage), and the Express middleware answering 429 in each API's error format.
import assert from 'node:assert/strict';
import { after, before, describe, it, test } from 'node:test';
import express from 'express';
import { Registry } from 'prom-client';
import { closeRedis, createRedis, readCommandStats, type RedisClient } from '@obip/redis';
import { startRedisServer, testRedisPrefix, testRedisUrl } from '@obip/testing';
import { createHttpApp } from './app';
import { errorHandler } from './error-handler';
import {
  createRateLimiter,
  createRateLimitMetrics,
  createRedisRateCounter,
  fixedWindow,
  limitPerWindow,
  rateLimit,
  rateLimitKey,
  type RateLimiter,
} from './rate-limit';
import { captureLogs, listen, type RunningServer } from './testing/http';

test('per-minute limits are scaled to the window, rounded up, never below one', () => {
  assert.equal(limitPerWindow(600, 60_000), 600);
  assert.equal(limitPerWindow(60, 3_000), 3);
  assert.equal(limitPerWindow(100, 1_000), 2);
  assert.equal(limitPerWindow(1, 1_000), 1);
});

test('windows are aligned to the epoch so every replica counts into the same one', () => {
  assert.deepEqual(fixedWindow(125_000, 60_000), { index: 2, resetInMs: 55_000 });
  assert.deepEqual(fixedWindow(120_000, 60_000), { index: 2, resetInMs: 60_000 });
  assert.deepEqual(fixedWindow(119_999, 60_000), { index: 1, resetInMs: 1 });
});

test('the key separates endpoints, reasons, subjects and windows, and hashes the subject', () => {
  const keys = new Set([
    rateLimitKey('token', 'client', 'tpp-1', 1),
    rateLimitKey('par', 'client', 'tpp-1', 1),
    rateLimitKey('token', 'address', 'tpp-1', 1),
    rateLimitKey('token', 'client', 'tpp-2', 1),
    rateLimitKey('token', 'client', 'tpp-1', 2),
  ]);
  assert.equal(keys.size, 5);
  const long = rateLimitKey('token', 'client', `${'a'.repeat(5_000)}:x`, 1);
  assert.ok(long.length < 100 && !long.includes('aaaa'), 'the subject is hashed');
});

describe('the limiter on real Redis', () => {
  let redis: RedisClient;
  let otherReplica: RedisClient;
  let clock = 1_000_000_000_000;
  const refusals: string[] = [];
  const limiterOn = (client: RedisClient): RateLimiter =>
    createRateLimiter({
      counter: createRedisRateCounter(client),
      windowMs: 10_000,
      now: () => clock,
      onRefused: (endpoint, reason) => refusals.push(`${endpoint}/${reason}`),
    });

  before(() => {
    redis = createRedis({ url: testRedisUrl(), keyPrefix: testRedisPrefix() });
    otherReplica = createRedis({ url: testRedisUrl(), keyPrefix: testRedisPrefix() });
  });
  after(async () => {
    await closeRedis(redis);
    await closeRedis(otherReplica);
  });

  it('lets the limit through, refuses the next with 429 and Retry-After to the window end, across replicas', async () => {
    clock = 1_000_000_000_000 + 2_500; // 7.5 s before the window ends
    const replicas = [limiterOn(redis), limiterOn(otherReplica)];
    const request = { endpoint: 'register', reason: 'client', subject: 'cert-a', perMinute: 18 } as const; // 3 a window
    for (let i = 0; i < 3; i += 1) assert.equal(await replicas[i % 2]!.check(request), undefined, `request ${i + 1}`);
    const refusal = await replicas[1]!.check(request);
    assert.ok(refusal, 'the fourth request is refused, though it reached the other replica');
    assert.equal(refusal.code, 'too_many_requests');
    assert.equal(refusal.kind, 'too_many_requests');
    assert.deepEqual(refusal.headers, { 'Retry-After': '8' });
    assert.deepEqual(refusals.splice(0), ['register/client']);

    assert.equal(await replicas[0]!.check({ ...request, subject: 'cert-b' }), undefined, 'another subject is apart');
    assert.equal(await replicas[0]!.check({ ...request, reason: 'address' }), undefined, 'another reason is apart');

    clock += 7_500; // the next window
    assert.equal(await replicas[0]!.check(request), undefined, 'the next window starts from zero');
  });

  it('gives every counter a TTL a little longer than its window', async () => {
    clock = 2_000_000_000_000;
    await limiterOn(redis).check({ endpoint: 'ttl', reason: 'address', subject: '192.0.2.1', perMinute: 60 });
    const key = rateLimitKey('ttl', 'address', '192.0.2.1', fixedWindow(clock, 10_000).index);
    const ttl = await redis.pttl(key);
    assert.ok(ttl > 10_000 && ttl <= 15_000, `PTTL ${ttl}`);
  });

  it('sends the counting script as EVALSHA, not its source, once the connection knows it', async () => {
    // A server of its own: the command counters are server-wide.
    const server = await startRedisServer();
    const client = createRedis({ url: server.url });
    try {
      const limiter = createRateLimiter({ counter: createRedisRateCounter(client), windowMs: 10_000 });
      const request = { endpoint: 'sha', reason: 'client', subject: 'tpp', perMinute: 600 } as const;
      await limiter.check(request);
      await client.config('RESETSTAT');
      for (let i = 0; i < 3; i += 1) assert.equal(await limiter.check(request), undefined);
      const { calls } = await readCommandStats(client);
      assert.equal(calls.evalsha, 3);
      assert.equal(calls.eval, undefined, 'the source was sent once, before the counters were reset');
      assert.equal(calls.incr, 3, 'each hit counted');
    } finally {
      await closeRedis(client);
      await server.dispose();
    }
  });

  it('fails open, logging why, when Redis does not answer', async () => {
    const server = await startRedisServer();
    const client = createRedis({ url: server.url, commandTimeoutMs: 300, connectTimeoutMs: 300 });
    const warnings: string[] = [];
    try {
      const limiter = createRateLimiter({ counter: createRedisRateCounter(client), windowMs: 10_000 });
      const request = { endpoint: 'outage', reason: 'client', subject: 'tpp', perMinute: 6 } as const; // 1 a window
      const log = { warn: (_object: object, message: string) => warnings.push(message) };
      assert.equal(await limiter.check({ ...request, log }), undefined);
      await server.stop();
      for (let i = 0; i < 3; i += 1) assert.equal(await limiter.check({ ...request, log }), undefined);
      assert.deepEqual(warnings, Array(3).fill('rate limit not checked: the counter store did not answer'));
    } finally {
      await closeRedis(client).catch(() => undefined);
      await server.dispose();
    }
  });
});

describe('the rate-limit middleware', () => {
  let redis: RedisClient;
  let server: RunningServer;
  const prefix = `${testRedisPrefix()}mw:`;
  const registry = new Registry();
  const logs = captureLogs();

  before(async () => {
    redis = createRedis({ url: testRedisUrl(), keyPrefix: prefix });
    const limiter = createRateLimiter({
      counter: createRedisRateCounter(redis),
      windowMs: 60_000,
      onRefused: createRateLimitMetrics(registry).refused,
    });
    const byHeader = (name: string) => (req: express.Request) => req.header(name);
    const app = createHttpApp({ logger: logs.logger });
    const oauth = express.Router();
    oauth.use(rateLimit(limiter, { endpoint: 'oauth', reason: 'client', perMinute: 2, subjectOf: byHeader('x-who') }));
    oauth.get('/oauth', (_req, res) => void res.json({ ok: true }));
    oauth.use(errorHandler('oauth'));
    const obie = express.Router();
    obie.use(rateLimit(limiter, { endpoint: 'obie', reason: 'address', perMinute: 1, subjectOf: byHeader('x-who') }));
    obie.get('/obie', (_req, res) => void res.json({ ok: true }));
    obie.use(errorHandler('obie'));
    let limit = 0;
    const off = express.Router();
    off.use(rateLimit(limiter, { endpoint: 'off', reason: 'address', perMinute: () => limit, subjectOf: () => 'x' }));
    off.get('/off', (_req, res) => void res.json({ limit }));
    off.post('/off', (req, res) => {
      limit = Number(req.query.limit);
      res.json({ limit });
    });
    off.use(errorHandler('oauth'));
    app.use(oauth, obie, off);
    server = await listen(app);
  });
  after(async () => {
    await server.close();
    await closeRedis(redis);
  });

  const get = (path: string, who?: string) =>
    fetch(`${server.url}${path}`, { headers: who === undefined ? {} : { 'x-who': who } });

  it('answers 429 in the OAuth format with Retry-After and no-store; another subject is unaffected', async () => {
    const noisy = `noisy-${Date.now()}`;
    assert.deepEqual([(await get('/oauth', noisy)).status, (await get('/oauth', noisy)).status], [200, 200]);
    const refused = await get('/oauth', noisy);
    assert.equal(refused.status, 429);
    const retryAfter = Number(refused.headers.get('retry-after'));
    assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
    assert.equal(refused.headers.get('cache-control'), 'no-store');
    const body = (await refused.json()) as { error: string; error_description: string };
    assert.equal(body.error, 'too_many_requests');
    assert.match(body.error_description, /more than 2 requests by this client in 60 s/);
    assert.equal((await get('/oauth', `quiet-${Date.now()}`)).status, 200);
  });

  it('answers 429 in the OBIE envelope on an OBIE router', async () => {
    const who = `addr-${Date.now()}`;
    assert.equal((await get('/obie', who)).status, 200);
    const refused = await get('/obie', who);
    assert.equal(refused.status, 429);
    assert.ok(refused.headers.get('retry-after'));
    const body = (await refused.json()) as { Code: string; Errors: { ErrorCode: string }[] };
    assert.equal(body.Code, '429 TooManyRequests');
    assert.deepEqual(
      body.Errors.map((error) => error.ErrorCode),
      ['UK.OBIE.UnexpectedError'],
    );
  });

  it('counts nothing for a request without a subject, or while the limit is 0', async () => {
    for (let i = 0; i < 4; i += 1) assert.equal((await get('/oauth')).status, 200);
    for (let i = 0; i < 4; i += 1) assert.equal((await get('/off')).status, 200);
    // KEYS takes a pattern, which ioredis leaves without the key prefix.
    assert.deepEqual(await redis.keys(`${prefix}ratelimit:off:*`), [], 'no counter while off');
    await fetch(`${server.url}/off?limit=1`, { method: 'POST' });
    assert.equal((await get('/off')).status, 200, 'the first request under the new limit');
    assert.equal((await get('/off')).status, 429, 'a limit read per request applies at once');
  });

  it('counts every refusal by endpoint and reason', async () => {
    const text = await registry.metrics();
    assert.match(text, /^obip_rate_limited_requests_total\{endpoint="oauth",reason="client"\} 1$/m);
    assert.match(text, /^obip_rate_limited_requests_total\{endpoint="obie",reason="address"\} 1$/m);
    assert.match(text, /^obip_rate_limited_requests_total\{endpoint="off",reason="address"\} 1$/m);
    assert.equal(createRateLimitMetrics(registry), createRateLimitMetrics(registry), 'one counter per registry');
  });
});
