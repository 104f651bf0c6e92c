#!/usr/bin/env node
// Runs one project's tests with node:test under tsx, with the shared real-dependency harness
// (Redis and a MongoDB-compatible server started once per run by libs/testing's global setup).
// Usage: node scripts/run-tests.mjs <projectRoot> [extra node --test args]
//
// A project's run is bounded: a test file that outlives its tests is failed by
// scripts/test-linger-watchdog.mjs, and a run still going after OBIP_TEST_PROJECT_TIMEOUT_SECONDS
// (default 1800) is stopped with the tests it was running named in its results. Either way CI gets
// its closing line instead of running into its own limit with nothing said.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { readJson, signalGroup, stopGroup } from './script-helpers.mjs';

const root = resolve(import.meta.dirname, '..');
const [projectRoot, ...extra] = process.argv.slice(2);
if (!projectRoot) {
  console.error('usage: node scripts/run-tests.mjs <projectRoot>');
  process.exit(2);
}

function findTests(dir) {
  const found = [];
  for (const entry of readdirSync(dir)) {
    if (entry === 'node_modules' || entry === 'dist') continue;
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) found.push(...findTests(path));
    else if (entry.endsWith('.test.ts')) found.push(path);
  }
  return found;
}

// Tests sit beside the code in src/; a project without TypeScript sources (the Helm chart) keeps them in tests/.
const files = ['src', 'tests']
  .map((dir) => resolve(root, projectRoot, dir))
  .filter((dir) => existsSync(dir))
  .flatMap((dir) => findTests(dir))
  .map((f) => relative(root, f))
  .sort();
const artifacts = resolve(root, 'test-artifacts', projectRoot);
rmSync(artifacts, { recursive: true, force: true });
mkdirSync(artifacts, { recursive: true });
if (files.length === 0) {
  console.error(`${projectRoot}: no test files found under src/ or tests/`);
  process.exit(1);
}

const args = [
  '--import',
  'tsx',
  '--import',
  join(root, 'scripts/test-linger-watchdog.mjs'),
  '--test',
  `--test-global-setup=${join(root, 'libs/testing/src/global-setup.ts')}`,
  `--test-concurrency=${process.env.OBIP_TEST_CONCURRENCY ?? '3'}`,
  '--test-timeout=120000',
  '--test-reporter=spec',
  '--test-reporter-destination=stdout',
  `--test-reporter=${join(root, 'scripts/count-reporter.mjs')}`,
  `--test-reporter-destination=${join(artifacts, 'summary.json')}`,
  ...extra,
  ...files,
];
const startedAt = Date.now();
const timeoutSeconds = Number(process.env.OBIP_TEST_PROJECT_TIMEOUT_SECONDS ?? '1800');
// scripts/test-all.mjs's budget, when this run is part of it.
const budgetEndsAt = Number(process.env.OBIP_TEST_DEADLINE || Infinity);
const summaryPath = join(artifacts, 'summary.json');
if (budgetEndsAt <= startedAt) {
  const reason = `${projectRoot}: not run, the test budget was spent before it started`;
  console.error(reason);
  const notRun = { passed: 0, failed: 0, skipped: 0, failures: [], suiteFailures: [reason], files: {}, seconds: 0 };
  writeFileSync(summaryPath, `${JSON.stringify(notRun)}\n`);
  process.exit(1);
}
// Its own process group, so that stopping the run stops every service and server a test started.
const child = spawn(process.execPath, args, {
  cwd: root,
  stdio: 'inherit',
  detached: true,
  env: { ...process.env, OBIP_TEST_ARTIFACTS: artifacts, OBIP_PROJECT_ROOT: projectRoot },
});
const progressPath = join(artifacts, 'progress.json');
let stopped; // why the run was stopped, and what it was running then

/** Ends the run: SIGTERM to the whole group, SIGKILL to whatever is left ten seconds later. */
function stop(reason) {
  if (stopped) return;
  const running = (readJson(progressPath)?.running ?? []).map(
    ({ name, startedAt }) => `${name} (${Math.round((Date.now() - startedAt) / 1000)} s)`,
  );
  // No test running: the global set-up or teardown (the shared Redis and MongoDB servers) is what hangs.
  const what = running.length > 0 ? running : ['no test: the global set-up or teardown'];
  stopped = `${projectRoot}: ${reason}; still running: ${what.join(', ')}`;
  console.error(`${projectRoot}: ${reason}; still running:\n${what.map((name) => `  ${name}`).join('\n')}`);
  stopGroup(child.pid, 10_000);
}

const deadline =
  budgetEndsAt < startedAt + timeoutSeconds * 1000
    ? setTimeout(() => stop('stopped when the test budget was spent'), Math.max(0, budgetEndsAt - startedAt))
    : setTimeout(() => stop(`stopped after its ${timeoutSeconds} s limit`), timeoutSeconds * 1000);
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => stop(`stopped by ${signal}`));
child.on('exit', (code, signal) => {
  clearTimeout(deadline);
  // Anything a test started and left running would otherwise outlive the run and hold its ports.
  const left = spawnSync('ps', ['-e', '-o', 'pgid=,stat=,pid=,args='], { encoding: 'utf8' })
    .stdout.split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter(([pgid, stat]) => pgid === String(child.pid) && !stat.startsWith('Z'))
    .map(([, , pid, ...command]) => `  ${pid} ${command.join(' ').slice(0, 160)}`)
    .join('\n');
  if (left) {
    console.error(`${projectRoot}: processes the tests left running, now stopped:\n${left}`);
    signalGroup(child.pid, 'SIGKILL');
  }
  // A stopped run may not have written its summary: the totals so far come from its progress.
  const summary = readJson(summaryPath) ??
    readJson(progressPath) ?? { passed: 0, failed: 0, skipped: 0, failures: [], files: {} };
  delete summary.running;
  summary.seconds = (Date.now() - startedAt) / 1000;
  if (stopped) summary.suiteFailures = [...(summary.suiteFailures ?? []), stopped];
  writeFileSync(summaryPath, `${JSON.stringify(summary)}\n`);
  process.exit(stopped ? 1 : (code ?? (signal ? 1 : 0)));
});
