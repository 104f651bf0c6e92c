#!/usr/bin/env node
// The whole reliability suite of issue 12 in its full form, one part after another (docs/reliability.md):
// the property tests, the fault suite, the hostile-input corpus and the rate-limit flow, schemathesis
// with 200 cases per operation and phase, and the 10-minute soak (which rewrites bench/README.md).
// `npm test` runs the same suites in a bounded form. Usage: npm run reliability [-- --soak 3m]
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

const root = resolve(import.meta.dirname, '..');
const { values } = parseArgs({ options: { soak: { type: 'string', default: '10m' } } });

const tracked = (pattern) =>
  spawnSync('git', ['ls-files', pattern], { cwd: root, encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
const nodeTest = (files, concurrency) => [
  '--import',
  'tsx',
  '--test',
  `--test-concurrency=${concurrency}`,
  `--test-global-setup=${resolve(root, 'libs/testing/src/global-setup.ts')}`,
  '--test-timeout=300000',
  ...files,
];

const parts = [
  { name: 'property-based tests (fast-check)', args: nodeTest(tracked('*.property.test.ts'), 2) },
  // One file at a time: the fault suite measures how long failures and recoveries take.
  { name: 'faults', args: nodeTest(tracked('e2e/src/faults/*.test.ts'), 1) },
  {
    name: 'hostile input and rate limits',
    args: nodeTest([...tracked('e2e/src/hostile/*.test.ts'), 'e2e/src/flows/rate-limits.test.ts'], 1),
  },
  {
    name: 'API fuzzing (schemathesis, 200 cases)',
    args: ['--import', 'tsx', 'e2e/src/fuzz/main.ts', '--max-examples', '200'],
  },
  { name: `soak (${values.soak})`, args: ['--import', 'tsx', 'bench/src/soak/main.ts', '--duration', values.soak] },
];

const results = [];
for (const part of parts) {
  console.log(`\n== ${part.name} ==`);
  const started = Date.now();
  const { status } = spawnSync(process.execPath, part.args, { cwd: root, stdio: 'inherit' });
  results.push({ name: part.name, ok: status === 0, minutes: (Date.now() - started) / 60_000 });
}

console.log('\n== reliability ==');
for (const result of results) {
  console.log(`${result.ok ? 'ok    ' : 'FAILED'}  ${result.name.padEnd(40)} ${result.minutes.toFixed(1)} min`);
}
process.exitCode = results.every((result) => result.ok) ? 0 : 1;
