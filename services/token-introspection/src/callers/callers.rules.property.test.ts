// Property-based tests of how a resource server's mTLS certificate is matched to its
// registration (RFC 8705 §2.1.2 tls_client_auth_subject_dn, §2.2.2 self-signed key sets).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { formatDistinguishedName, type AttributeTypeAndValue } from '@obip/fapi';
import {
  type PresentedCertificate,
  type RegisteredCaller,
  hasRegisteredSubjectDn,
  isCertificateInKeySet,
} from './callers.rules';

/** Attribute types as a certificate subject prints them, with the other spellings of each. */
const TYPES = [
  { oid: '2.5.4.3', type: 'CN', spellings: ['CN', 'cn', 'commonName', '2.5.4.3', 'OID.2.5.4.3'] },
  { oid: '2.5.4.11', type: 'OU', spellings: ['OU', 'ou', 'organizationalUnitName', '2.5.4.11'] },
  { oid: '2.5.4.10', type: 'O', spellings: ['O', 'o', 'organizationName', '2.5.4.10'] },
  { oid: '2.5.4.6', type: 'C', spellings: ['C', 'c', 'countryName', '2.5.4.6'] },
  { oid: '2.5.4.97', type: 'organizationIdentifier', spellings: ['organizationIdentifier', '2.5.4.97'] },
] as const;

interface Attribute {
  kind: number;
  value: string;
}

const valueArbitrary = fc.string({ unit: fc.constantFrom(...'abcXYZ019 ,+;"\\#=-éß'), minLength: 1, maxLength: 12 });
/** A subject: one to five single-valued RDNs, RFC 4514 order. */
const subjectArbitrary = fc.array(fc.record({ kind: fc.nat({ max: TYPES.length - 1 }), value: valueArbitrary }), {
  minLength: 1,
  maxLength: 5,
});

function presented(subject: Attribute[]): PresentedCertificate {
  const dn = subject.map(({ kind, value }): AttributeTypeAndValue[] => [
    { type: TYPES[kind]!.type, oid: TYPES[kind]!.oid, value, isHex: false },
  ]);
  return { subjectDn: formatDistinguishedName(dn), thumbprintS256: 'unused' };
}

function callerWith(dn: string | undefined): RegisteredCaller {
  return { clientId: 'rs-1', active: true, metadata: {}, ...(dn === undefined ? {} : { tlsClientAuthSubjectDn: dn }) };
}

/** RFC 4514 escaping, with the value wrapped in spaces and a case changed: the same DN to the matching rule. */
function spell(subject: Attribute[], choices: number[], reverse: boolean): string {
  const parts = subject.map(({ kind, value }, index) => {
    const choice = choices[index % choices.length]!;
    const spellings = TYPES[kind]!.spellings;
    const chars = Array.from(value);
    const escaped = chars
      .map((ch, at) =>
        '"+,;<>\\'.includes(ch) || (at === 0 && (ch === ' ' || ch === '#')) || (at === chars.length - 1 && ch === ' ')
          ? `\\${ch}`
          : ch,
      )
      .join('');
    const cased = choice % 2 === 0 ? escaped.toUpperCase() : escaped.toLowerCase();
    return `${spellings[choice % spellings.length]} = ${cased}`;
  });
  return (reverse ? parts.reverse() : parts).join(' , ');
}

describe('tls_client_auth subject DN of an introspecting resource server', () => {
  it('matches the certificate in any spelling, case and RDN order', () => {
    fc.assert(
      fc.property(
        subjectArbitrary,
        fc.array(fc.nat(), { minLength: 5, maxLength: 5 }),
        fc.boolean(),
        (subject, choices, reverse) => {
          assert.equal(hasRegisteredSubjectDn(callerWith(spell(subject, choices, reverse)), presented(subject)), true);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('does not match when one value, type or RDN differs', () => {
    fc.assert(
      fc.property(subjectArbitrary, fc.nat(), fc.constantFrom('value', 'type', 'drop', 'add'), (subject, k, change) => {
        const other = subject.map((attribute) => ({ ...attribute }));
        const target = other[k % other.length]!;
        if (change === 'value') target.value = `${target.value}q`;
        if (change === 'type') target.kind = (target.kind + 1 + (k % (TYPES.length - 1))) % TYPES.length;
        if (change === 'drop') other.splice(k % other.length, 1);
        if (change === 'add') other.push({ kind: 0, value: 'extra' });
        fc.pre(other.length > 0);
        // Only a change the matching rule sees: compare the RDNs as case-folded sets.
        const key = (attributes: Attribute[]) =>
          JSON.stringify(attributes.map(({ kind, value }) => `${kind}=${value.trim().toLowerCase()}`).sort());
        fc.pre(key(other) !== key(subject));
        assert.equal(hasRegisteredSubjectDn(callerWith(spell(other, [0], false)), presented(subject)), false);
      }),
      { numRuns: 500 },
    );
  });

  it('never throws on whatever was registered: a DN that does not parse matches nothing', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: 'binary', maxLength: 80 }),
          fc.string({ unit: fc.constantFrom(...'CN=O,+;\\"#/ 0a'), maxLength: 40 }),
        ),
        subjectArbitrary,
        (registered, subject) => {
          assert.equal(typeof hasRegisteredSubjectDn(callerWith(registered), presented(subject)), 'boolean');
        },
      ),
      {
        numRuns: 1_000,
        examples: [
          ['', [{ kind: 0, value: 'a' }]],
          ['CN=a\\', [{ kind: 0, value: 'a' }]],
        ],
      },
    );
    assert.equal(hasRegisteredSubjectDn(callerWith(undefined), presented([{ kind: 0, value: 'a' }])), false);
  });
});

describe('self_signed_tls_client_auth key set of an introspecting resource server', () => {
  it('holds the certificate exactly when a key names its x5t#S256 or carries it as the x5c leaf', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 64 }),
        fc.uint8Array({ minLength: 1, maxLength: 64 }),
        fc.nat({ max: 2 }),
        (der, other, form) => {
          fc.pre(!Buffer.from(der).equals(Buffer.from(other)));
          const thumbprint = createHash('sha256').update(der).digest('base64url');
          const certificate = { subjectDn: 'CN=rs', thumbprintS256: thumbprint };
          const otherKey = { kty: 'EC', x5c: [Buffer.from(other).toString('base64')] };
          const ownKey =
            form === 0
              ? { kty: 'EC', 'x5t#S256': thumbprint }
              : { kty: 'EC', x5c: [Buffer.from(der).toString('base64'), Buffer.from(other).toString('base64')] };
          assert.equal(
            isCertificateInKeySet({ keys: form === 2 ? [otherKey] : [otherKey, ownKey] }, certificate),
            form !== 2,
          );
        },
      ),
      { numRuns: 300 },
    );
  });
});
