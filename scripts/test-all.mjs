#!/usr/bin/env node
// The full test command (README quick start, .ci/run): static checks and every project's suite
// through Nx, then one closing line `N passed, N failed, N skipped` summing all of them.
// Each lint/typecheck/build/format check counts as one test; each node:test case counts as one.
//
// Output streams as it comes, so a CI log shows how far a run got. The whole command keeps within
// OBIP_TEST_BUDGET_SECONDS (default 4800, inside CI's 90 minutes), counted from OBIP_TEST_STARTED_AT
// (epoch ms; .ci/run sets it before set-up) or else from now: past it, the test run is stopped,
// each project says what it was still running, and the closing line is printed anyway.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readJson, stopGroup } from './script-helpers.mjs';

const root = resolve(import.meta.dirname, '..');
const env = { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false', FORCE_COLOR: '0' };
const nx = join(root, 'node_modules/.bin/nx');
// CI runs every suite for real: Nx keeps its cache outside the workspace too (e.g. under /tmp/.nx),
// so a fresh clone on a reused machine would otherwise replay earlier results.
const cacheArgs = process.env.CI === 'true' ? ['--skip-nx-cache'] : [];

const startedAt = Number(process.env.OBIP_TEST_STARTED_AT || Date.now());
const deadline = startedAt + Number(process.env.OBIP_TEST_BUDGET_SECONDS ?? '4800') * 1000;
// Each project's run stops itself at the deadline and says what it was running
// (scripts/run-tests.mjs); stopping the whole command group a minute later is the backstop.
env.OBIP_TEST_DEADLINE = String(deadline);
const BACKSTOP_MS = 60_000;

/** Runs a command in its own process group, streaming its output, and stops the group at the deadline. */
function run(command, args) {
  return new Promise((resolvePromise) => {
    const child = spawn(command, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    for (const [stream, sink] of [
      [child.stdout, process.stdout],
      [child.stderr, process.stderr],
    ]) {
      stream.setEncoding('utf8');
      stream.on('data', (chunk) => {
        sink.write(chunk);
        output += chunk;
      });
    }
    let outOfTime = false;
    const budget = setTimeout(
      () => {
        outOfTime = true;
        console.error(
          `\ntest-all: the ${Math.round((deadline - startedAt) / 1000)} s budget is spent; stopping ${command.split('/').pop()}`,
        );
        stopGroup(child.pid, 30_000);
      },
      Math.max(0, deadline + BACKSTOP_MS - Date.now()),
    );
    child.on('exit', (code) => {
      clearTimeout(budget);
      // A process the command left behind may hold its output open: wait for it only briefly.
      const drained = setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
      }, 5_000);
      child.on('close', () => {
        clearTimeout(drained);
        resolvePromise({ ok: code === 0 && !outOfTime, outOfTime, output });
      });
    });
  });
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
const format = await run(join(root, 'node_modules/.bin/prettier'), ['--check', '.', '--log-level', 'warn']);
rows.push(['workspace', 'format', format.ok ? 'ok' : 'FAILED']);
if (format.ok) totals.passed += 1;
else {
  totals.failed += 1;
  failures.push('workspace:format (run npm run format)');
}
const staticTargets = ['lint', 'typecheck', 'build'];
const staticRun = await run(nx, [
  'run-many',
  '-t',
  ...staticTargets,
  '--parallel=2',
  '--outputStyle=stream',
  ...cacheArgs,
]);
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
// Results of an earlier run must not stand in for a project this one never reached.
rmSync(join(root, 'test-artifacts'), { recursive: true, force: true });
const testRun = await run(nx, ['run-many', '-t', 'test', '--parallel=2', '--outputStyle=stream', ...cacheArgs]);
const testFailed = failedTasks(testRun.output);
if (testRun.outOfTime) {
  totals.failed += 1;
  failures.push('the test run was stopped when the budget was spent (OBIP_TEST_BUDGET_SECONDS)');
}
for (const project of projects) {
  const summary = readJson(join(root, 'test-artifacts', projectRoots.get(project), 'summary.json'));
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
  const seconds = summary.seconds === undefined ? '' : ` (${Math.round(summary.seconds)} s)`;
  rows.push([
    project,
    'test',
    `${summary.passed} passed, ${summary.failed} failed, ${summary.skipped} skipped${seconds}`,
  ]);
}

// The end-to-end suite per flow: what a reader of CI output looks for first.
const e2eSummary = readJson(join(root, 'test-artifacts', 'e2e', 'summary.json'));
if (e2eSummary) {
  const files = Object.entries(e2eSummary.files ?? {}).sort();
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
