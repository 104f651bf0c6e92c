// Property-based tests of the engine's tls_client_auth hook (RFC 8705 §2.1.2): the subject DN of
// the certificate the edge forwarded, compared with what the client registered.
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { KoaContextWithOidc } from 'oidc-provider';
import { parseDistinguishedName, type DistinguishedName } from '@obip/fapi';
import { createClientCertificateReader } from '@obip/http';
import { mintSelfSignedCertificate, type CertificateName } from '@obip/testing';
import { createMtlsHooks, type MtlsHooks } from './mtls.certificates';

/**
 * Subjects with what makes DN comparison hard: escapes, multi-valued RDNs, Unicode, rare types.
 * Values with `"` or a leading `#` go in as `utf8String` objects, which @peculiar/x509 takes verbatim.
 */
const SUBJECTS = [
  [{ C: ['GB'] }, { O: ['OpenBanking'] }, { OU: ['0015800001041REAAY'] }, { CN: ['5Jh2Bwfzcv1cmTGcGaxVAQ'] }],
  [
    { C: ['GB'] },
    { '2.5.4.97': ['PSDGB-FCA-123456'] },
    { O: [{ utf8String: 'Bank, "Quoted" + Co' }] },
    { CN: ['tpp'], '0.9.2342.19200300.100.1.1': ['x1'] },
  ],
  [{ O: ['Café Straße'] }, { CN: [' leading and trailing '] }],
  [{ CN: [{ utf8String: '#hash;semi<less>\\' }] }],
  [{ '1.3.6.1.4.1.99999.7': ['unnamed type'] }, { CN: ['Ⅻ ﬁ'] }],
] as CertificateName[];

let hooks: MtlsHooks;
let subjects: DistinguishedName[] = [];
let contexts: KoaContextWithOidc[] = [];

/** A request as the edge forwards it, run through `capture` so the engine hooks can see it. */
function captured(pem: string): KoaContextWithOidc {
  const req = {
    rawHeaders: ['ssl-client-cert', encodeURIComponent(pem), 'ssl-client-verify', 'SUCCESS'],
    socket: { remoteAddress: '10.0.0.7' },
  } as unknown as IncomingMessage;
  let failure: unknown;
  hooks.capture(req as never, {} as never, (error?: unknown) => {
    failure = error;
  });
  assert.equal(failure, undefined);
  return { req } as unknown as KoaContextWithOidc;
}

before(async () => {
  hooks = createMtlsHooks(createClientCertificateReader({ format: 'nginx' }));
  const minted = await Promise.all(SUBJECTS.map((subject) => mintSelfSignedCertificate(subject)));
  contexts = minted.map(({ pem }) => captured(pem));
  subjects = contexts.map((ctx) => parseDistinguishedName(hooks.certificateOf(ctx.req)!.subjectDn));
});

const matches = (index: number, expected: string) =>
  hooks.engineFeature.certificateSubjectMatches(contexts[index]!, 'tls_client_auth_subject_dn', expected);

const TYPE_SPELLINGS: Record<string, readonly string[]> = {
  '2.5.4.3': ['CN', 'cn', 'commonName', 'OID.2.5.4.3'],
  '2.5.4.10': ['O', 'organizationName', '2.5.4.10'],
  '2.5.4.6': ['C', 'countryName'],
};

interface Spelling {
  typeChoice: number;
  upperValue: boolean;
  hexEscapeAll: boolean;
  spaces: boolean;
}

/** The DN written another way the matching rule forgives: type names, value case, escapes, spaces. */
function respell(dn: DistinguishedName, spelling: Spelling): string {
  const separator = spelling.spaces ? ' , ' : ',';
  return dn
    .map((rdn) =>
      rdn
        .map((ava) => {
          const names = TYPE_SPELLINGS[ava.oid] ?? [ava.oid];
          const type = names[spelling.typeChoice % names.length]!;
          const value = spelling.upperValue ? ava.value.toUpperCase() : ava.value.toLowerCase();
          const written = spelling.hexEscapeAll
            ? Array.from(Buffer.from(value, 'utf8'), (byte) => `\\${byte.toString(16).padStart(2, '0')}`).join('')
            : `"${value.replace(/["\\]/g, (ch) => `\\${ch}`)}"`;
          return `${type}${spelling.spaces ? ' = ' : '='}${written}`;
        })
        .join(spelling.spaces ? ' + ' : '+'),
    )
    .join(separator);
}

const spellingArbitrary: fc.Arbitrary<Spelling> = fc.record({
  typeChoice: fc.nat(),
  upperValue: fc.boolean(),
  hexEscapeAll: fc.boolean(),
  spaces: fc.boolean(),
});
const subjectIndex = fc.nat({ max: SUBJECTS.length - 1 });

describe('tls_client_auth_subject_dn against the forwarded certificate', () => {
  it('matches the registered DN however it is spelled', () => {
    fc.assert(
      fc.property(subjectIndex, spellingArbitrary, (index, spelling) => {
        assert.equal(matches(index, respell(subjects[index]!, spelling)), true);
      }),
      { numRuns: 300 },
    );
  });

  it('does not match a DN with one value changed, or another certificate’s DN', () => {
    fc.assert(
      fc.property(
        subjectIndex,
        subjectIndex,
        spellingArbitrary,
        fc.nat(),
        fc.constantFrom(...'xQ9-'),
        (index, other, spelling, k, ch) => {
          const changed = subjects[index]!.map((rdn) => rdn.map((ava) => ({ ...ava })));
          const flat = changed.flat();
          const ava = flat[k % flat.length]!;
          const at = k % (ava.value.length + 1);
          (ava as { value: string }).value = ava.value.slice(0, at) + ch + ava.value.slice(at);
          assert.equal(matches(index, respell(changed, spelling)), false);
          if (other !== index) assert.equal(matches(index, respell(subjects[other]!, spelling)), false);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('answers false, never throws, for any registered value and any metadata property', () => {
    fc.assert(
      fc.property(
        subjectIndex,
        fc.constantFrom(
          'tls_client_auth_subject_dn',
          'tls_client_auth_san_dns',
          'tls_client_auth_san_uri',
          'tls_client_auth_san_ip',
          'tls_client_auth_san_email',
          'unknown_property',
        ),
        fc.oneof(
          fc.string({ unit: 'binary', maxLength: 60 }),
          fc.string({ unit: fc.constantFrom(...'CN=O,+;\\"#/ @.:'), maxLength: 30 }),
        ),
        (index, property, expected) => {
          const result = hooks.engineFeature.certificateSubjectMatches(contexts[index]!, property, expected);
          assert.equal(typeof result, 'boolean');
          // These certificates have no SAN, and random text is not one of their subjects.
          if (property !== 'tls_client_auth_subject_dn') assert.equal(result, false);
        },
      ),
      { numRuns: 1_000 },
    );
  });

  it('answers false when the request carried no certificate', () => {
    fc.assert(
      fc.property(subjectIndex, spellingArbitrary, (index, spelling) => {
        const bare = { req: { rawHeaders: [], socket: {} } } as unknown as KoaContextWithOidc;
        assert.equal(
          hooks.engineFeature.certificateSubjectMatches(
            bare,
            'tls_client_auth_subject_dn',
            respell(subjects[index]!, spelling),
          ),
          false,
        );
        assert.equal(hooks.engineFeature.certificateAuthorized(bare), false);
      }),
      { numRuns: 50 },
    );
  });
});
