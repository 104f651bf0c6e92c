import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertDeliveredAtLeastOnce } from './delivery';

test('assertDeliveredAtLeastOnce accepts one call, or a repeat for each failed attempt', () => {
  assertDeliveredAtLeastOnce({ calls: 1, failedAttempts: 0, what: 'x' });
  assertDeliveredAtLeastOnce({ calls: 2, failedAttempts: 1, what: 'x' });
  assertDeliveredAtLeastOnce({ calls: 1, failedAttempts: 3, what: 'x' }); // failures that never reached the peer
});

test('assertDeliveredAtLeastOnce refuses no call, and a repeat no failure explains, naming both counts', () => {
  assert.throws(() => assertDeliveredAtLeastOnce({ calls: 0, failedAttempts: 2, what: 'x' }), /0 call\(s\): x/);
  assert.throws(
    () => assertDeliveredAtLeastOnce({ calls: 3, failedAttempts: 1, what: 'Revoke c-1', failures: ['timed out'] }),
    /3 call\(s\): Revoke c-1, after 1 failed attempt\(s\): timed out/,
  );
});
