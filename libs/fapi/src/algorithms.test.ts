import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FAPI2_SIGNING_ALGS, FAPI_SIGNING_ALGS, TOKEN_ENDPOINT_AUTH_METHODS, isAllowedSigningAlg } from './algorithms';

describe('signing algorithm allow-lists', () => {
  it('allows PS256 and ES256 under FAPI 1.0 Advanced and refuses EdDSA', () => {
    assert.deepEqual([...FAPI_SIGNING_ALGS], ['PS256', 'ES256']);
    assert.equal(isAllowedSigningAlg('PS256', 'fapi1'), true);
    assert.equal(isAllowedSigningAlg('ES256', 'fapi1'), true);
    assert.equal(isAllowedSigningAlg('EdDSA', 'fapi1'), false);
  });

  it('also allows EdDSA under FAPI 2.0', () => {
    assert.deepEqual([...FAPI2_SIGNING_ALGS], ['PS256', 'ES256', 'EdDSA']);
    assert.equal(isAllowedSigningAlg('EdDSA', 'fapi2'), true);
  });

  it('refuses none, HMAC, RS256, other spellings and non-strings under every profile', () => {
    for (const profile of ['fapi1', 'fapi2'] as const) {
      for (const alg of ['none', 'HS256', 'RS256', 'ps256', 'PS256 ', '', undefined, null, 256, ['PS256']]) {
        assert.equal(isAllowedSigningAlg(alg, profile), false, `${String(alg)} under ${profile}`);
      }
    }
  });

  it('lists only private_key_jwt and the two mutual TLS methods for token endpoint authentication', () => {
    assert.deepEqual([...TOKEN_ENDPOINT_AUTH_METHODS].sort(), [
      'private_key_jwt',
      'self_signed_tls_client_auth',
      'tls_client_auth',
    ]);
  });
});
