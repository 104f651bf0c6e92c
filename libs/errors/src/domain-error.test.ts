import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BadRequestError,
  DependencyUnavailableError,
  DomainError,
  NotFoundError,
  UnauthorizedError,
  isDomainError,
  toDomainError,
} from './index';

test('a domain error carries its wire code, kind, safe description and cause', () => {
  const cause = new Error('driver said something internal');
  const error = new DomainError({
    code: 'invalid_client_metadata',
    kind: 'bad_request',
    description: 'redirect_uris must be https',
    cause,
  });
  assert.equal(error.code, 'invalid_client_metadata');
  assert.equal(error.kind, 'bad_request');
  assert.equal(error.description, 'redirect_uris must be https');
  assert.equal(error.cause, cause);
  assert.equal(error.expose, true);
  assert.equal(error.name, 'DomainError');
});

test('internal errors are not exposed unless said otherwise', () => {
  assert.equal(new DomainError({ code: 'x', kind: 'internal', description: 'd' }).expose, false);
  assert.equal(new DomainError({ code: 'x', kind: 'bad_request', description: 'd', expose: false }).expose, false);
});

test('common errors have stable default codes that callers may override', () => {
  assert.equal(new BadRequestError('bad').code, 'invalid_request');
  assert.equal(new UnauthorizedError('who?').code, 'invalid_client');
  assert.equal(new UnauthorizedError('token', { code: 'invalid_token' }).code, 'invalid_token');
  assert.equal(new NotFoundError('gone').kind, 'not_found');
  const unavailable = new DependencyUnavailableError('redis did not answer');
  assert.equal(unavailable.kind, 'unavailable');
  assert.equal(unavailable.code, 'temporarily_unavailable');
  assert.ok(unavailable instanceof DependencyUnavailableError && unavailable instanceof DomainError);
  assert.equal(unavailable.name, 'DependencyUnavailableError');
});

test('response headers travel with the error', () => {
  const error = new UnauthorizedError('no token', { headers: { 'WWW-Authenticate': 'Bearer error="invalid_token"' } });
  assert.deepEqual(error.headers, { 'WWW-Authenticate': 'Bearer error="invalid_token"' });
});

test('anything that is not a domain error becomes an unexposed server_error keeping its cause', () => {
  const thrown = new TypeError('cannot read properties of undefined');
  const error = toDomainError(thrown);
  assert.equal(error.code, 'server_error');
  assert.equal(error.kind, 'internal');
  assert.equal(error.expose, false);
  assert.equal(error.cause, thrown);
  assert.ok(!error.description.includes('undefined'));
  const known = new BadRequestError('bad');
  assert.equal(toDomainError(known), known);
  assert.equal(isDomainError(known), true);
  assert.equal(isDomainError(thrown), false);
});
