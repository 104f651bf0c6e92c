import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dueTimes } from './paced-load';

test('paced requests are evenly spaced over the window, its end excluded', () => {
  assert.deepEqual(dueTimes(4, 0, 1000), [0, 250, 500, 750]);
  assert.deepEqual(dueTimes(4, 300, 1000), [500, 750]);
  assert.equal(dueTimes(1000, 0, 10_000).length, 10_000);
});
