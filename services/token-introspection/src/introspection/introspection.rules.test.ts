import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { consentRefusal, isPresentedByHolder, toActiveIntrospection } from './introspection.rules';
import { tokenRecord } from '../testing/introspection.harness';

describe('introspection rules', () => {
  test('a sender-constrained token is active only for the holder it names (RFC 8705 §3, RFC 9449 §7)', () => {
    const both = tokenRecord({ cnf: { 'x5t#S256': 'x5t', jkt: 'jkt' } });
    assert.equal(isPresentedByHolder(both, { certificateThumbprint: 'x5t', dpopJkt: 'jkt' }), true);
    assert.equal(isPresentedByHolder(both, { certificateThumbprint: 'x5t' }), false);
    assert.equal(isPresentedByHolder(both, { dpopJkt: 'jkt' }), false);
    assert.equal(isPresentedByHolder(both, undefined), true);
    assert.equal(isPresentedByHolder(tokenRecord(), { certificateThumbprint: 'any' }), true, 'a bearer token');
  });

  test('only an Authorised, unexpired consent of the same client keeps a token active', () => {
    const record = tokenRecord({ consentId: 'c1' });
    const now = 1_800_000_000;
    assert.equal(consentRefusal(record, { status: 'Authorised', clientId: record.clientId }, now), undefined);
    assert.equal(consentRefusal(record, undefined, now), 'consent_not_found');
    assert.equal(
      consentRefusal(record, { status: 'Revoked', clientId: record.clientId }, now),
      'consent_not_authorised',
    );
    assert.equal(
      consentRefusal(record, { status: 'Authorised', clientId: record.clientId, expiresAt: now }, now),
      'consent_expired',
    );
    assert.equal(consentRefusal(record, { status: 'Authorised', clientId: 'other' }, now), 'consent_client_mismatch');
  });

  test('an active answer leaves out what the token does not have', () => {
    const response = toActiveIntrospection(
      tokenRecord({ subject: undefined, scope: '', audience: [], tokenType: 'refresh_token' }),
    );
    assert.deepEqual(Object.keys(response), ['active', 'client_id', 'exp', 'iat', 'iss']);
  });

  test('released identity data is named per trust framework, never with its values', () => {
    const response = toActiveIntrospection(
      tokenRecord({ identityRelease: [{ trustFramework: 'uk_tfida', claims: ['given_name', 'birthdate'] }] }),
    );
    assert.deepEqual(response.verified_claims_released, [
      { trust_framework: 'uk_tfida', claims: ['given_name', 'birthdate'] },
    ]);
  });
});
