import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger, createMetrics, startOpsServer } from './index';

const silent = createLogger({ service: 'test', level: 'silent' });

test('reports ready when every check passes and names the failing check otherwise', async (t) => {
  let redisUp = true;
  const { registry } = createMetrics({ service: 'test' });
  const ops = await startOpsServer({
    host: '127.0.0.1',
    port: 0,
    registry,
    logger: silent,
    checks: [
      { name: 'mongodb', check: async () => {} },
      {
        name: 'redis',
        check: async () => {
          if (!redisUp) throw new Error('connection refused');
        },
      },
    ],
  });
  t.after(() => ops.close());
  const base = `http://127.0.0.1:${ops.port}`;

  const ready = await fetch(`${base}/readyz`);
  assert.equal(ready.status, 200);
  assert.deepEqual(await ready.json(), { status: 'ready', failed: [], checks: { mongodb: 'up', redis: 'up' } });

  redisUp = false;
  const notReady = await fetch(`${base}/readyz`);
  assert.equal(notReady.status, 503);
  const body = (await notReady.json()) as { failed: string[]; checks: Record<string, string> };
  assert.deepEqual(body.failed, ['redis']);
  assert.match(body.checks.redis ?? '', /^down: connection refused/);

  assert.equal((await fetch(`${base}/livez`)).status, 200);
  ops.setDraining();
  redisUp = true;
  assert.equal((await fetch(`${base}/readyz`)).status, 503);
});

test('a check that never answers fails readiness instead of hanging', async (t) => {
  const { registry } = createMetrics({ service: 'test' });
  const ops = await startOpsServer({
    host: '127.0.0.1',
    port: 0,
    registry,
    logger: silent,
    checks: [{ name: 'redis', check: () => new Promise(() => {}) }],
  });
  t.after(() => ops.close());
  const response = await fetch(`http://127.0.0.1:${ops.port}/readyz`);
  assert.equal(response.status, 503);
  assert.deepEqual(((await response.json()) as { failed: string[] }).failed, ['redis']);
});

test('exposes default process metrics and the HTTP histogram with bounded labels', async (t) => {
  const metrics = createMetrics({ service: 'svc' });
  metrics.observeHttpRequest('/register/:clientId', 'get', 404, 0.003);
  const ops = await startOpsServer({
    host: '127.0.0.1',
    port: 0,
    registry: metrics.registry,
    logger: silent,
    checks: [],
  });
  t.after(() => ops.close());
  const text = await (await fetch(`http://127.0.0.1:${ops.port}/metrics`)).text();
  assert.match(text, /process_resident_memory_bytes\{service="svc"\}/);
  assert.match(
    text,
    /http_request_duration_seconds_count\{service="svc",route="\/register\/:clientId",method="GET",status_class="4xx"\} 1/,
  );
});
