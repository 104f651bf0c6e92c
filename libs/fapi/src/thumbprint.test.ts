import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mintSelfSignedCertificate as mintCertificate } from '@obip/testing';
import { certificateThumbprintS256 } from './thumbprint';

describe('certificateThumbprintS256', () => {
  it('is the unpadded base64url SHA-256 of the DER bytes (RFC 8705 §3.1)', () => {
    // SHA-256("abc") = ba7816bf…f20015ad (FIPS 180-2 appendix B.1)
    assert.equal(certificateThumbprintS256(Buffer.from('abc')), 'ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0');
  });

  it('gives the same thumbprint for a certificate object and its DER', async () => {
    const { der, certificate } = await mintCertificate([{ CN: ['tpp'] }]);
    const thumbprint = certificateThumbprintS256(certificate);
    assert.equal(thumbprint, certificateThumbprintS256(der));
    assert.match(thumbprint, /^[A-Za-z0-9_-]{43}$/);
  });
});
