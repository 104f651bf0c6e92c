// Hostile client-certificate headers in every format auth-server reads (CLIENT_CERT_HEADER_FORMAT:
// ingress-nginx, Envoy/Istio XFCC, Traefik, RFC 9440), sent straight to auth-server's own port
// as a proxy of that kind would. One real auth-server process per format, started one at a time
// (a CI machine has two cores), on the shared Redis and MongoDB-compatible server; the nginx one
// also has TRUSTED_PROXY_CIDRS. auth-server reads the certificate on every route before anything
// else, so discovery is the probe: one well-formed header is read and the request answered 200,
// anything else is refused with 401 invalid_client before the engine runs. The nginx format
// through the edge twin and the engine's use of the certificate (binding, client authentication)
// are covered in auth-server.hostile.test.ts.
import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { get } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  attachServerLogsOnFailure,
  createTestPki,
  serviceMongoEnv,
  startServiceProcess,
  testMongoUrl,
  testRedisPrefix,
  testRedisUrl,
  type IssuedCertificate,
  type ServiceProcess,
} from '@obip/testing';
import { assertRefused, getWith, type Answer, type HeaderLines } from './auth-server.hostile';

type Format = 'nginx' | 'xfcc' | 'traefik' | 'rfc9440';
const FORMATS: readonly Format[] = ['nginx', 'xfcc', 'traefik', 'rfc9440'];
const ISSUER = 'https://bank.example';

let state: string;
let leaf: IssuedCertificate;
const processes = new Map<string, ServiceProcess>();

attachServerLogsOnFailure({
  sources: FORMATS.map((format) => ({
    name: `auth-server (${format})`,
    logs: () => processes.get(format)?.output() ?? '',
  })),
});

before(async () => {
  state = mkdtempSync(join(tmpdir(), 'obip-cert-formats-'));
  leaf = await (
    await createTestPki()
  ).issueTppCertificate({ orgId: '0015800001041REAAY', softwareId: 'hostileCertFormats' });
});

after(() => {
  if (state) rmSync(state, { recursive: true, force: true });
});

/**
 * auth-server alone, for the tests of one describe: its peers (dcr-service, consent-service) are
 * reached lazily, and not here.
 */
function withAuthServer(format: Format, env: Record<string, string> = {}): void {
  before(async () => {
    processes.set(
      format,
      await startServiceProcess({
        entry: 'services/auth-server/src/main.ts',
        // Generous: on a loaded two-core machine tsx alone takes seconds to load the service.
        timeoutMs: 90_000,
        env: {
          ...serviceMongoEnv(testMongoUrl(`certs_${format}`)),
          REDIS_URL: testRedisUrl(),
          REDIS_KEY_PREFIX: testRedisPrefix(`certs_${format}`),
          HTTP_PORT: '0',
          GRPC_PORT: '0',
          OPS_PORT: '0',
          ISSUER,
          MTLS_BASE_URL: 'https://mtls.bank.example',
          DEV_KEYS_DIR: join(state, format),
          CLIENT_CERT_HEADER_FORMAT: format,
          ...env,
        },
      }),
    );
  });
  after(async () => {
    const process = processes.get(format);
    if (!process) return;
    process.child.kill('SIGTERM');
    await process.exited;
  });
}

/** A GET from another local address (node:http binds it; undici's agent does not). */
function getFrom(localAddress: string, url: string, headers: HeaderLines): Promise<Answer> {
  // Header lines as a flat list, so nothing is merged; Node then adds no Host of its own.
  const lines: HeaderLines = [['host', new URL(url).host], ...headers];
  return new Promise((resolve, reject) => {
    const request = get(url, { localAddress, headers: lines.flatMap(([name, value]) => [name, value]) }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => {
        let body: Record<string, unknown> = {};
        try {
          body = JSON.parse(text) as Record<string, unknown>;
        } catch {
          // not JSON
        }
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body, text });
      });
    });
    request.on('error', reject);
  });
}

const discovery = (name: string) =>
  `http://127.0.0.1:${processes.get(name)!.ports.http}/.well-known/openid-configuration`;

const der = () => new X509Certificate(leaf.certPem).raw;
const base64Der = () => der().toString('base64');
const hexHash = () => createHash('sha256').update(der()).digest('hex');
const xfccElement = (pem = leaf.certPem) =>
  `Hash=${hexHash()};Cert="${encodeURIComponent(pem)}";Subject="CN=hostileCertFormats,O=OpenBanking"`;

/** What a well-behaved proxy of each kind sends for the verified certificate. */
const wellFormed: Record<Format, () => HeaderLines> = {
  nginx: () => [
    ['ssl-client-cert', encodeURIComponent(leaf.certPem)],
    ['ssl-client-verify', 'SUCCESS'],
  ],
  xfcc: () => [['x-forwarded-client-cert', xfccElement()]],
  traefik: () => [['x-forwarded-tls-client-cert', base64Der()]],
  rfc9440: () => [['client-cert', `:${base64Der()}:`]],
};

/** Garbage in each format's headers. */
const garbage: Record<Format, HeaderLines> = {
  nginx: [
    ['ssl-client-cert', 'garbage'],
    ['ssl-client-verify', 'SUCCESS'],
  ],
  xfcc: [['x-forwarded-client-cert', 'Cert="garbage"']],
  traefik: [['x-forwarded-tls-client-cert', '!!!']],
  rfc9440: [['client-cert', ':!!!:']],
};

/** Garbage headers of every format but `format`: a format that is not configured is never read. */
const foreignGarbage = (format: Format): HeaderLines =>
  FORMATS.filter((other) => other !== format).flatMap((other) => garbage[other]);

const hostile: Record<Format, Array<[string, () => HeaderLines]>> = {
  nginx: [
    [
      'the certificate header repeated',
      () => [...wellFormed.nginx(), ['ssl-client-cert', encodeURIComponent(leaf.certPem)]],
    ],
    [
      'ssl-client-verify FAILED beside a certificate',
      () => [
        ['ssl-client-cert', encodeURIComponent(leaf.certPem)],
        ['ssl-client-verify', 'FAILED:self-signed'],
      ],
    ],
    [
      'ssl-client-verify NONE beside a certificate',
      () => [
        ['ssl-client-cert', encodeURIComponent(leaf.certPem)],
        ['ssl-client-verify', 'NONE'],
      ],
    ],
    [
      'a value that is not PEM',
      () => [
        ['ssl-client-cert', base64Der()],
        ['ssl-client-verify', 'SUCCESS'],
      ],
    ],
  ],
  xfcc: [
    ['the header repeated', () => [...wellFormed.xfcc(), ['x-forwarded-client-cert', xfccElement()]]],
    // APPEND_FORWARD: the client's own element comes first, the edge's after it.
    [
      'two elements (a client-supplied one forwarded with APPEND_FORWARD)',
      () => [['x-forwarded-client-cert', `${xfccElement()},${xfccElement()}`]],
    ],
    [
      'a Hash that does not match the Cert',
      () => [['x-forwarded-client-cert', xfccElement().replace(/^Hash=[0-9a-f]+/, `Hash=${'0'.repeat(64)}`)]],
    ],
    ['no Cert field', () => [['x-forwarded-client-cert', `Hash=${hexHash()};Subject="CN=x"`]]],
    [
      'the Cert field repeated',
      () => [['x-forwarded-client-cert', `${xfccElement()};Cert="${encodeURIComponent(leaf.certPem)}"`]],
    ],
    [
      'an unterminated quoted value',
      () => [['x-forwarded-client-cert', `Hash=${hexHash()};Cert="${encodeURIComponent(leaf.certPem)}`]],
    ],
    ['the chain in Cert', () => [['x-forwarded-client-cert', `Cert="${encodeURIComponent(leaf.chainPem)}"`]]],
  ],
  traefik: [
    ['the header repeated', () => [...wellFormed.traefik(), ['x-forwarded-tls-client-cert', base64Der()]]],
    ['PEM armour instead of bare base64 DER', () => [['x-forwarded-tls-client-cert', leaf.certPem.replace(/\n/g, '')]]],
    [
      'characters outside base64',
      () => [['x-forwarded-tls-client-cert', `${base64Der().slice(0, 40)}*$${base64Der().slice(40)}`]],
    ],
    [
      'bytes after the DER',
      () => [['x-forwarded-tls-client-cert', Buffer.concat([der(), Buffer.from('tail')]).toString('base64')]],
    ],
    [
      'base64 of something that is not a certificate',
      () => [['x-forwarded-tls-client-cert', Buffer.from('not a certificate').toString('base64')]],
    ],
  ],
  rfc9440: [
    ['the header repeated', () => [...wellFormed.rfc9440(), ['client-cert', `:${base64Der()}:`]]],
    ['no sf-binary colons', () => [['client-cert', base64Der()]]],
    [
      'characters outside base64 inside the colons',
      () => [['client-cert', `:${base64Der().slice(0, 40)}*${base64Der().slice(40)}:`]],
    ],
    [
      'a byte sequence that is not a certificate',
      () => [['client-cert', `:${Buffer.from('not a certificate').toString('base64')}:`]],
    ],
    ['two certificates in one item list', () => [['client-cert', `:${base64Der()}:, :${base64Der()}:`]]],
  ],
};

for (const format of FORMATS) {
  describe(`CLIENT_CERT_HEADER_FORMAT=${format}`, () => {
    // The ingress is 127.0.0.1 here; a peer at another loopback address stands for anyone else.
    withAuthServer(format, format === 'nginx' ? { TRUSTED_PROXY_CIDRS: '127.0.0.1/32' } : {});

    test('control: one well-formed header is read and the request served', async () => {
      const answer = await getWith(discovery(format), wellFormed[format]());
      assert.equal(answer.status, 200, answer.text);
      assert.equal(answer.body.issuer, ISSUER);
    });

    test('headers of the other formats, even garbage, are not read', async () => {
      const answer = await getWith(discovery(format), foreignGarbage(format));
      assert.equal(answer.status, 200, answer.text);
    });

    for (const [name, headers] of hostile[format]) {
      test(`${name}: 401 invalid_client`, async () => {
        assertRefused(await getWith(discovery(format), headers()), 401, 'invalid_client');
      });
    }

    test('an oversized header (20 KiB): 431, no 5xx', async () => {
      const name = wellFormed[format]()[0]![0];
      assertRefused(await getWith(discovery(format), [[name, 'A'.repeat(20 * 1024)]]), 431, undefined);
    });

    if (format === 'nginx') {
      test('TRUSTED_PROXY_CIDRS: a well-formed header from a peer outside the ranges: 401 invalid_client', async () => {
        assertRefused(await getFrom('127.0.0.2', discovery(format), wellFormed.nginx()), 401, 'invalid_client');
        // The same peer without certificate headers is served: only the headers are refused.
        assert.equal((await getFrom('127.0.0.2', discovery(format), [])).status, 200);
      });
    }
  });
}
