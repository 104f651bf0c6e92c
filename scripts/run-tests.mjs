#!/usr/bin/env node
// Runs one project's tests with node:test under tsx, with the shared real-dependency harness
// (Redis and a MongoDB-compatible server started once per run by libs/testing's global setup).
// Usage: node scripts/run-tests.mjs <projectRoot> [extra node --test args]
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

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
const child = spawn(process.execPath, args, {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, OBIP_TEST_ARTIFACTS: artifacts, OBIP_PROJECT_ROOT: projectRoot },
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
