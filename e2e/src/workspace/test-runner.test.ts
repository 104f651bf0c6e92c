import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { randomUUID } from 'node:crypto';

// scripts/run-tests.mjs bounds every project's run, so that CI gets its closing line and a reason
// instead of running into its own time limit with nothing said. Checked here by running it over a
// project of fixture test files that misbehave on purpose.
const root = resolve(import.meta.dirname, '../../..');
const marker = `runner-fixture-${randomUUID()}`;

const fixtures = {
  // Passes, then keeps its process alive with a timer nobody clears.
  'lingers.test.ts': `import { test } from 'node:test';
test('passes and leaves a timer running', () => { setInterval(() => undefined, 1000); });
`,
  // Starts a process and forgets it; its own process exits normally.
  'leaves-a-process.test.ts': `import { test } from 'node:test';
import { spawn } from 'node:child_process';
test('starts a process it never stops', () => {
  spawn(process.execPath, ['-e', 'setTimeout(() => undefined, 300_000)', '${marker}'], { stdio: 'ignore' }).unref();
});
`,
  'passes.test.ts': `import { test } from 'node:test';
test('passes', () => undefined);
`,
  // Never finishes: only the project's time limit ends it.
  'waits.test.ts': `import { test } from 'node:test';
test('waits forever', () => new Promise(() => { setInterval(() => undefined, 1000); }));
`,
};

interface Summary {
  passed: number;
  failed: number;
  failures: string[];
  suiteFailures: string[];
  seconds: number;
}

const projects: string[] = [];
/** A project of the given fixture files under tmp/, as run-tests.mjs takes it. */
function fixtureProject(...names: (keyof typeof fixtures)[]): string {
  const projectRoot = `tmp/test-runner-${randomUUID()}`;
  mkdirSync(join(root, projectRoot, 'src'), { recursive: true });
  for (const name of names) writeFileSync(join(root, projectRoot, 'src', name), fixtures[name]);
  projects.push(projectRoot);
  return projectRoot;
}

function runProject(
  projectRoot: string,
  env: Record<string, string>,
): Promise<{ code: number | null; stderr: string; summary: Summary }> {
  return new Promise((resolvePromise, reject) => {
    // Without this test file's own node:test marker, which would make the nested run skip its files.
    const { NODE_TEST_CONTEXT: _ownContext, ...outer } = process.env;
    const child = spawn(process.execPath, ['scripts/run-tests.mjs', projectRoot], {
      cwd: root,
      env: { ...outer, OBIP_TEST_DEADLINE: '', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      const summaryPath = join(root, 'test-artifacts', projectRoot, 'summary.json');
      resolvePromise({ code, stderr, summary: JSON.parse(readFileSync(summaryPath, 'utf8')) as Summary });
    });
  });
}

const stillRunning = (pattern: string) =>
  spawnSync('pgrep', ['-f', pattern], { encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean);

describe('scripts/run-tests.mjs: a bounded project run', () => {
  after(() => {
    for (const projectRoot of projects) {
      rmSync(join(root, projectRoot), { recursive: true, force: true });
      rmSync(join(root, 'test-artifacts', projectRoot), { recursive: true, force: true });
    }
  });

  test('fails a file that outlives its tests, naming what holds it, and stops what the tests left running', async () => {
    const projectRoot = fixtureProject('lingers.test.ts', 'leaves-a-process.test.ts', 'passes.test.ts');
    const { code, stderr, summary } = await runProject(projectRoot, { OBIP_TEST_LINGER_SECONDS: '2' });
    assert.equal(code, 1, stderr);
    // Every fixture test passed; the lingering file itself is the one failure.
    assert.equal(summary.passed, 3, JSON.stringify(summary));
    assert.equal(summary.failed, 1, JSON.stringify(summary));
    assert.match(
      summary.failures[0] ?? '',
      /lingers\.test\.ts: still running 2 s after its last test \(still open: .*Timeout.*\); a test left it open/,
    );
    assert.match(stderr, new RegExp(`processes the tests left running, now stopped:\\n\\s+\\d+ \\S+ -e .* ${marker}`));
    assert.deepEqual(stillRunning(marker), [], 'the forgotten process was stopped');
  });

  test('stops a run past its time limit and names the test it was running', async () => {
    const projectRoot = fixtureProject('passes.test.ts', 'waits.test.ts');
    const { code, summary } = await runProject(projectRoot, { OBIP_TEST_PROJECT_TIMEOUT_SECONDS: '8' });
    assert.equal(code, 1);
    assert.equal(summary.passed, 1, JSON.stringify(summary));
    assert.equal(summary.suiteFailures.length, 1, JSON.stringify(summary));
    assert.match(
      summary.suiteFailures[0]!,
      /stopped after its 8 s limit; still running: .*waits\.test\.ts › waits forever \(\d+ s\)/,
    );
    assert.ok(summary.seconds >= 8 && summary.seconds < 40, `took ${summary.seconds} s`);
  });

  test('runs nothing once the test budget is spent, and says so', async () => {
    const projectRoot = fixtureProject('passes.test.ts');
    const { code, summary } = await runProject(projectRoot, { OBIP_TEST_DEADLINE: String(Date.now() - 1) });
    assert.equal(code, 1);
    assert.equal(summary.passed, 0);
    assert.deepEqual(summary.suiteFailures, [`${projectRoot}: not run, the test budget was spent before it started`]);
  });
});
