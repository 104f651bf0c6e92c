import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { issuerDnOf, subjectDnOf } from './certificate-names';
import { decodeDirectoryString } from './der';
import { distinguishedNamesEqual } from './distinguished-name';
import { mintSelfSignedCertificate as mintCertificate } from '@obip/testing';

describe('subjectDnOf and issuerDnOf', () => {
  it('print the subject in RFC 4514 order with multi-valued RDNs, escapes and organizationIdentifier', async () => {
    const { certificate } = await mintCertificate([
      { C: ['GB'] },
      { '2.5.4.97': ['PSDGB-FCA-123456'] },
      { O: ['Test Bank'] },
      { CN: ['tpp, Ltd'], '0.9.2342.19200300.100.1.1': ['x1'] },
    ]);
    assert.equal(
      subjectDnOf(certificate),
      'CN=tpp\\, Ltd+UID=x1,O=Test Bank,organizationIdentifier=PSDGB-FCA-123456,C=GB',
    );
  });

  it('give a subject that equals the forms nginx renders for the same certificate', async () => {
    const { certificate } = await mintCertificate([
      { C: ['GB'] },
      { O: ['Test Bank'] },
      { OU: ['tpp-1'] },
      { CN: ['tpp'] },
    ]);
    const subject = subjectDnOf(certificate);
    assert.equal(distinguishedNamesEqual(subject, 'CN=tpp,OU=tpp-1,O=Test Bank,C=GB'), true); // $ssl_client_s_dn
    assert.equal(distinguishedNamesEqual(subject, '/C=GB/O=Test Bank/OU=tpp-1/CN=tpp'), true); // …_dn_legacy
  });

  it('keep non-ASCII text as UTF-8 characters', async () => {
    const { certificate } = await mintCertificate([{ CN: ['café ☕'] }]);
    assert.equal(subjectDnOf(certificate), 'CN=café ☕');
  });

  it('read the issuer, which for a self-signed certificate is the subject', async () => {
    const { certificate } = await mintCertificate([{ O: ['Bank'] }, { CN: ['root'] }]);
    assert.equal(issuerDnOf(certificate), 'CN=root,O=Bank');
    assert.equal(issuerDnOf(certificate), subjectDnOf(certificate));
  });
});

describe('directory strings in certificates', () => {
  it('keep a leading U+FEFF in a UTF8String and a BMPString, as OpenSSL does', () => {
    const utf8 = Uint8Array.from([0x0c, 0x06, 0xef, 0xbb, 0xbf, 0x74, 0x70, 0x70]);
    assert.equal(decodeDirectoryString(utf8, { tag: 0x0c, offset: 0, start: 2, end: 8 }), '\uFEFFtpp');
    const bmp = Uint8Array.from([0x1e, 0x04, 0xfe, 0xff, 0x00, 0x41]);
    assert.equal(decodeDirectoryString(bmp, { tag: 0x1e, offset: 0, start: 2, end: 6 }), '\uFEFFA');
  });
});
