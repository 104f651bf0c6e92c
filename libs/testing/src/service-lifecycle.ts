import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { checkGrpcHealth } from '@obip/grpc';
import { startRedisServer, type RedisServer } from './servers/redis.server';
import { attachServerLogsOnFailure, dropTestDatabase, serviceMongoEnv, testMongoUrl } from './servers/test-servers';
import { runServiceToExit, startServiceProcess, type ServiceProcess } from './service-process';

/**
 * The behaviour every obip service shares, run against the real process with real stores:
 * ready with its stores up, not ready naming Redis while Redis is down and ready again after,
 * gRPC health SERVING, a clean exit on SIGTERM within the grace period, and a start-up refusal
 * naming the variable when a setting is wrong.
 */
export function describeServiceLifecycle(options: {
  service: string;
  entry: string;
  usesMongo: boolean;
  /** The error format of the service's HTTP API (ARCHITECTURE: Contracts). */
  errorFormat: 'oauth' | 'obie' | 'problem';
}) {
  describe(`${options.service} lifecycle`, () => {
    let redis: RedisServer;
    let service: ServiceProcess;
    const mongoUrl = options.usesMongo ? testMongoUrl(options.service) : undefined;

    attachServerLogsOnFailure({ sources: [{ name: options.service, logs: () => service?.output() ?? '' }] });

    before(async () => {
      redis = await startRedisServer();
      service = await startServiceProcess({
        entry: options.entry,
        env: {
          HTTP_PORT: '0',
          GRPC_PORT: '0',
          OPS_PORT: '0',
          REDIS_URL: redis.url,
          SHUTDOWN_GRACE_MS: '3000',
          ...(mongoUrl ? serviceMongoEnv(mongoUrl) : {}),
        },
      });
    });

    after(async () => {
      service?.kill();
      await redis?.dispose();
      if (mongoUrl) await dropTestDatabase(mongoUrl);
    });

    const readiness = async () => {
      const response = await fetch(`http://127.0.0.1:${service.ports.ops}/readyz`);
      return {
        status: response.status,
        body: (await response.json()) as { failed: string[]; checks: Record<string, string> },
      };
    };

    test('starts with its defaults and reports ready with its stores up', async () => {
      const { status, body } = await readiness();
      assert.equal(status, 200);
      assert.deepEqual(Object.keys(body.checks).sort(), options.usesMongo ? ['mongodb', 'redis'] : ['redis']);
      assert.equal((await fetch(`http://127.0.0.1:${service.ports.ops}/livez`)).status, 200);
    });

    test('serves the gRPC health service as SERVING', async () => {
      // A first call includes the channel's connect to a process on busy CI cores: the 1 s default
      // deadline once ran out there (a check of the answer, not of its speed).
      const answer = await checkGrpcHealth(`127.0.0.1:${service.ports.grpc}`, { service: '', deadlineMs: 10_000 });
      assert.equal(answer, 'SERVING');
    });

    test('answers unknown HTTP paths with a 404 in its error format', async () => {
      const response = await fetch(`http://127.0.0.1:${service.ports.http}/no-such-route`);
      assert.equal(response.status, 404);
      const body = (await response.json()) as Record<string, unknown>;
      if (options.errorFormat === 'oauth') assert.equal(body.error, 'not_found');
      if (options.errorFormat === 'obie') assert.ok(Array.isArray(body.Errors) && typeof body.Code === 'string');
      if (options.errorFormat === 'problem') {
        assert.equal(response.headers.get('content-type')?.split(';')[0], 'application/problem+json');
        assert.equal(body.status, 404);
      }
    });

    test('reports not ready naming redis while Redis is down, and recovers when it returns', async () => {
      await redis.stop();
      const down = await eventually(readiness, (r) => r.status === 503);
      assert.deepEqual(down.body.failed, ['redis']);
      await redis.restart();
      const up = await eventually(readiness, (r) => r.status === 200);
      assert.deepEqual(up.body.failed, []);
    });

    test('exits 0 within the grace period on SIGTERM', async () => {
      const signalledAt = Date.now();
      service.child.kill('SIGTERM');
      assert.equal(await service.exited, 0);
      assert.ok(Date.now() - signalledAt < 3_000, 'exited within SHUTDOWN_GRACE_MS');
    });

    test('refuses to start with a wrong setting and names the variable', async () => {
      const { code, stderr } = await runServiceToExit({
        entry: options.entry,
        env: { HTTP_PORT: 'eighty', REDIS_URL: redis.url },
      });
      assert.equal(code, 78);
      assert.match(stderr, /HTTP_PORT: /);
    });
  });
}

async function eventually<T>(probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
