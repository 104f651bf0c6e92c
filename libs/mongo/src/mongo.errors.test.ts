import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConflictError, DependencyUnavailableError } from '@obip/errors';
import { isMongoUnavailableError, translateMongoError } from './mongo.errors';

function socketError(code: string): Error {
  return Object.assign(new Error('This socket has been ended by the other party'), { code });
}

test('a socket closed under the driver is an outage, not a bug', () => {
  for (const code of ['EPIPE', 'ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT']) {
    assert.equal(isMongoUnavailableError(socketError(code)), true, code);
    assert.throws(() => translateMongoError(socketError(code)), DependencyUnavailableError);
  }
});

test('a duplicate key is a conflict and an unknown error passes through unchanged', () => {
  const duplicate = Object.assign(new Error('E11000 duplicate key error'), { name: 'MongoServerError', code: 11000 });
  assert.throws(() => translateMongoError(duplicate), ConflictError);
  const bug = new TypeError('x is not a function');
  assert.throws(
    () => translateMongoError(bug),
    (error: unknown) => error === bug,
  );
  assert.equal(isMongoUnavailableError(Object.assign(new Error('nope'), { code: 'ENOENT' })), false);
});
