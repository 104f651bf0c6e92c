// Property-based tests of the client-certificate header reader, called directly (it needs only
// `rawHeaders` and `socket`): every edge format round-trips real certificates, arbitrary header
// values and damaged certificates are refused with the typed invalid_client and nothing else.
import assert from 'node:assert/strict';
import { X509Certificate, createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { before, describe, it } from 'node:test';
import fc from 'fast-check';
import { DomainError } from '@obip/errors';
import { certificateThumbprintS256, subjectDnOf } from '@obip/fapi';
import { createTestPki, derToPem, mintSelfSignedCertificate } from '@obip/testing';
import {
  type ClientCertificate,
  type ClientCertificateHeaderFormat,
  createClientCertificateReader,
} from './client-certificate';

const FORMATS: readonly ClientCertificateHeaderFormat[] = ['nginx', 'xfcc', 'traefik', 'rfc9440'];
const EDGE_ADDRESS = '10.0.0.7';
const readers = Object.fromEntries(
  FORMATS.map((format) => [format, createClientCertificateReader({ format, trustedProxyCidrs: ['10.0.0.0/8'] })]),
) as Record<ClientCertificateHeaderFormat, ReturnType<typeof createClientCertificateReader>>;

/** What the reader sees of a request: its header lines, as Node keeps them, and the TCP peer. */
function requestWith(headers: ReadonlyArray<readonly [string, string]>): IncomingMessage {
  return { rawHeaders: headers.flat(), socket: { remoteAddress: EDGE_ADDRESS } } as unknown as IncomingMessage;
}

/** Reads; a refusal must be the typed 401 invalid_client, anything else thrown fails the property. */
function readOrRefuse(
  format: ClientCertificateHeaderFormat,
  headers: ReadonlyArray<readonly [string, string]>,
): ClientCertificate | undefined | 'refused' {
  try {
    return readers[format](requestWith(headers));
  } catch (error) {
    assert.ok(error instanceof DomainError, `threw ${(error as Error)?.constructor?.name}: ${String(error)}`);
    assert.equal(error.code, 'invalid_client');
    assert.equal(error.kind, 'unauthorized');
    return 'refused';
  }
}

// ---- how each edge writes a certificate (with the variations each one allows) ----

interface Encoding {
  /** nginx: upper- or lower-case %XX, or encodeURIComponent's lighter escaping. */
  escaping: 'nginx' | 'lower-hex' | 'uri-component';
  lineEnding: '\n' | '\r\n';
  finalNewline: boolean;
  headerCase: 'lower' | 'upper' | 'mixed';
  /** xfcc: quote the Cert value, add Hash, add other fields, key case. */
  quoteCert: boolean;
  withHash: boolean;
  hashCase: 'lower' | 'upper';
  extraFields: string[];
  fieldOrder: number;
  /** traefik: follow the leaf with its chain; Traefik 2.8–2.9.1 URL-escaping. */
  chain: boolean;
  urlEscaped: boolean;
  /** rfc9440: optional whitespace around the item (RFC 8941 parsing strips it). */
  padding: [number, number];
}

const encodingArbitrary: fc.Arbitrary<Encoding> = fc.record({
  escaping: fc.constantFrom('nginx', 'lower-hex', 'uri-component'),
  lineEnding: fc.constantFrom('\n', '\r\n'),
  finalNewline: fc.boolean(),
  headerCase: fc.constantFrom('lower', 'upper', 'mixed'),
  quoteCert: fc.boolean(),
  withHash: fc.boolean(),
  hashCase: fc.constantFrom('lower', 'upper'),
  extraFields: fc.subarray([
    'By=spiffe://cluster.local/ns/obip/sa/auth-server',
    'Subject="CN=tpp, one,O=Bank;x=\\"y\\""',
    'URI=spiffe://tpp.example/x',
    'DNS=tpp.example',
    'DNS=other.example',
  ]),
  fieldOrder: fc.nat(),
  chain: fc.boolean(),
  urlEscaped: fc.boolean(),
  padding: fc.tuple(fc.nat({ max: 2 }), fc.nat({ max: 2 })),
});

const SIMPLE_ENCODING: Encoding = {
  escaping: 'nginx',
  lineEnding: '\n',
  finalNewline: true,
  headerCase: 'lower',
  quoteCert: true,
  withHash: true,
  hashCase: 'lower',
  extraFields: [],
  fieldOrder: 0,
  chain: false,
  urlEscaped: false,
  padding: [0, 0],
};

function headerName(name: string, encoding: Encoding): string {
  if (encoding.headerCase === 'upper') return name.toUpperCase();
  if (encoding.headerCase === 'mixed')
    return name.replace(/(^|-)([a-z])/g, (_, dash: string, ch: string) => dash + ch.toUpperCase());
  return name;
}

function pemOf(der: Buffer, encoding: Encoding): string {
  const pem = derToPem(der).trimEnd().replace(/\n/g, encoding.lineEnding);
  return encoding.finalNewline ? pem + encoding.lineEnding : pem;
}

function urlEscape(text: string, escaping: Encoding['escaping']): string {
  if (escaping === 'uri-component') return encodeURIComponent(text);
  return text.replace(/[^A-Za-z0-9\-._~]/g, (ch) => {
    const hex = ch.charCodeAt(0).toString(16).padStart(2, '0');
    return `%${escaping === 'nginx' ? hex.toUpperCase() : hex}`;
  });
}

/** The header lines an edge of `format` sends for a leaf certificate `der` (and `chain` behind it). */
function encodeHeaders(
  format: ClientCertificateHeaderFormat,
  der: Buffer,
  encoding: Encoding,
  chainDer: Buffer,
): Array<[string, string]> {
  switch (format) {
    case 'nginx':
      return [
        [headerName('ssl-client-cert', encoding), urlEscape(pemOf(der, encoding), encoding.escaping)],
        [headerName('ssl-client-verify', encoding), 'SUCCESS'],
      ];
    case 'xfcc': {
      const escaped = encodeURIComponent(pemOf(der, encoding));
      const hash = createHash('sha256').update(der).digest('hex');
      const fields = [
        `${encoding.headerCase === 'upper' ? 'CERT' : 'Cert'}=${encoding.quoteCert ? `"${escaped}"` : escaped}`,
        ...(encoding.withHash ? [`Hash=${encoding.hashCase === 'upper' ? hash.toUpperCase() : hash}`] : []),
        ...encoding.extraFields,
      ];
      const shift = encoding.fieldOrder % fields.length;
      return [
        [
          headerName('x-forwarded-client-cert', encoding),
          [...fields.slice(shift), ...fields.slice(0, shift)].join(';'),
        ],
      ];
    }
    case 'traefik': {
      const value = [der, ...(encoding.chain ? [chainDer] : [])].map((part) => part.toString('base64')).join(',');
      return [
        [headerName('x-forwarded-tls-client-cert', encoding), encoding.urlEscaped ? encodeURIComponent(value) : value],
      ];
    }
    case 'rfc9440': {
      const [left, right] = encoding.padding;
      return [
        [headerName('client-cert', encoding), `${' '.repeat(left)}:${der.toString('base64')}:${' '.repeat(right)}`],
      ];
    }
  }
}

// ---- the certificate pool ----

let pool: Buffer[] = [];
const poolIndex = fc.nat({ max: 5 });
const formatArbitrary = fc.constantFrom(...FORMATS);

before(async () => {
  const pki = await createTestPki({ name: 'property' });
  const tpp = await pki.issueTppCertificate({ orgId: '0015800001041REAAY', softwareId: 'SwProperty1' });
  const ecTpp = await pki.issueTppCertificate({ orgId: '0015800001041REAAY', softwareId: 'SwProperty2', keyAlg: 'EC' });
  const minted = await Promise.all([
    mintSelfSignedCertificate([{ C: ['GB'] }, { O: ['Test TPP'] }, { CN: ['tpp, one'] }]),
    mintSelfSignedCertificate([{ CN: ['tpp "quoted" +;<>'], '0.9.2342.19200300.100.1.1': ['x1'] }]),
    mintSelfSignedCertificate([{ '2.5.4.97': ['PSDGB-FCA-123456'] }, { CN: ['café 𝄞 '] }]),
    mintSelfSignedCertificate([]),
  ]);
  pool = [
    new X509Certificate(tpp.certPem).raw,
    new X509Certificate(ecTpp.certPem).raw,
    ...minted.map((certificate) => certificate.der),
  ];
});

function assertIsCertificate(
  presented: ReturnType<typeof readOrRefuse>,
  der: Buffer,
): asserts presented is ClientCertificate {
  assert.ok(presented && presented !== 'refused', 'the certificate was not read');
  assert.ok(presented.certificate.raw.equals(der), 'a different certificate was read');
  assert.equal(presented.thumbprintS256, createHash('sha256').update(der).digest('base64url'));
  assert.equal(presented.thumbprintS256, certificateThumbprintS256(new X509Certificate(der)));
  assert.equal(presented.subjectDn, subjectDnOf(new X509Certificate(der)));
}

describe('client certificate headers: round trip', () => {
  it('reads back exactly the certificate each edge format encodes', () => {
    fc.assert(
      fc.property(formatArbitrary, poolIndex, poolIndex, encodingArbitrary, (format, index, chainIndex, encoding) => {
        const der = pool[index]!;
        assertIsCertificate(readOrRefuse(format, encodeHeaders(format, der, encoding, pool[chainIndex]!)), der);
      }),
      { numRuns: 400 },
    );
  });
});

// ---- arbitrary header values ----

const headerText = fc.oneof(
  fc.string({ unit: 'binary-ascii', maxLength: 200 }),
  fc.string({ unit: 'binary', maxLength: 100 }),
  fc.string({ unit: fc.constantFrom(...'%0123456789ABCDEFabcdef-:;,="\\ \r\n+/'), maxLength: 120 }),
  fc.base64String({ maxLength: 400 }),
  fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes).toString('base64')),
  fc.uint8Array({ maxLength: 300 }).map((bytes) => encodeURIComponent(derToPem(Buffer.from(bytes)))),
  fc.uint8Array({ maxLength: 300 }).map((bytes) => `:${Buffer.from(bytes).toString('base64')}:`),
);

/** Header lines a client or a broken edge might send, for any format's headers. */
const arbitraryHeaders = fc.array(
  fc.tuple(
    fc.constantFrom(
      'ssl-client-cert',
      'SSL-Client-Cert',
      'ssl-client-verify',
      'ssl_client_cert',
      'x-forwarded-client-cert',
      'x-forwarded-tls-client-cert',
      'client-cert',
    ),
    fc.oneof(headerText, fc.constantFrom('SUCCESS', 'NONE', 'FAILED:x', '')),
  ),
  { maxLength: 4 },
);

describe('client certificate headers: arbitrary input', () => {
  it('is read as no certificate or refused with invalid_client, never another error', () => {
    fc.assert(
      fc.property(formatArbitrary, arbitraryHeaders, (format, headers) => {
        const presented = readOrRefuse(format, headers);
        // Random text never spells a certificate by chance; were one read, it would be a real X.509.
        if (presented && presented !== 'refused') assert.ok(presented.certificate.raw.length > 0);
      }),
      { numRuns: 2_000 },
    );
  });

  it('refuses an nginx certificate unless ssl-client-verify is exactly SUCCESS', () => {
    fc.assert(
      fc.property(poolIndex, encodingArbitrary, headerText, (index, encoding, verify) => {
        fc.pre(verify !== 'SUCCESS');
        const [certificate] = encodeHeaders('nginx', pool[index]!, encoding, pool[0]!);
        assert.equal(readOrRefuse('nginx', [certificate!, ['ssl-client-verify', verify]]), 'refused');
      }),
      {
        numRuns: 300,
        examples: [
          [0, { ...SIMPLE_ENCODING }, 'SUCCESS, FAILED:x'],
          [0, { ...SIMPLE_ENCODING }, 'success'],
        ],
      },
    );
  });

  it('refuses an XFCC element whose Hash is not the digest of its Cert', () => {
    fc.assert(
      fc.property(poolIndex, poolIndex, encodingArbitrary, (index, other, encoding) => {
        fc.pre(index !== other);
        const [[name, value]] = encodeHeaders('xfcc', pool[index]!, { ...encoding, withHash: false }, pool[0]!) as [
          [string, string],
        ];
        const foreignHash = createHash('sha256').update(pool[other]!).digest('hex');
        assert.equal(readOrRefuse('xfcc', [[name, `${value};Hash=${foreignHash}`]]), 'refused');
      }),
      { numRuns: 200 },
    );
  });

  it('refuses a certificate header from a peer outside the trusted proxies, whatever it holds', () => {
    fc.assert(
      fc.property(formatArbitrary, poolIndex, encodingArbitrary, fc.ipV4(), (format, index, encoding, address) => {
        fc.pre(!address.startsWith('10.'));
        const req = requestWith(encodeHeaders(format, pool[index]!, encoding, pool[0]!));
        (req.socket as { remoteAddress: string }).remoteAddress = address;
        assert.throws(
          () => readers[format](req),
          (error: unknown) => error instanceof DomainError && error.code === 'invalid_client',
        );
      }),
      { numRuns: 200 },
    );
  });
});

// ---- damaged certificates ----

const damageArbitrary = fc.oneof(
  fc.record({
    kind: fc.constant('flip' as const),
    flips: fc.array(fc.tuple(fc.nat(), fc.nat({ max: 7 })), { minLength: 1, maxLength: 3 }),
  }),
  fc.record({ kind: fc.constant('truncate' as const), keep: fc.nat() }),
  fc.record({ kind: fc.constant('append' as const), extra: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
);

describe('client certificate headers: damaged certificates', () => {
  it('are refused, or read as exactly the bytes sent: never silently as another certificate', () => {
    fc.assert(
      fc.property(formatArbitrary, poolIndex, encodingArbitrary, damageArbitrary, (format, index, encoding, damage) => {
        const original = pool[index]!;
        let der: Buffer;
        if (damage.kind === 'flip') {
          der = Buffer.from(original);
          for (const [at, bit] of damage.flips) der[at % der.length]! ^= 1 << bit;
        } else if (damage.kind === 'truncate') {
          der = original.subarray(0, damage.keep % original.length);
        } else {
          der = Buffer.concat([original, damage.extra]);
        }
        fc.pre(!der.equals(original));
        // The damage happens before the edge encodes: xfcc's Hash is the digest of the damaged DER.
        const presented = readOrRefuse(format, encodeHeaders(format, der, { ...encoding, chain: false }, original));
        if (presented === 'refused') return;
        // Cut to nothing, an empty header (Traefik's, RFC 9440's) is no certificate at all.
        if (presented === undefined && der.length === 0) return;
        assertIsCertificate(presented, der);
        assert.notEqual(presented.thumbprintS256, createHash('sha256').update(original).digest('base64url'));
      }),
      { numRuns: 600 },
    );
  });

  it('cut short anywhere in the header value are refused, or read as the same certificate', () => {
    fc.assert(
      fc.property(formatArbitrary, poolIndex, encodingArbitrary, fc.nat(), (format, index, encoding, cut) => {
        const der = pool[index]!;
        const headers = encodeHeaders(format, der, encoding, pool[0]!);
        const [name, value] = headers[0]!;
        const truncated: Array<[string, string]> = [[name, value.slice(0, cut % value.length)], ...headers.slice(1)];
        const presented = readOrRefuse(format, truncated);
        // Dropping only insignificant trailing text (a final newline, a chain entry) keeps the leaf.
        if (presented && presented !== 'refused') assertIsCertificate(presented, der);
      }),
      { numRuns: 600 },
    );
  });
});
