// Property-based tests of reading subject and issuer names out of certificates: generated
// subjects minted into real certificates, and certificates with damaged DER.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { before, describe, it } from 'node:test';
import fc from 'fast-check';
import { DomainError } from '@obip/errors';
import { type CertificateName, type SelfSignedCertificate, mintSelfSignedCertificate } from '@obip/testing';
import { issuerDnOf, subjectDnOf } from './certificate-names';
import { distinguishedNamesEqual, formatDistinguishedName, parseDistinguishedName } from './distinguished-name';
import { type ModelDn, modelDnArbitrary } from './testing/distinguished-name.arbitraries';

type StringType = 'utf8String' | 'bmpString' | 'universalString' | 'printableString';
const stringTypes = fc.array(
  fc.constantFrom<StringType>('utf8String', 'bmpString', 'universalString', 'printableString'),
  {
    minLength: 16,
    maxLength: 16,
  },
);

/**
 * The model in @peculiar/x509's JSON form: ASN.1 order, one object per RDN, values by OID, each
 * written as the given directory string type where that type can hold it (else UTF8String;
 * @peculiar/x509 writes characters beyond the BMP correctly only as UTF8String).
 */
function toCertificateName(model: ModelDn, types: readonly StringType[]): CertificateName {
  let index = 0;
  return [...model].reverse().map((rdn) => {
    const values: Record<string, Array<Partial<Record<StringType, string>>>> = {};
    for (const { oid, value } of rdn) {
      const wanted = types[index++ % types.length]!;
      const type =
        (wanted === 'printableString' && !/^[A-Za-z0-9 '()+,\-./:=?]*$/.test(value)) ||
        (wanted !== 'utf8String' && /[\u{10000}-\u{10ffff}]/u.test(value))
          ? 'utf8String'
          : wanted;
      (values[oid] ??= []).push({ [type]: value });
    }
    return values;
  }) as CertificateName;
}

/** Each RDN as a sorted list of `oid=value`: a SET's order in DER is the encoder's choice. */
function rdnSets(model: ReadonlyArray<ReadonlyArray<{ oid: string; value: string }>>): string[][] {
  return model.map((rdn) => rdn.map(({ oid, value }) => `${oid}=${JSON.stringify(value)}`).sort());
}

/** Runs `fn`; a refusal must be the typed `invalid_dn` DomainError, anything else fails. */
function parsesOrRefuses<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch (error) {
    assert.ok(error instanceof DomainError, `threw ${(error as Error)?.constructor?.name}: ${String(error)}`);
    assert.equal(error.code, 'invalid_dn');
    return undefined;
  }
}

describe('certificate names: generated subjects', () => {
  it('print as RFC 4514 strings that parse back to exactly the minted subject', async () => {
    await fc.assert(
      fc.asyncProperty(modelDnArbitrary(1), stringTypes, async (model, types) => {
        const { certificate } = await mintSelfSignedCertificate(toCertificateName(model, types));
        const subject = subjectDnOf(certificate);
        assert.deepEqual(rdnSets(parseDistinguishedName(subject)), rdnSets(model));
        assert.equal(issuerDnOf(certificate), subject, 'a self-signed certificate names itself as issuer');
        assert.equal(distinguishedNamesEqual(subject, subject), true);
      }),
      { numRuns: 25 },
    );
  });
});

/** Sixteen bytes of the subject's CN that the properties below overwrite, tag included. */
const PLACEHOLDER = Buffer.from('PLACEHOLDER-0123');

describe('certificate names: damaged certificates', () => {
  let minted: SelfSignedCertificate;
  let template: SelfSignedCertificate;
  before(async () => {
    minted = await mintSelfSignedCertificate([
      { C: ['GB'] },
      { O: ['Test Bank'] },
      { CN: ['tpp, one'], '0.9.2342.19200300.100.1.1': ['x1'] },
    ]);
    template = await mintSelfSignedCertificate([
      { O: ['Test Bank'] },
      { CN: [{ utf8String: PLACEHOLDER.toString() }] },
    ] as unknown as CertificateName);
  });

  it('whose subject holds any string type with any bytes are read or refused with invalid_dn', () => {
    // A self-signed certificate names itself twice: the issuer first, then the subject.
    const places = [template.der.indexOf(PLACEHOLDER), template.der.lastIndexOf(PLACEHOLDER)];
    assert.notEqual(places[0], places[1]);
    fc.assert(
      fc.property(
        fc.constantFrom(0x0c, 0x12, 0x13, 0x14, 0x16, 0x1a, 0x1c, 0x1e, 0x04, 0x03),
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        fc.constantFrom(...places),
        (tag, content, at) => {
          const der = Buffer.from(template.der);
          der[at - 2] = tag; // the length (16) stays, so the DER structure stays whole
          der.set(content, at);
          let certificate: X509Certificate;
          try {
            certificate = new X509Certificate(der);
          } catch {
            return; // OpenSSL itself refuses some (e.g. a UTF8String that is not UTF-8)
          }
          for (const read of [subjectDnOf, issuerDnOf]) {
            const name = parsesOrRefuses(() => read(certificate));
            // What is printed reads back as itself: the printed form is already canonical.
            if (name !== undefined) assert.equal(formatDistinguishedName(parseDistinguishedName(name)), name);
          }
        },
      ),
      { numRuns: 1_000 },
    );
  });

  it('are read or refused with invalid_dn, never another error, whatever bits are flipped', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 7 })), { minLength: 1, maxLength: 4 }),
        (flips) => {
          const der = Buffer.from(minted.der);
          for (const [at, bit] of flips) der[at % der.length]! ^= 1 << bit;
          let certificate: X509Certificate;
          try {
            certificate = new X509Certificate(der);
          } catch {
            return; // OpenSSL refused it; nothing reaches the name reader
          }
          for (const read of [subjectDnOf, issuerDnOf])
            parsesOrRefuses(() => parseDistinguishedName(read(certificate)));
        },
      ),
      { numRuns: 1_000 },
    );
  });
});
