import assert from 'node:assert/strict';
import { test } from 'node:test';
import { selfTimeByFile, selfTimeByFunction } from './cpu-profile';

const frame = (id: number, functionName: string, url: string) => ({
  id,
  callFrame: { functionName, url, lineNumber: 9 },
});

test('self time is counted per function and per file from the samples', () => {
  const profile = {
    nodes: [
      frame(1, '(root)', ''),
      frame(2, 'parse', 'node:internal/x'),
      frame(3, 'find', 'node:internal/x'),
      frame(4, '', 'node:y'),
    ],
    samples: [2, 2, 2, 3, 4, 2, 3, 2],
  };
  assert.deepEqual(selfTimeByFunction(profile), [
    { frame: 'parse (node:internal/x:10)', percent: 62.5 },
    { frame: 'find (node:internal/x:10)', percent: 25 },
    { frame: '(anonymous) (node:y:10)', percent: 12.5 },
  ]);
  assert.deepEqual(selfTimeByFile(profile)[0], { frame: 'node:internal/x', percent: 87.5 });
});
