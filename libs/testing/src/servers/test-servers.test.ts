import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { serviceMongoEnv, withDatabase } from './test-servers';

function withoutTestContext(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { NODE_TEST_CONTEXT: _context, ...rest } = env;
  return rest;
}

test('attachServerLogsOnFailure adds log tails, one per source, to failed tests only', (t) => {
  const logs = mkdtempSync(join(tmpdir(), 'obip-logs-test-'));
  t.after(() => rmSync(logs, { recursive: true, force: true }));
  writeFileSync(join(logs, 'redis-1.log'), 'shared line 1\nshared line 2\n');

  const result = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '--test',
      '--test-reporter=tap',
      join(import.meta.dirname, 'test-fixtures/fails-with-server-logs.ts'),
    ],
    // Without NODE_TEST_CONTEXT, which would make the child report to this runner instead.
    { encoding: 'utf8', env: { ...withoutTestContext(process.env), OBIP_TEST_SERVER_LOGS: logs }, timeout: 30_000 },
  );
  assert.equal(result.status, 1, 'the fixture has a failing test');
  const output = result.stdout;
  // `lines: 1`: the last line of each source, once (for the failing test only).
  assert.equal(output.split('own line 2').length - 1, 1, output);
  assert.equal(output.split('shared line 2').length - 1, 1, output);
  assert.ok(!output.includes('own line 1'), 'only the tail');
  assert.match(output, /--- redis-1\.log \(last 1 lines\) ---/);
  // A group's logs each get their own tail: concatenated, only b's last line would show.
  assert.match(output, /--- service-a \(last 1 lines\) ---/);
  assert.equal(output.split('a line 2').length - 1, 1, output);
  assert.equal(output.split('b line 2').length - 1, 1, output);
});

test('withDatabase swaps the database of a MongoDB URL and keeps credentials and options', () => {
  assert.equal(withDatabase('mongodb://127.0.0.1:27017/', 'x'), 'mongodb://127.0.0.1:27017/x');
  assert.equal(withDatabase('mongodb://127.0.0.1:27017', 'x'), 'mongodb://127.0.0.1:27017/x');
  assert.equal(
    withDatabase('mongodb://u:p@h1:1,h2:2/admin?replicaSet=rs0&authSource=admin', 'x'),
    'mongodb://u:p@h1:1,h2:2/x?replicaSet=rs0&authSource=admin',
  );
});

test('points a service at the test database by both MONGO_URL and MONGO_DB', () => {
  assert.deepEqual(serviceMongoEnv('mongodb://127.0.0.1:27017/t_file_1?directConnection=true'), {
    MONGO_URL: 'mongodb://127.0.0.1:27017/t_file_1?directConnection=true',
    MONGO_DB: 't_file_1',
  });
  assert.throws(() => serviceMongoEnv('mongodb://127.0.0.1:27017/'));
});
