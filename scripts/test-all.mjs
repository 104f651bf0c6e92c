#!/usr/bin/env node
// The full test command (README quick start, .ci/run): static checks and every project's suite
// through Nx, then one closing line `N passed, N failed, N skipped` summing all of them.
// Each lint/typecheck/build/format check counts as one test; each node:test case counts as one.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const env = { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false', FORCE_COLOR: '0' };
const nx = join(root, 'node_modules/.bin/nx');
// CI runs every suite for real: Nx keeps its cache outside the workspace too (e.g. under /tmp/.nx),
// so a fresh clone on a reused machine would otherwise replay earlier results.
const cacheArgs = process.env.CI === 'true' ? ['--skip-nx-cache'] : [];

function run(command, args) {
  const started = Date.now();
  const result = spawnSync(command, args, {
    cwd: root,
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 1 << 28,
  });
  process.stdout.write(result.stdout ?? '');
  process.stderr.write(result.stderr ?? '');
  return {
    ok: result.status === 0,
    output: `${result.stdout ?? ''}\n${result.stderr ?? ''}`,
    seconds: (Date.now() - started) / 1000,
  };
}

function failedTasks(output) {
  // Nx lists failed tasks as "- project:target" lines after "Failed tasks:".
  const block = output.split(/Failed tasks:/)[1] ?? '';
  return new Set([...block.matchAll(/^\s*-\s+([\w@/.-]+:[\w-]+)/gm)].map((match) => match[1]));
}

// Project name → root, read from the project.json files Nx itself reads.
const projectRoots = new Map(
  ['libs', 'services', 'charts']
    .flatMap((dir) => readdirSync(join(root, dir)).map((name) => `${dir}/${name}`))
    .concat(['e2e', 'bench'])
    .filter((projectRoot) => existsSync(join(root, projectRoot, 'project.json')))
    .map((projectRoot) => [
      JSON.parse(readFileSync(join(root, projectRoot, 'project.json'), 'utf8')).name,
      projectRoot,
    ]),
);
const projects = [...projectRoots.keys()].sort();
const rows = [];
const totals = { passed: 0, failed: 0, skipped: 0 };
const failures = [];

console.log('\n== format, lint, typecheck, build ==');
const format = run(join(root, 'node_modules/.bin/prettier'), ['--check', '.', '--log-level', 'warn']);
rows.push(['workspace', 'format', format.ok ? 'ok' : 'FAILED']);
if (format.ok) totals.passed += 1;
else {
  totals.failed += 1;
  failures.push('workspace:format (run npm run format)');
}
const staticTargets = ['lint', 'typecheck', 'build'];
const staticRun = run(nx, ['run-many', '-t', ...staticTargets, '--parallel=2', '--outputStyle=stream', ...cacheArgs]);
const staticFailed = failedTasks(staticRun.output);
if (!staticRun.ok && staticFailed.size === 0) staticFailed.add('nx:run-many');
for (const project of projects) {
  for (const target of staticTargets) {
    const failed = staticFailed.has(`${project}:${target}`);
    rows.push([project, target, failed ? 'FAILED' : 'ok']);
    if (failed) {
      totals.failed += 1;
      failures.push(`${project}:${target}`);
    } else totals.passed += 1;
  }
}
if (staticFailed.has('nx:run-many')) {
  totals.failed += 1;
  failures.push('nx run-many (lint/typecheck/build) failed without naming a task');
}

console.log('\n== tests ==');
const testRun = run(nx, ['run-many', '-t', 'test', '--parallel=2', '--outputStyle=stream', ...cacheArgs]);
const testFailed = failedTasks(testRun.output);
for (const project of projects) {
  const summaryPath = join(root, 'test-artifacts', projectRoots.get(project), 'summary.json');
  const summary = existsSync(summaryPath) ? JSON.parse(readFileSync(summaryPath, 'utf8')) : undefined;
  if (!summary) {
    totals.failed += 1;
    failures.push(`${project}:test produced no results`);
    rows.push([project, 'test', 'NO RESULTS']);
    continue;
  }
  totals.passed += summary.passed;
  totals.failed += summary.failed;
  totals.skipped += summary.skipped;
  failures.push(...summary.failures, ...(summary.suiteFailures ?? []));
  if (testFailed.has(`${project}:test`) && summary.failed === 0) {
    totals.failed += 1;
    failures.push(`${project}:test exited non-zero`);
  }
  rows.push([project, 'test', `${summary.passed} passed, ${summary.failed} failed, ${summary.skipped} skipped`]);
}

// The end-to-end suite per flow: what a reader of CI output looks for first.
const e2eSummaryPath = join(root, 'test-artifacts', 'e2e', 'summary.json');
if (existsSync(e2eSummaryPath)) {
  const files = Object.entries(JSON.parse(readFileSync(e2eSummaryPath, 'utf8')).files ?? {}).sort();
  console.log('\n== end-to-end flows ==');
  const nameWidth = Math.max(4, ...files.map(([file]) => file.length));
  console.log(`${'flow'.padEnd(nameWidth)}  passed  failed  skipped  seconds`);
  for (const [file, counts] of files) {
    console.log(
      `${file.padEnd(nameWidth)}  ${String(counts.passed).padStart(6)}  ${String(counts.failed).padStart(6)}  ` +
        `${String(counts.skipped).padStart(7)}  ${counts.seconds.toFixed(1).padStart(7)}`,
    );
  }
}

console.log('\n== summary ==');
const width = Math.max(...rows.map(([project]) => project.length));
for (const [project, target, outcome] of rows) console.log(`${project.padEnd(width)}  ${target.padEnd(9)}  ${outcome}`);
if (failures.length > 0) console.log(`\nfailed:\n${failures.map((failure) => `  ${failure}`).join('\n')}`);
console.log(`\n${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
process.exit(totals.failed === 0 ? 0 : 1);
