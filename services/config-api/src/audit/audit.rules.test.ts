import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { diff, redact, REDACTED } from './audit.rules';

describe('audit diff', () => {
  it('lists leaf changes as dotted paths, additions and removals included', () => {
    assert.deepEqual(diff({ a: { b: 1, c: 2 }, gone: true }, { a: { b: 1, c: 3 }, added: 'x' }), [
      { path: 'a.c', before: 2, after: 3 },
      { path: 'added', after: 'x' },
      { path: 'gone', before: true },
    ]);
  });

  it('treats an array as one value', () => {
    assert.deepEqual(diff({ algs: ['PS256', 'ES256'] }, { algs: ['ES256', 'PS256'] }), [
      { path: 'algs', before: ['PS256', 'ES256'], after: ['ES256', 'PS256'] },
    ]);
  });

  it('never carries a secret: JWK private members and secret-named fields are redacted', () => {
    const before = { jwk: { kty: 'EC', x: 'pub', d: 'private-scalar' }, clientSecret: 'old', accessTokenSeconds: 300 };
    const after = {
      jwk: { kty: 'EC', x: 'pub', d: 'new-private-scalar' },
      clientSecret: 'new',
      accessTokenSeconds: 600,
    };
    const changes = diff(before, after);
    assert.deepEqual(changes, [
      { path: 'accessTokenSeconds', before: 300, after: 600 },
      { path: 'clientSecret', before: REDACTED, after: REDACTED },
      { path: 'jwk.d', before: REDACTED, after: REDACTED },
    ]);
    assert.ok(!JSON.stringify(redact(after)).includes('new-private-scalar'));
    assert.equal((redact(after) as { clientSecret: string }).clientSecret, REDACTED);
  });
});
