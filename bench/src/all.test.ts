import assert from 'node:assert/strict';
import { readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { scenarioTargets } from './all';
import { repoRoot } from './harness/processes';

test('bench:all runs every scenario with a main.ts, the soak only when asked', () => {
  const scenarios = readdirSync(join(repoRoot, 'bench/src'), { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(repoRoot, 'bench/src', entry.name, 'main.ts')))
    .map((entry) => `node --import tsx bench/src/${entry.name}/main.ts`)
    .sort();
  assert.deepEqual(
    scenarioTargets(true)
      .map(({ command }) => command)
      .sort(),
    scenarios,
  );
  assert.ok(!scenarioTargets(false).some(({ target }) => target === 'bench:soak'));
  assert.equal(scenarioTargets(false).length, scenarios.length - 1);
});
