import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { DomainError } from '@obip/errors';
import { type ClientCertificateReaderOptions, createClientCertificateReader } from './client-certificate';
import { clientCertificate } from './client-certificate.middleware';
import { errorHandler } from './error-handler';
import {
  type SelfSignedCertificate as MintedCertificate,
  mintSelfSignedCertificate as mintCertificate,
} from '@obip/testing';
import { type RunningServer, listen, rawRequest } from './testing/http';

/** `$ssl_client_escaped_cert`: nginx escapes the PEM as a URI component, upper-case hex. */
function nginxEscaped(pem: string): string {
  return pem.replace(/[^A-Za-z0-9\-._~]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}

/**
 * A plain node:http server (the lean hot path) answering with what the reader returned:
 * 200 and the certificate's names, 204 when none was presented, or 401 and the error code.
 */
async function startReader(options: ClientCertificateReaderOptions): Promise<RunningServer> {
  const read = createClientCertificateReader(options);
  return listen(
    (req: IncomingMessage, res: ServerResponse) => {
      try {
        const presented = read(req);
        if (!presented) {
          res.writeHead(204).end();
          return;
        }
        const { subjectDn, issuerDn, thumbprintS256, pem } = presented;
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ subjectDn, issuerDn, thumbprintS256, pem }));
      } catch (error) {
        assert.ok(error instanceof DomainError, 'the reader throws only DomainErrors');
        res
          .writeHead(401, { 'content-type': 'application/json' })
          .end(JSON.stringify({ code: error.code, kind: error.kind }));
      }
    },
    // Node's own 16 KiB header limit would answer 431 before the reader's limit could be tested.
    { maxHeaderSize: 64 * 1024 },
  );
}

async function get(server: RunningServer, headers: Record<string, string>) {
  const response = await fetch(server.url, { headers });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Record<string, string>) : undefined };
}

function assertRefused(response: { status: number; body?: Record<string, string> | undefined }): void {
  assert.equal(response.status, 401);
  assert.deepEqual(response.body, { code: 'invalid_client', kind: 'unauthorized' });
}

let leaf: MintedCertificate;
let intermediate: MintedCertificate;

before(async () => {
  leaf = await mintCertificate([{ C: ['GB'] }, { O: ['Test TPP'] }, { OU: ['0015800001041RH'] }, { CN: ['tpp, one'] }]);
  intermediate = await mintCertificate([{ C: ['GB'] }, { CN: ['Issuing CA'] }]);
});

function thumbprintOf(minted: MintedCertificate): string {
  return createHash('sha256').update(minted.der).digest('base64url');
}

describe('client certificate from ingress-nginx (ssl-client-cert, ssl-client-verify)', () => {
  let server: RunningServer;
  before(async () => {
    server = await startReader({ format: 'nginx' });
  });
  after(() => server.close());

  it('reads the leaf exactly as $ssl_client_escaped_cert renders it when verification is SUCCESS', async () => {
    const escaped = nginxEscaped(leaf.pem);
    assert.match(escaped, /^-----BEGIN%20CERTIFICATE-----%0AMII/);
    const response = await get(server, { 'ssl-client-cert': escaped, 'ssl-client-verify': 'SUCCESS' });
    assert.equal(response.status, 200);
    assert.deepEqual(response.body, {
      subjectDn: 'CN=tpp\\, one,OU=0015800001041RH,O=Test TPP,C=GB',
      issuerDn: 'CN=tpp\\, one,OU=0015800001041RH,O=Test TPP,C=GB',
      thumbprintS256: thumbprintOf(leaf),
      pem: leaf.pem,
    });
  });

  it('reports no certificate when neither header is present or verification is NONE', async () => {
    assert.equal((await get(server, {})).status, 204);
    assert.equal((await get(server, { 'ssl-client-verify': 'NONE' })).status, 204);
  });

  it('refuses a certificate header beside NONE', async () => {
    assertRefused(await get(server, { 'ssl-client-cert': nginxEscaped(leaf.pem), 'ssl-client-verify': 'NONE' }));
  });

  it('refuses a failed verification', async () => {
    assertRefused(
      await get(server, {
        'ssl-client-cert': nginxEscaped(leaf.pem),
        'ssl-client-verify': 'FAILED:unable to verify the first certificate',
      }),
    );
  });

  it('refuses a verify status that only starts with SUCCESS, or differs in case', async () => {
    for (const verify of ['SUCCESS, FAILED:x', 'SUCCESSFUL', 'success']) {
      assertRefused(await get(server, { 'ssl-client-cert': nginxEscaped(leaf.pem), 'ssl-client-verify': verify }));
    }
  });

  it('refuses a certificate header without a verify header', async () => {
    assertRefused(await get(server, { 'ssl-client-cert': nginxEscaped(leaf.pem) }));
  });

  it('refuses SUCCESS without a certificate, as the edge is misconfigured', async () => {
    assertRefused(await get(server, { 'ssl-client-verify': 'SUCCESS' }));
  });

  it('refuses a repeated certificate header', async () => {
    const response = await rawRequest(server.port, [
      `ssl-client-cert: ${nginxEscaped(leaf.pem)}`,
      'ssl-client-verify: SUCCESS',
      `SSL-Client-Cert: ${nginxEscaped(intermediate.pem)}`,
    ]);
    assertRefused({ status: response.status, body: JSON.parse(response.body) as Record<string, string> });
  });

  it('refuses a repeated verify header, even when both lines say SUCCESS', async () => {
    for (const second of ['FAILED:x', 'SUCCESS']) {
      const response = await rawRequest(server.port, [
        `ssl-client-cert: ${nginxEscaped(leaf.pem)}`,
        'ssl-client-verify: SUCCESS',
        `Ssl-Client-Verify: ${second}`,
      ]);
      assertRefused({ status: response.status, body: JSON.parse(response.body) as Record<string, string> });
    }
  });

  it('ignores the underscore spellings nginx would have dropped', async () => {
    const response = await rawRequest(server.port, [
      `ssl_client_cert: ${nginxEscaped(leaf.pem)}`,
      'ssl_client_verify: SUCCESS',
    ]);
    assert.equal(response.status, 204);
  });

  it('refuses values that are not one URL-encoded PEM certificate', async () => {
    const body = leaf.pem.split('\n').slice(1, -2).join('');
    const garbage = [
      'garbage',
      '%ZZ',
      nginxEscaped(leaf.pem.replace('MII', 'M!I')),
      nginxEscaped(leaf.pem + intermediate.pem),
      nginxEscaped(
        `-----BEGIN CERTIFICATE-----\n${Buffer.from('not a certificate').toString('base64')}\n-----END CERTIFICATE-----\n`,
      ),
      nginxEscaped(`-----BEGIN CERTIFICATE-----\n${body}AAAA\n-----END CERTIFICATE-----\n`),
    ];
    for (const value of garbage) {
      assertRefused(await get(server, { 'ssl-client-cert': value, 'ssl-client-verify': 'SUCCESS' }));
    }
  });

  it('refuses a header larger than maxHeaderBytes', async () => {
    const padded = nginxEscaped(leaf.pem).replace('%0A', `%0A${'A'.repeat(20 * 1024)}`);
    assertRefused(await get(server, { 'ssl-client-cert': padded, 'ssl-client-verify': 'SUCCESS' }));
  });
});

describe('client certificate from ingress-nginx with requireVerified off (optional_no_ca)', () => {
  let server: RunningServer;
  before(async () => {
    server = await startReader({ format: 'nginx', requireVerified: false });
  });
  after(() => server.close());

  it('reads a certificate whose chain the edge could not verify, for the app to verify', async () => {
    const response = await get(server, {
      'ssl-client-cert': nginxEscaped(leaf.pem),
      'ssl-client-verify': 'FAILED:unable to get local issuer certificate',
    });
    assert.equal(response.status, 200);
    assert.equal(response.body?.thumbprintS256, thumbprintOf(leaf));
  });

  it('still refuses a certificate beside NONE', async () => {
    assertRefused(await get(server, { 'ssl-client-cert': nginxEscaped(leaf.pem), 'ssl-client-verify': 'NONE' }));
  });
});

describe('client certificate headers and the trusted proxy allow-list', () => {
  it('refuses a certificate header from a peer outside trustedProxyCidrs', async () => {
    const server = await startReader({ format: 'nginx', trustedProxyCidrs: ['10.0.0.0/8', 'fd00::/8'] });
    try {
      assertRefused(await get(server, { 'ssl-client-cert': nginxEscaped(leaf.pem), 'ssl-client-verify': 'SUCCESS' }));
      assert.equal((await get(server, {})).status, 204, 'a request without certificate headers is not refused');
    } finally {
      await server.close();
    }
  });

  it('reads a certificate header from a peer inside trustedProxyCidrs', async () => {
    const server = await startReader({ format: 'nginx', trustedProxyCidrs: ['127.0.0.0/8'] });
    try {
      const response = await get(server, { 'ssl-client-cert': nginxEscaped(leaf.pem), 'ssl-client-verify': 'SUCCESS' });
      assert.equal(response.status, 200);
    } finally {
      await server.close();
    }
  });

  it('refuses a malformed allow-list entry when the reader is created', () => {
    for (const cidr of ['10.0.0.0/33', 'not-an-ip', '10.0.0.0/8/1', '::1/129', '10.0.0.0/']) {
      assert.throws(
        () => createClientCertificateReader({ format: 'nginx', trustedProxyCidrs: [cidr] }),
        TypeError,
        cidr,
      );
    }
  });
});

describe('client certificate from Envoy / Istio (x-forwarded-client-cert)', () => {
  let server: RunningServer;
  before(async () => {
    server = await startReader({ format: 'xfcc' });
  });
  after(() => server.close());

  function xfccElement(minted: MintedCertificate): string {
    const hash = createHash('sha256').update(minted.der).digest('hex');
    return `By=spiffe://cluster.local/ns/obip/sa/auth-server;Hash=${hash};Cert="${encodeURIComponent(minted.pem)}";Subject="CN=tpp, one,OU=0015800001041RH,O=Test TPP,C=GB";URI=`;
  }

  it('reads the Cert field of the single element set by SANITIZE_SET', async () => {
    const response = await get(server, { 'x-forwarded-client-cert': xfccElement(leaf) });
    assert.equal(response.status, 200);
    assert.equal(response.body?.thumbprintS256, thumbprintOf(leaf));
  });

  it('matches keys case-insensitively and reads an unquoted Cert', async () => {
    const response = await get(server, {
      'x-forwarded-client-cert': `cert=${encodeURIComponent(leaf.pem)};SUBJECT="CN=x"`,
    });
    assert.equal(response.status, 200);
    assert.equal(response.body?.subjectDn, 'CN=tpp\\, one,OU=0015800001041RH,O=Test TPP,C=GB');
  });

  it('refuses a header with two elements, as APPEND_FORWARD would produce', async () => {
    assertRefused(
      await get(server, { 'x-forwarded-client-cert': `${xfccElement(intermediate)},${xfccElement(leaf)}` }),
    );
  });

  it('refuses an element without Cert', async () => {
    assertRefused(await get(server, { 'x-forwarded-client-cert': 'By=spiffe://x;Hash=abc;Subject="CN=tpp"' }));
  });

  it('refuses a Hash that does not match the Cert', async () => {
    const hash = createHash('sha256').update(intermediate.der).digest('hex');
    assertRefused(
      await get(server, { 'x-forwarded-client-cert': `Hash=${hash};Cert="${encodeURIComponent(leaf.pem)}"` }),
    );
  });

  it('refuses a repeated Cert field, broken quoting and a repeated header line', async () => {
    assertRefused(
      await get(server, {
        'x-forwarded-client-cert': `Cert="${encodeURIComponent(leaf.pem)}";cert="${encodeURIComponent(intermediate.pem)}"`,
      }),
    );
    assertRefused(await get(server, { 'x-forwarded-client-cert': `Cert="${encodeURIComponent(leaf.pem)}` }));
    const response = await rawRequest(server.port, [
      `x-forwarded-client-cert: ${xfccElement(leaf)}`,
      `X-Forwarded-Client-Cert: ${xfccElement(intermediate)}`,
    ]);
    assertRefused({ status: response.status, body: JSON.parse(response.body) as Record<string, string> });
  });
});

describe('client certificate from Traefik (X-Forwarded-Tls-Client-Cert)', () => {
  let server: RunningServer;
  before(async () => {
    server = await startReader({ format: 'traefik' });
  });
  after(() => server.close());

  it('reads the leaf, the first of a comma-separated chain of base64 DER', async () => {
    const response = await get(server, {
      'x-forwarded-tls-client-cert': `${leaf.der.toString('base64')},${intermediate.der.toString('base64')}`,
    });
    assert.equal(response.status, 200);
    assert.equal(response.body?.thumbprintS256, thumbprintOf(leaf));
  });

  it('reads the URL-escaped value of Traefik 2.8 to 2.9.1', async () => {
    const response = await get(server, {
      'x-forwarded-tls-client-cert': encodeURIComponent(leaf.der.toString('base64')),
    });
    assert.equal(response.status, 200);
    assert.equal(response.body?.thumbprintS256, thumbprintOf(leaf));
  });

  it('refuses PEM armour, bad base64 and bytes after the certificate', async () => {
    for (const value of [
      leaf.pem.replace(/\n/g, ''),
      'not*base64',
      Buffer.concat([leaf.der, Buffer.from([0, 0])]).toString('base64'),
    ]) {
      assertRefused(await get(server, { 'x-forwarded-tls-client-cert': value }));
    }
  });
});

describe('client certificate per RFC 9440 (Client-Cert)', () => {
  let server: RunningServer;
  before(async () => {
    server = await startReader({ format: 'rfc9440' });
  });
  after(() => server.close());

  it('reads the structured-field byte sequence :base64 DER:', async () => {
    const response = await get(server, { 'client-cert': `:${leaf.der.toString('base64')}:` });
    assert.equal(response.status, 200);
    assert.equal(response.body?.thumbprintS256, thumbprintOf(leaf));
  });

  it('refuses a value without the colons or with a non-certificate inside', async () => {
    for (const value of [leaf.der.toString('base64'), `:${Buffer.from('garbage').toString('base64')}:`, ':!!:']) {
      assertRefused(await get(server, { 'client-cert': value }));
    }
  });
});

describe('clientCertificate middleware', () => {
  it('sets req.clientCertificate and sends an untrusted header to the error handler as 401 invalid_client', async () => {
    const app = express();
    app.use(clientCertificate(createClientCertificateReader({ format: 'rfc9440' })));
    app.get('/', (req, res) => {
      res.json({ subjectDn: req.clientCertificate?.subjectDn ?? null });
    });
    app.use(errorHandler('oauth'));
    const server = await listen(app);
    try {
      const withCertificate = await fetch(server.url, {
        headers: { 'client-cert': `:${leaf.der.toString('base64')}:` },
      });
      assert.deepEqual(await withCertificate.json(), { subjectDn: 'CN=tpp\\, one,OU=0015800001041RH,O=Test TPP,C=GB' });

      const without = await fetch(server.url);
      assert.deepEqual(await without.json(), { subjectDn: null });

      const forged = await fetch(server.url, { headers: { 'client-cert': 'forged' } });
      assert.equal(forged.status, 401);
      assert.equal(((await forged.json()) as { error: string }).error, 'invalid_client');
    } finally {
      await server.close();
    }
  });
});

describe('client certificate parsing on the hot path', () => {
  const requestWith = (headers: Record<string, string>) =>
    ({
      rawHeaders: Object.entries(headers).flat(),
      socket: { remoteAddress: '127.0.0.1' },
    }) as unknown as IncomingMessage;

  it('parses a certificate once per distinct header value and still checks every request', () => {
    const read = createClientCertificateReader({ format: 'nginx' });
    const headers = { 'ssl-client-cert': nginxEscaped(leaf.pem), 'ssl-client-verify': 'SUCCESS' };
    const first = read(requestWith(headers));
    const second = read(requestWith(headers));
    assert.ok(first && Object.isFrozen(first));
    assert.equal(second, first, 'the parsed certificate is reused');
    assert.equal(
      read(requestWith({ ...headers, 'ssl-client-cert': nginxEscaped(intermediate.pem) }))?.thumbprintS256,
      thumbprintOf(intermediate),
    );
    assert.throws(
      () => read(requestWith({ ...headers, 'ssl-client-verify': 'FAILED:certificate revoked' })),
      (error: DomainError) => error.code === 'invalid_client',
    );
  });

  it('reuses a parsed certificate only for the exact header value it came from', () => {
    const read = createClientCertificateReader({ format: 'nginx' });
    const certificate = nginxEscaped(leaf.pem);
    assert.ok(read(requestWith({ 'ssl-client-cert': certificate, 'ssl-client-verify': 'SUCCESS' })));
    for (const altered of [`${certificate}%0Ajunk`, certificate.slice(0, -40)]) {
      assert.throws(
        () => read(requestWith({ 'ssl-client-cert': altered, 'ssl-client-verify': 'SUCCESS' })),
        (error: DomainError) => error.code === 'invalid_client',
      );
    }
    // XFCC: the same Cert beside a Hash that does not match it is refused after the good one was read.
    const xfcc = createClientCertificateReader({ format: 'xfcc' });
    const cert = `Cert="${nginxEscaped(leaf.pem)}"`;
    const hash = createHash('sha256').update(leaf.der).digest('hex');
    assert.equal(
      xfcc(requestWith({ 'x-forwarded-client-cert': `Hash=${hash};${cert}` }))?.thumbprintS256,
      thumbprintOf(leaf),
    );
    assert.throws(
      () => xfcc(requestWith({ 'x-forwarded-client-cert': `Hash=${'0'.repeat(64)};${cert}` })),
      (error: DomainError) => error.code === 'invalid_client',
    );
  });

  it('checks the verify status before reusing a parsed certificate', () => {
    const read = createClientCertificateReader({ format: 'nginx' });
    const certificate = nginxEscaped(leaf.pem);
    assert.ok(read(requestWith({ 'ssl-client-cert': certificate, 'ssl-client-verify': 'SUCCESS' })));
    assert.throws(
      () => read(requestWith({ 'ssl-client-cert': certificate, 'ssl-client-verify': 'NONE' })),
      (error: DomainError) => error.code === 'invalid_client',
    );
    assert.throws(
      () => read(requestWith({ 'ssl-client-cert': certificate })),
      (error: DomainError) => error.code === 'invalid_client',
    );
  });
});
