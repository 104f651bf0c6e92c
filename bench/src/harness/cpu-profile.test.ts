import assert from 'node:assert/strict';
import { test } from 'node:test';
import { selfTimeByFile, selfTimeByFunction, withinWindow } from './cpu-profile';

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

test('a window keeps only the samples taken within it, on the monotonic clock', () => {
  const profile = {
    nodes: [frame(1, 'boot', 'node:a'), frame(2, 'serve', 'node:b')],
    samples: [1, 1, 2, 2, 2, 1],
    startTime: 1_000,
    timeDeltas: [10, 10, 10, 10, 10, 10],
  };
  const narrowed = withinWindow(profile, { fromMicros: 1_025, toMicros: 1_050 });
  assert.deepEqual(narrowed.samples, [2, 2, 2]);
  assert.equal(withinWindow(profile, undefined), profile);
});
