import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DomainError } from '@obip/errors';
import {
  type DistinguishedName,
  distinguishedNamesEqual,
  formatDistinguishedName,
  normalizeDistinguishedName,
  parseDistinguishedName,
} from './distinguished-name';

/** Each RDN as `type=value` pairs, for short assertions. */
function pairs(dn: DistinguishedName): string[][] {
  return dn.map((rdn) => rdn.map((ava) => `${ava.type}=${ava.value}`));
}

function assertInvalidDn(fn: () => unknown, label: string): void {
  assert.throws(
    fn,
    (error: unknown) => error instanceof DomainError && error.code === 'invalid_dn' && error.kind === 'bad_request',
    label,
  );
}

describe('parseDistinguishedName', () => {
  it('reads the RFC 4514 comma form in the order written', () => {
    assert.deepEqual(pairs(parseDistinguishedName('CN=tpp,O=Bank,C=GB')), [['CN=tpp'], ['O=Bank'], ['C=GB']]);
  });

  it('reads backslash escapes of special characters', () => {
    assert.deepEqual(pairs(parseDistinguishedName('CN=Smith\\, John,O=A\\+B\\;C\\\\D\\"E\\<F\\>\\=')), [
      ['CN=Smith, John'],
      ['O=A+B;C\\D"E<F>='],
    ]);
  });

  it('reads hex escapes as UTF-8 bytes', () => {
    assert.deepEqual(pairs(parseDistinguishedName('CN=caf\\C3\\A9,O=a\\2Cb')), [['CN=café'], ['O=a,b']]);
  });

  it('keeps a leading U+FEFF in a value, however it is spelled', () => {
    for (const spelling of ['CN=\uFEFFtpp', 'CN=\\EF\\BB\\BFtpp', 'CN=#0C06EFBBBF747070']) {
      assert.deepEqual(pairs(parseDistinguishedName(spelling)), [['CN=\uFEFFtpp']], spelling);
      // Printing keeps it too (comparison, per RFC 4518 §2.2, maps U+FEFF to nothing).
      assert.equal(formatDistinguishedName(parseDistinguishedName(spelling)), 'CN=\uFEFFtpp', spelling);
    }
  });

  it('reads quoted values with separators inside (RFC 2253 §4)', () => {
    assert.deepEqual(pairs(parseDistinguishedName('CN="Smith, John; +1",O=Bank')), [
      ['CN=Smith, John; +1'],
      ['O=Bank'],
    ]);
  });

  it('reads multi-valued RDNs joined with +', () => {
    assert.deepEqual(pairs(parseDistinguishedName('CN=tpp+UID=123,O=Bank')), [['CN=tpp', 'UID=123'], ['O=Bank']]);
  });

  it('ignores whitespace around separators and accepts ; between RDNs', () => {
    assert.deepEqual(pairs(parseDistinguishedName('  CN = tpp  +  UID = 1 , O = Big Bank ; C=GB  ')), [
      ['CN=tpp', 'UID=1'],
      ['O=Big Bank'],
      ['C=GB'],
    ]);
  });

  it('keeps escaped leading and trailing spaces and an escaped leading #', () => {
    assert.deepEqual(pairs(parseDistinguishedName('CN=\\ tpp\\ ,O=\\#1')), [['CN= tpp '], ['O=#1']]);
  });

  it('matches attribute types case-insensitively and by alias or OID', () => {
    for (const dn of ['CN=a', 'cn=a', 'commonName=a', 'COMMONNAME=a', '2.5.4.3=a', 'OID.2.5.4.3=a', 'oid.2.5.4.3=a']) {
      const ava = parseDistinguishedName(dn)[0]?.[0];
      assert.deepEqual([ava?.type, ava?.oid], ['CN', '2.5.4.3'], dn);
    }
    assert.deepEqual(pairs(parseDistinguishedName('2.5.4.97=PSDGB-FCA-123456,0.9.2342.19200300.100.1.1=x,st=Kent')), [
      ['organizationIdentifier=PSDGB-FCA-123456'],
      ['UID=x'],
      ['ST=Kent'],
    ]);
  });

  it('decodes a #hex value that holds a string and keeps other #hex values as bytes', () => {
    // 0C 03 "tpp": UTF8String; 04 01 FF: OCTET STRING, which has no string form.
    const dn = parseDistinguishedName('CN=#0C03747070,1.2.3.4=#0401FF');
    assert.deepEqual(pairs(dn), [['CN=tpp'], ['1.2.3.4=#0401ff']]);
    assert.deepEqual(
      dn.map(([ava]) => ava?.isHex),
      [false, true],
    );
  });

  it('reads the OpenSSL slash form and returns it in RFC 4514 order', () => {
    assert.deepEqual(pairs(parseDistinguishedName('/C=GB/O=Bank/CN=tpp')), [['CN=tpp'], ['O=Bank'], ['C=GB']]);
  });

  it('keeps slashes, commas and plus signs that are not followed by a type in slash-form values', () => {
    assert.deepEqual(pairs(parseDistinguishedName('/O=Foo, Inc. +1/CN=https://tpp.example/a')), [
      ['CN=https://tpp.example/a'],
      ['O=Foo, Inc. +1'],
    ]);
  });

  it('reads multi-valued RDNs and \\xHH bytes in the slash form', () => {
    assert.deepEqual(pairs(parseDistinguishedName('/O=Bank/CN=caf\\xC3\\xA9+UID=1')), [
      ['CN=café', 'UID=1'],
      ['O=Bank'],
    ]);
  });

  it('reads an empty string as the empty DN', () => {
    assert.deepEqual(parseDistinguishedName('   '), []);
  });

  it('refuses malformed input with invalid_dn', () => {
    const malformed = [
      'CN',
      'CN=a,',
      'CN=a,,O=b',
      '=a',
      'CN=a+',
      'FOO=bar',
      'CN="unterminated',
      'CN="a"b',
      'CN=a"b',
      'CN=a\\',
      'CN=a\\zz',
      'CN=\\C3',
      'CN=#abc',
      'CN=#zz',
      'CN=#0C05747070',
      '2.05.4.3=a',
      '/=a',
      '/CN=a\\',
      `CN=${'a'.repeat(9000)}`,
    ];
    for (const dn of malformed) assertInvalidDn(() => parseDistinguishedName(dn), dn);
    assertInvalidDn(() => parseDistinguishedName(42 as unknown as string), 'a number');
  });
});

describe('normalizeDistinguishedName', () => {
  it('writes types by their short name, without spaces, in RFC 4514 order', () => {
    assert.equal(normalizeDistinguishedName(' commonName = tpp ; o=Bank '), 'CN=tpp,O=Bank');
    assert.equal(
      normalizeDistinguishedName('/C=GB/2.5.4.97=PSDGB-FCA-1/CN=tpp'),
      'CN=tpp,organizationIdentifier=PSDGB-FCA-1,C=GB',
    );
  });

  it('escapes what RFC 4514 §2.4 requires and sorts the pairs of a multi-valued RDN by OID', () => {
    assert.equal(normalizeDistinguishedName('CN=a\\,b+UID=\\#1,O=" x "'), 'UID=\\#1+CN=a\\,b,O=\\ x\\ ');
    assert.equal(normalizeDistinguishedName('CN=a\\0Ab'), 'CN=a\\0Ab');
  });

  it('keeps the case of values and gives the same result when applied twice', () => {
    for (const dn of ['CN=Tpp Ltd,O=Bank', 'CN="a;b"+UID=\\ 1', '/C=GB/CN=caf\\xC3\\xA9', '1.2.3.4=#0401FF']) {
      const once = normalizeDistinguishedName(dn);
      assert.equal(normalizeDistinguishedName(once), once, dn);
    }
    assert.equal(normalizeDistinguishedName('CN=Tpp Ltd'), 'CN=Tpp Ltd');
  });

  it('formats a parsed DN back to the same string', () => {
    assert.equal(formatDistinguishedName(parseDistinguishedName('CN=tpp+UID=1,O=Bank')), 'CN=tpp+UID=1,O=Bank');
  });
});

describe('distinguishedNamesEqual', () => {
  it('compares values case-insensitively after collapsing whitespace', () => {
    assert.equal(distinguishedNamesEqual('CN=TPP  Ltd,O=Bank', 'cn=tpp ltd , o=BANK'), true);
    assert.equal(distinguishedNamesEqual('CN=a b', 'CN=ab'), false);
  });

  it('matches types by OID whatever the spelling', () => {
    assert.equal(distinguishedNamesEqual('commonName=tpp,2.5.4.10=Bank', 'CN=tpp,O=Bank'), true);
  });

  it('treats escaped, hex-escaped, quoted and #hex spellings of a value as equal', () => {
    for (const other of ['CN=a\\2Cb', 'CN="a,b"', 'CN=#0C03612C62']) {
      assert.equal(distinguishedNamesEqual('CN=a\\,b', other), true, other);
    }
  });

  it('applies Unicode compatibility normalisation', () => {
    assert.equal(distinguishedNamesEqual('CN=\uFB01nance', 'CN=finance'), true);
  });

  it('is order-sensitive by default and order-insensitive on request', () => {
    assert.equal(distinguishedNamesEqual('C=GB,O=Bank,CN=tpp', 'CN=tpp,O=Bank,C=GB'), false);
    assert.equal(distinguishedNamesEqual('C=GB,O=Bank,CN=tpp', 'CN=tpp,O=Bank,C=GB', { orderInsensitive: true }), true);
  });

  it('equates the slash form with the comma form of the same name without any option', () => {
    assert.equal(distinguishedNamesEqual('/C=GB/O=Bank/CN=tpp', 'CN=tpp, O=Bank, C=GB'), true);
  });

  it('ignores the order of pairs inside a multi-valued RDN but never merges separate RDNs', () => {
    assert.equal(distinguishedNamesEqual('CN=a+UID=1,O=b', 'UID=1+CN=a,O=b'), true);
    assert.equal(distinguishedNamesEqual('CN=a+UID=1', 'CN=a,UID=1', { orderInsensitive: true }), false);
  });

  it('refuses a different number of RDNs even when one is a prefix of the other', () => {
    assert.equal(distinguishedNamesEqual('CN=a', 'CN=a,O=b'), false);
    assert.equal(distinguishedNamesEqual('CN=a,O=b,O=b', 'CN=a,CN=a,O=b', { orderInsensitive: true }), false);
  });

  it('never matches an empty DN, not even another empty one', () => {
    assert.equal(distinguishedNamesEqual('', ''), false);
    assert.equal(distinguishedNamesEqual([], 'CN=a'), false);
  });

  it('throws invalid_dn when either side is malformed', () => {
    assertInvalidDn(() => distinguishedNamesEqual('CN=a', 'CN=a,'), 'trailing comma');
  });
});
