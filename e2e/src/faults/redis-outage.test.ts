// Fault: Redis stops under load and comes back on the same port. Every service that needs Redis
// turns not-ready within seconds, token and introspection requests fail fast with 503 (each one
// timed), no token is issued while the replay cache and the token records cannot be written, the
// services recover by themselves once Redis answers again, and the 503s are counted in /metrics.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { closeRedis, createRedis, type RedisClient } from '@obip/redis';
import { attachServerLogsOnFailure, startRedisServer, testRedisPrefix, type RedisServer } from '@obip/testing';
import { createTokenStore, type TokenStore } from '@obip/token-store';
import { platformLogSources, type Platform, type ServiceName } from '../platform/platform';
import {
  clientAssertion,
  clientAuthFields,
  errorCode,
  introspectRequest,
  longest,
  opsRequest,
  postForm,
  registerTpp,
  serverErrorCount,
  sleep,
  startLoad,
  startPlatformWithGatewayTpp,
  tally,
  timeUntilReadiness,
  tokenRequest,
  type Outcome,
  type Tpp,
} from './faults';

const NAME = 'fault_redis';
/** A request during the outage must be answered within this (the Redis command timeout is 2 s). */
const FAIL_FAST_MS = 3_000;

let redisServer: RedisServer;
let platform: Platform;
let gateway: Tpp;
let redis: RedisClient;
let tokenStore: TokenStore;
let dataDir: string;

attachServerLogsOnFailure({
  sources: [platformLogSources(() => platform), { name: 'redis', logs: () => redisServer?.logs() ?? '' }],
});

before(async () => {
  // Append-only data, as in production: what was written before the outage is there after it.
  dataDir = mkdtempSync(join(tmpdir(), 'obip-fault-redis-'));
  redisServer = await startRedisServer({ dataDir });
  ({ platform, gateway } = await startPlatformWithGatewayTpp({ name: NAME, redisUrl: redisServer.url }));
  redis = createRedis({ url: redisServer.url, keyPrefix: testRedisPrefix(NAME) });
  tokenStore = createTokenStore(redis);
});

after(async () => {
  await platform?.stop();
  if (redis) await closeRedis(redis);
  await redisServer?.dispose();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

/** The services whose /readyz checks Redis (read from the checks they report). */
async function servicesCheckingRedis(): Promise<ServiceName[]> {
  const names: ServiceName[] = ['dcr-service', 'auth-server', 'consent-service', 'token-introspection'];
  const checks = await Promise.all(
    names.map(async (name) => {
      const ready = await opsRequest(platform, name, '/readyz');
      assert.equal(ready.status, 200, `${name} is ready before the fault: ${JSON.stringify(ready.body)}`);
      return [name, Object.keys((ready.body as { checks: object }).checks).includes('redis')] as const;
    }),
  );
  return checks.filter(([, checksRedis]) => checksRedis).map(([name]) => name);
}

describe('Redis stopped under load', () => {
  test('not-ready within seconds, fast 503s and no token while down, recovery by itself, errors in /metrics', async (t) => {
    const tpp = await registerTpp(platform);
    const redisServices = await servicesCheckingRedis();
    assert.ok(
      redisServices.includes('auth-server') && redisServices.includes('token-introspection'),
      `auth-server and token-introspection check Redis: ${redisServices.join(', ')}`,
    );
    const before = await tokenRequest(platform, tpp);
    assert.equal(before.status, 200, JSON.stringify(before.body));
    const liveToken = (before.body as { access_token: string }).access_token;
    // An assertion spent before the outage: its jti must still be refused after it.
    const spentAssertion = await clientAssertion(tpp, platform.issuer);
    const spent = await postForm(platform, tpp, '/token', {
      grant_type: 'client_credentials',
      scope: 'accounts',
      ...clientAuthFields(tpp, spentAssertion),
    });
    assert.equal(spent.status, 200);
    const errorsBefore = {
      auth: await serverErrorCount(platform, 'auth-server'),
      introspection: await serverErrorCount(platform, 'token-introspection'),
    };

    const tokenLoad = startLoad(() => tokenRequest(platform, tpp), { workers: 3, maxRequests: 1500, pauseMs: 20 });
    const introspectionLoad = startLoad(() => introspectRequest(platform, gateway, liveToken), {
      workers: 2,
      maxRequests: 1000,
      pauseMs: 20,
    });
    await sleep(1_500);

    // The fault.
    const stoppedAt = Date.now();
    await redisServer.stop();
    const notReady = await timeUntilReadiness(platform, 503, 10_000, redisServices);
    const outageFrom = Date.now();
    await sleep(3_000);
    const outageTo = Date.now();
    await redisServer.restart();
    const restartedAt = Date.now();
    const ready = await timeUntilReadiness(platform, 200, 20_000, redisServices);
    const recoveredAt = Date.now();
    // Load continues until every service has answered requests again.
    await sleep(1_500);
    const tokens = await tokenLoad.stop();
    const introspections = await introspectionLoad.stop();

    const during = (outcomes: Outcome[]) =>
      outcomes.filter((outcome) => outcome.at >= outageFrom && outcome.at + outcome.ms <= outageTo);
    const failed = (outcomes: Outcome[]) => outcomes.filter((outcome) => outcome.status !== 200);
    const recovered = (outcomes: Outcome[]) => outcomes.filter((outcome) => outcome.at > recoveredAt);
    t.diagnostic(`stop took ${outageFrom - stoppedAt} ms; time to not-ready (ms): ${JSON.stringify(notReady)}`);
    t.diagnostic(
      `time to ready after restart (ms): ${JSON.stringify(ready)}; all ready ${recoveredAt - restartedAt} ms after Redis answered`,
    );
    t.diagnostic(
      `token requests: ${JSON.stringify(tally(tokens))}, during outage ${JSON.stringify(tally(during(tokens)))}`,
    );
    t.diagnostic(
      `introspection: ${JSON.stringify(tally(introspections))}, during outage ${JSON.stringify(tally(during(introspections)))}`,
    );
    t.diagnostic(
      `longest failed request (ms): token ${longest(failed(tokens))}, introspection ${longest(failed(introspections))}`,
    );

    // 1. Not ready within seconds, naming redis.
    for (const name of redisServices) {
      assert.ok(notReady[name] !== undefined && notReady[name] < 5_000, `${name} not-ready after ${notReady[name]} ms`);
      const readiness = await opsRequest(platform, name, '/readyz');
      assert.equal(readiness.status, 200, `${name} ready again`);
    }

    // 2. During the outage: every answer a 503 with the spec's error, none slow, no token.
    for (const [kind, outcomes] of [
      ['token', during(tokens)],
      ['introspection', during(introspections)],
    ] as const) {
      assert.ok(outcomes.length >= 5, `${kind}: ${outcomes.length} requests during the outage`);
      for (const outcome of outcomes) {
        assert.equal(
          outcome.status,
          503,
          `${kind} during the outage: ${outcome.status} ${JSON.stringify(outcome.body)}`,
        );
        assert.ok(
          ['temporarily_unavailable', 'server_error'].includes(errorCode(outcome) ?? ''),
          `${kind}: ${JSON.stringify(outcome.body)}`,
        );
        assert.equal((outcome.body as { access_token?: string }).access_token, undefined);
      }
    }
    for (const outcome of [...failed(tokens), ...failed(introspections)]) {
      assert.ok(outcome.status !== 0, `no answer: ${outcome.error} after ${outcome.ms} ms`);
      assert.ok(outcome.ms < FAIL_FAST_MS, `a failed request took ${outcome.ms} ms`);
      assert.ok(outcome.status === 503, `only 503s: ${outcome.status} ${JSON.stringify(outcome.body)}`);
    }

    // 3. Fail closed: every token that was issued has its record (Redis kept its data).
    const issued = tokens.filter((outcome) => outcome.status === 200);
    for (const outcome of issued) {
      const token = (outcome.body as { access_token: string }).access_token;
      assert.ok(await tokenStore.find(token), `a token issued at ${outcome.at} has no record`);
    }
    const replay = await postForm(platform, tpp, '/token', {
      grant_type: 'client_credentials',
      scope: 'accounts',
      ...clientAuthFields(tpp, spentAssertion),
    });
    assert.equal(replay.status, 401, 'the replay cache survived the outage');
    assert.equal(errorCode(replay), 'invalid_client');

    // 4. Recovery by itself: requests after the restart succeed, introspection sees the live token.
    for (const [kind, outcomes] of [
      ['token', recovered(tokens)],
      ['introspection', recovered(introspections)],
    ] as const) {
      assert.ok(outcomes.length > 0, `${kind}: requests after recovery`);
      assert.deepEqual(tally(outcomes), { '200': outcomes.length }, `${kind} after recovery`);
    }
    assert.equal((introspections.at(-1)!.body as { active?: boolean }).active, true);

    // 5. The 503s are counted in /metrics.
    const answered503 = (outcomes: Outcome[]) => outcomes.filter((outcome) => outcome.status === 503).length;
    const authErrors = (await serverErrorCount(platform, 'auth-server')) - errorsBefore.auth;
    const introspectionErrors = (await serverErrorCount(platform, 'token-introspection')) - errorsBefore.introspection;
    t.diagnostic(`5xx counted in /metrics: auth-server +${authErrors}, token-introspection +${introspectionErrors}`);
    assert.equal(authErrors, answered503(tokens), 'auth-server counted every 503 it answered');
    assert.equal(introspectionErrors, answered503(introspections), 'token-introspection counted every 503');
  });
});
