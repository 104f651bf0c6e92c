// The two ways a service process runs: its bundle (what the image runs, and what the benchmarks
// measure) must start, serve and carry the production environment like the tsx source does.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { testRedisPrefix, testRedisUrl } from './servers/test-servers';
import { createLineLog, startServiceProcess, type ServiceProcess, type ServiceRuntime } from './service-process';

describe('startServiceProcess', () => {
  const started: ServiceProcess[] = [];
  after(() => started.forEach((service) => service.kill()));

  for (const runtime of ['bundle', 'source'] satisfies ServiceRuntime[]) {
    test(`runs token-introspection from its ${runtime}, ready and serving`, async () => {
      const service = await startServiceProcess({
        entry: 'services/token-introspection/src/main.ts',
        runtime,
        env: {
          HTTP_PORT: '0',
          GRPC_PORT: '0',
          OPS_PORT: '0',
          REDIS_URL: testRedisUrl(),
          REDIS_KEY_PREFIX: testRedisPrefix(),
          ISSUER: 'https://as.bank.test',
          INTROSPECTION_ENDPOINT: 'https://mtls.bank.test/introspect',
          // Never called here: peers are dialled lazily.
          CLIENT_REGISTRY_GRPC_TARGET: '127.0.0.1:9',
          CONSENTS_GRPC_TARGET: '127.0.0.1:9',
          LOG_LEVEL: 'info',
        },
        timeoutMs: 90_000,
      });
      started.push(service);
      const live = await fetch(`http://127.0.0.1:${service.ports.ops}/livez`);
      assert.equal(live.status, 200);
      const commandLine = readFileSync(`/proc/${service.child.pid}/cmdline`, 'utf8').split('\0');
      const environment = readFileSync(`/proc/${service.child.pid}/environ`, 'utf8').split('\0');
      if (runtime === 'bundle') {
        assert.match(commandLine.at(-2)!, /service-bundles\/\d+\/services\/token-introspection\/main\.js$/);
        assert.ok(environment.includes('NODE_ENV=production'), 'NODE_ENV=production, as the image sets it');
      } else {
        assert.ok(commandLine.includes('tsx'), commandLine.join(' '));
        assert.match(commandLine.at(-2)!, /services\/token-introspection\/src\/main\.ts$/);
      }
    });
  }
});

describe('a service process output log', () => {
  test('keeps every line while there are few', () => {
    const log = createLineLog(2, 3);
    for (const line of ['a', 'b', 'c', 'd']) log.add(line);
    assert.equal(log.text(), 'a\nb\nc\nd');
  });

  test('keeps the first and the latest lines of a long output and counts the rest', () => {
    const log = createLineLog(2, 3);
    for (let index = 1; index <= 100; index += 1) log.add(`line ${index}`);
    const lines = log.text().split('\n');
    assert.deepEqual(lines.slice(0, 2), ['line 1', 'line 2']);
    assert.deepEqual(lines.slice(-3), ['line 98', 'line 99', 'line 100']);
    const leftOut = Number(/^… (\d+) lines left out …$/.exec(lines[2]!)?.[1]);
    assert.equal(leftOut + lines.length - 1, 100, 'every line is either kept or counted');
    assert.ok(lines.length <= 2 + 1 + 2 * 3, `bounded: ${lines.length} lines`);
  });
});
