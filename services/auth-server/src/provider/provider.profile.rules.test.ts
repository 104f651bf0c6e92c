import { test } from 'node:test';
import assert from 'node:assert/strict';
import { engineProfileOf, isParRequiredByDefault, requireProfileMetadata } from './provider.profile.rules';

test('FAPI 2.0 Security Profile clients must use PAR and get certificate-bound tokens', () => {
  const metadata = requireProfileMetadata(
    { client_id: 'c', require_pushed_authorization_requests: false },
    'fapi2-security',
  );
  assert.equal(metadata.require_pushed_authorization_requests, true);
  assert.equal(metadata.tls_client_certificate_bound_access_tokens, true);
  assert.equal(metadata.require_signed_request_object, undefined);
  assert.equal(engineProfileOf('fapi2-security'), '2.0');
});

test('a FAPI 2.0 client registered for DPoP keeps DPoP binding instead of mTLS binding', () => {
  const metadata = requireProfileMetadata({ dpop_bound_access_tokens: true }, 'fapi2-security');
  assert.equal(metadata.tls_client_certificate_bound_access_tokens, undefined);
  assert.equal(metadata.dpop_bound_access_tokens, true);
});

test('FAPI 1.0 Advanced clients must sign request objects and always get certificate-bound tokens', () => {
  const metadata = requireProfileMetadata({ dpop_bound_access_tokens: true }, 'fapi1-advanced');
  assert.equal(metadata.require_signed_request_object, true);
  assert.equal(metadata.tls_client_certificate_bound_access_tokens, true);
  assert.equal(metadata.require_pushed_authorization_requests, undefined);
  assert.equal(engineProfileOf('fapi1-advanced'), '1.0 Final');
});

test('Message Signing requires both PAR and signed request objects', () => {
  const metadata = requireProfileMetadata({}, 'fapi2-message-signing');
  assert.equal(metadata.require_pushed_authorization_requests, true);
  assert.equal(metadata.require_signed_request_object, true);
});

test('with requirements.parForFapi1, FAPI 1.0 Advanced clients must use PAR as well, and discovery says so', () => {
  const metadata = requireProfileMetadata({ require_pushed_authorization_requests: false }, 'fapi1-advanced', {
    parForFapi1: true,
  });
  assert.equal(metadata.require_pushed_authorization_requests, true);
  assert.equal(metadata.require_signed_request_object, true);
  assert.equal(isParRequiredByDefault({ defaultProfile: 'fapi1-advanced', parForFapi1: false }), false);
  assert.equal(isParRequiredByDefault({ defaultProfile: 'fapi1-advanced', parForFapi1: true }), true);
  assert.equal(isParRequiredByDefault({ defaultProfile: 'fapi2-security', parForFapi1: false }), true);
});
