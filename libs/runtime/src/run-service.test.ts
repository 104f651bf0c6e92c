import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createLogger, createMetrics } from '@obip/observability';
import { runService } from './index';

const fixture = join(import.meta.dirname, 'test-fixtures', 'slow-service.ts');

async function startFixture(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [line] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
  const { ports } = JSON.parse(line) as { ports: { http: number; ops: number } };
  const exited = once(child, 'exit') as Promise<[number | null, string | null]>;
  return { child, ports, exited };
}

test('SIGTERM lets a slow in-flight request finish, then exits 0 within the grace period', async () => {
  const { child, ports, exited } = await startFixture({ SLOW_MS: '800', SHUTDOWN_GRACE_MS: '5000' });
  const slow = fetch(`http://127.0.0.1:${ports.http}/slow`);
  await new Promise((resolve) => setTimeout(resolve, 150));
  const signalledAt = Date.now();
  child.kill('SIGTERM');

  const response = await slow;
  assert.equal(response.status, 200);
  assert.equal(await response.text(), 'finished');
  const [code] = await exited;
  assert.equal(code, 0);
  assert.ok(Date.now() - signalledAt < 5000, 'exited within the grace period');
});

test('a drain that overruns the grace period is cut and exits 1 on time', async () => {
  const { child, ports, exited } = await startFixture({ SLOW_MS: '10000', SHUTDOWN_GRACE_MS: '500' });
  const slow = fetch(`http://127.0.0.1:${ports.http}/slow`).catch((error: unknown) => error);
  await new Promise((resolve) => setTimeout(resolve, 150));
  const signalledAt = Date.now();
  child.kill('SIGTERM');
  const [code] = await exited;
  assert.equal(code, 1);
  assert.ok(Date.now() - signalledAt < 3000, 'did not wait for the slow request');
  assert.ok((await slow) instanceof Error, 'the overrunning request was cut');
});

test('reports not-ready during the shutdown delay while still serving requests', async () => {
  const { child, ports, exited } = await startFixture({ SHUTDOWN_DELAY_MS: '1000' });
  assert.equal((await fetch(`http://127.0.0.1:${ports.ops}/readyz`)).status, 200);
  child.kill('SIGTERM');
  await new Promise((resolve) => setTimeout(resolve, 200));
  const readiness = await fetch(`http://127.0.0.1:${ports.ops}/readyz`);
  assert.equal(readiness.status, 503);
  assert.equal(((await readiness.json()) as { status: string }).status, 'draining');
  const stillServing = await fetch(`http://127.0.0.1:${ports.http}/fast`);
  assert.equal(await stillServing.text(), 'fast');
  assert.equal(stillServing.headers.get('connection'), 'close');
  const [code] = await exited;
  assert.equal(code, 0);
});

test('shutdown stops background work, then closes every dependency, and marks gRPC not serving', async () => {
  const closed: string[] = [];
  const servingStates: boolean[] = [];
  const running = await runService({
    name: 'in-process',
    settings: {
      BIND_HOST: '127.0.0.1',
      HTTP_PORT: 0,
      GRPC_PORT: 0,
      OPS_PORT: 0,
      SHUTDOWN_DELAY_MS: 0,
      SHUTDOWN_GRACE_MS: 1000,
    },
    logger: createLogger({ service: 'in-process', level: 'silent' }),
    metrics: createMetrics({ service: 'in-process' }),
    handleSignals: false,
    dependencies: [
      { name: 'mongodb', check: async () => {}, close: async () => void closed.push('mongodb') },
      { name: 'redis', check: async () => {}, close: async () => void closed.push('redis') },
    ],
    stopBackgroundWork: async () => {
      closed.push('background work');
      throw new Error('a failing stop does not keep the stores open');
    },
    grpc: {
      listen: async () => 4321,
      setServing: (serving) => void servingStates.push(serving),
      shutdown: async () => {},
    },
  });
  assert.equal(running.ports.grpc, 4321);
  assert.equal(await running.shutdown('test'), 0);
  assert.deepEqual(closed, ['background work', 'mongodb', 'redis']);
  assert.deepEqual(servingStates, [true, false]);
});
