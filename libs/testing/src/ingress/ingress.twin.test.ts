import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createTestPki, type IssuedCertificate, type TestPki } from '../pki/test-pki';
import { freePort } from '../servers/server.process';
import { attachServerLogsOnFailure } from '../servers/test-servers';
import { startIngressTwin, type IngressTwin } from './ingress.twin';

interface Echo {
  service: string;
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  rawHeaders: string[];
}

interface Reply {
  status: number;
  echo: Echo | undefined;
  body: string;
}

/** A stand-in service: answers every request with the headers it received, tagged with its name. */
async function startEchoUpstream(service: string): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const echo: Echo = {
      service,
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      rawHeaders: req.rawHeaders,
    };
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(echo));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

/** One HTTPS request with full control over headers and the client certificate. */
function send(
  url: string,
  options: { ca: string; client?: IssuedCertificate; headers?: Record<string, string | string[]> },
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      url,
      {
        ca: options.ca,
        cert: options.client?.chainPem,
        key: options.client?.keyPem,
        headers: options.headers,
        // A fresh connection per request: no TLS session or socket shared between cases.
        agent: false,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => {
          const isEcho = res.headers['content-type'] === 'application/json';
          resolve({ status: res.statusCode ?? 0, echo: isEcho ? (JSON.parse(body) as Echo) : undefined, body });
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

function countRaw(echo: Echo, name: string): number {
  return echo.rawHeaders.filter((value, index) => index % 2 === 0 && value.toLowerCase() === name).length;
}

const SERVICES = ['auth-server', 'dcr-service', 'consent-service', 'token-introspection'] as const;

describe('ingress twin (real nginx)', () => {
  let pki: TestPki;
  let foreignPki: TestPki;
  let tpp: IssuedCertificate;
  let foreignTpp: IssuedCertificate;
  let twin: IngressTwin;
  const upstreams: Server[] = [];

  before(async () => {
    [pki, foreignPki] = await Promise.all([createTestPki(), createTestPki({ name: 'Foreign' })]);
    [tpp, foreignTpp] = await Promise.all([
      pki.issueTppCertificate({ orgId: '0015800001041REAAY', softwareId: 'Sw4Tpp1' }),
      foreignPki.issueTppCertificate({ orgId: '0015800001041REAAY', softwareId: 'Sw4Tpp1' }),
    ]);
    const echoes = await Promise.all(SERVICES.map(startEchoUpstream));
    upstreams.push(...echoes.map((e) => e.server));
    twin = await startIngressTwin({
      pki,
      upstreams: Object.fromEntries(SERVICES.map((service, i) => [service, echoes[i]!.url])),
    });
  });
  after(async () => {
    for (const server of upstreams) {
      server.close();
      server.closeAllConnections();
    }
    await twin?.stop();
  });
  attachServerLogsOnFailure({ sources: [{ name: 'nginx', logs: () => twin?.logs() ?? '' }] });

  test('refuses a request to the mTLS host without a client certificate with 400', async () => {
    const reply = await send(`${twin.mtlsUrl}/token`, { ca: twin.caBundlePem });
    assert.equal(reply.status, 400);
    assert.equal(reply.echo, undefined);
  });

  test('refuses a client certificate from an unknown CA with 400', async () => {
    const reply = await send(`${twin.mtlsUrl}/token`, { ca: twin.caBundlePem, client: foreignTpp });
    assert.equal(reply.status, 400);
    assert.equal(reply.echo, undefined);
  });

  test('forwards a verified TPP certificate to the routed service as ingress-nginx does', async () => {
    const reply = await send(`${twin.mtlsUrl}/token`, { ca: twin.caBundlePem, client: tpp });
    assert.equal(reply.status, 200);
    const echo = reply.echo!;
    assert.equal(echo.service, 'auth-server');
    assert.equal(echo.headers['ssl-client-verify'], 'SUCCESS');
    const escaped = echo.headers['ssl-client-cert'] as string;
    assert.match(escaped, /^-----BEGIN%20CERTIFICATE-----%0A/, 'URL-encoded PEM, as $ssl_client_escaped_cert');
    assert.equal(decodeURIComponent(escaped).trim(), tpp.certPem.trim(), 'the leaf only, not the chain');
    assert.equal(echo.headers['ssl-client-subject-dn'], 'CN=Sw4Tpp1,OU=0015800001041REAAY,O=OpenBanking,C=GB');
    assert.equal(echo.headers['ssl-client-issuer-dn'], 'CN=obip Test Issuing CA,O=obip test,C=GB');
    assert.equal(echo.headers['x-forwarded-proto'], 'https');
  });

  test('routes each mTLS path prefix to its service, on segment boundaries', async () => {
    const cases: Array<[string, string | number]> = [
      ['/register', 'dcr-service'],
      ['/register/abc', 'dcr-service'],
      ['/introspect', 'token-introspection'],
      ['/open-banking/v3.1/aisp/account-access-consents', 'consent-service'],
      ['/par', 'auth-server'],
      ['/tokens', 404],
    ];
    for (const [path, expected] of cases) {
      const reply = await send(`${twin.mtlsUrl}${path}`, { ca: twin.caBundlePem, client: tpp });
      if (typeof expected === 'number') assert.equal(reply.status, expected, path);
      else assert.equal(reply.echo?.service, expected, path);
    }
  });

  test('never lets client-sent ssl-client-* headers through the public host', async () => {
    const reply = await send(`${twin.publicUrl}/authorize?client_id=x`, {
      ca: twin.caBundlePem,
      headers: {
        'ssl-client-cert': encodeURIComponent(tpp.certPem),
        'ssl-client-verify': 'SUCCESS',
        'ssl-client-subject-dn': 'CN=Sw4Tpp1,OU=0015800001041REAAY,O=OpenBanking,C=GB',
        'ssl-client-issuer-dn': 'CN=obip Test Issuing CA,O=obip test,C=GB',
        // nginx drops headers with underscores (underscores_in_headers off); Node would not.
        ssl_client_verify: 'SUCCESS',
      },
    });
    assert.equal(reply.status, 200);
    const echo = reply.echo!;
    assert.equal(echo.service, 'auth-server');
    for (const name of [
      'ssl-client-cert',
      'ssl-client-verify',
      'ssl-client-subject-dn',
      'ssl-client-issuer-dn',
      'ssl_client_verify',
    ]) {
      assert.equal(echo.headers[name], undefined, `${name} must not reach the service`);
    }
  });

  test('overwrites spoofed ssl-client-* headers on the mTLS host with the real ones', async () => {
    const reply = await send(`${twin.mtlsUrl}/token`, {
      ca: twin.caBundlePem,
      client: tpp,
      headers: {
        'ssl-client-cert': ['spoofed-1', 'spoofed-2'],
        'ssl-client-verify': ['SUCCESS', 'FAILED:spoof'],
        'ssl-client-subject-dn': 'CN=someone-else',
      },
    });
    const echo = reply.echo!;
    assert.equal(countRaw(echo, 'ssl-client-cert'), 1);
    assert.equal(countRaw(echo, 'ssl-client-verify'), 1);
    assert.equal(echo.headers['ssl-client-verify'], 'SUCCESS');
    assert.equal(decodeURIComponent(echo.headers['ssl-client-cert'] as string).trim(), tpp.certPem.trim());
    assert.equal(echo.headers['ssl-client-subject-dn'], 'CN=Sw4Tpp1,OU=0015800001041REAAY,O=OpenBanking,C=GB');
  });

  test('answers 404 at the edge for unrouted paths on both hosts', async () => {
    for (const path of ['/config', '/config/v1/settings', '/metrics', '/readyz', '/']) {
      const viaPublic = await send(`${twin.publicUrl}${path}`, { ca: twin.caBundlePem });
      const viaMtls = await send(`${twin.mtlsUrl}${path}`, { ca: twin.caBundlePem, client: tpp });
      assert.equal(viaPublic.status, 404, `public ${path}`);
      assert.equal(viaMtls.status, 404, `mtls ${path}`);
      assert.equal(viaPublic.echo ?? viaMtls.echo, undefined, `${path} must not reach a service`);
    }
    // An mTLS endpoint is not reachable through the public host, nor the reverse.
    assert.equal((await send(`${twin.publicUrl}/token`, { ca: twin.caBundlePem })).status, 404);
    assert.equal((await send(`${twin.mtlsUrl}/authorize`, { ca: twin.caBundlePem, client: tpp })).status, 404);
  });

  test('replaces a client X-Forwarded-For with the peer address, keeping the original only as X-Original-Forwarded-For', async () => {
    const reply = await send(`${twin.publicUrl}/jwks`, {
      ca: twin.caBundlePem,
      headers: { 'x-forwarded-for': '203.0.113.7', 'x-forwarded-proto': 'http', 'x-real-ip': '203.0.113.7' },
    });
    const headers = reply.echo!.headers;
    assert.equal(headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(headers['x-real-ip'], '127.0.0.1');
    assert.equal(headers['x-forwarded-proto'], 'https');
    assert.equal(headers['x-original-forwarded-for'], '203.0.113.7');
  });

  test('keeps a client X-Request-ID and generates one when absent, as ingress-nginx does', async () => {
    const generated = await send(`${twin.publicUrl}/jwks`, { ca: twin.caBundlePem });
    assert.match(generated.echo!.headers['x-request-id'] as string, /^[0-9a-f]{32}$/);
    const kept = await send(`${twin.publicUrl}/jwks`, { ca: twin.caBundlePem, headers: { 'x-request-id': 'abc-123' } });
    assert.equal(kept.echo!.headers['x-request-id'], 'abc-123');
  });

  test('balances requests over several replicas of a service', async (t) => {
    const replicas = await Promise.all([startEchoUpstream('auth-server'), startEchoUpstream('auth-server')]);
    const served = [0, 0];
    replicas.forEach((replica, index) => replica.server.on('request', () => (served[index]! += 1)));
    t.after(() => {
      for (const { server } of replicas) {
        server.close();
        server.closeAllConnections();
      }
    });
    const balanced = await startIngressTwin({ pki, upstreams: { 'auth-server': replicas.map((r) => r.url) } });
    t.after(() => balanced.stop());
    for (let index = 0; index < 6; index += 1) {
      const reply = await send(`${balanced.mtlsUrl}/token`, { ca: pki.caBundlePem, client: tpp });
      assert.equal(reply.status, 200);
      assert.equal(reply.echo!.headers['ssl-client-verify'], 'SUCCESS');
    }
    assert.deepEqual(served, [3, 3], 'round robin');
  });

  test('retries a refused connection on the next replica and keeps the refusing one in rotation', async (t) => {
    const live = await startEchoUpstream('auth-server');
    // A port nothing listens on yet: replica 2 refuses connections until it starts.
    const late = await startEchoUpstream('auth-server');
    await new Promise((resolve) => late.server.close(resolve));
    const served = { live: 0, late: 0 };
    live.server.on('request', () => (served.live += 1));
    late.server.on('request', () => (served.late += 1));
    t.after(() => {
      for (const { server } of [live, late]) {
        server.close();
        server.closeAllConnections();
      }
    });
    const balanced = await startIngressTwin({ pki, upstreams: { 'auth-server': [live.url, late.url] } });
    t.after(() => balanced.stop());
    const sendTwice = async () => {
      for (let index = 0; index < 2; index += 1) {
        const reply = await send(`${balanced.mtlsUrl}/token`, { ca: pki.caBundlePem, client: tpp });
        assert.equal(reply.status, 200, reply.body);
      }
    };

    await sendTwice();
    assert.deepEqual(served, { live: 2, late: 0 }, 'the refused attempt was retried on the live replica');
    await new Promise<void>((resolve) => late.server.listen(Number(new URL(late.url).port), '127.0.0.1', resolve));
    // Plain nginx would keep skipping the refusing replica for fail_timeout (10 s).
    await sendTwice();
    assert.deepEqual(served, { live: 3, late: 1 }, 'back in rotation as soon as it listens');
  });

  test('is not ready on a port another process took first, and says so', async (t) => {
    // Before, an open port counted as ready: requests then went to whoever held it.
    const squatter = await startEchoUpstream('squatter');
    t.after(() => {
      squatter.server.close();
      squatter.server.closeAllConnections();
    });
    const taken = Number(new URL(squatter.url).port);
    const free = await freePort();
    await assert.rejects(
      startIngressTwin({ pki, upstreams: {}, ports: { public: free, mtls: taken } }),
      /exited during start-up[\s\S]*Address already in use/,
    );
  });

  test('answers 503 for a routed service that has no upstream', async (t) => {
    const partial = await startIngressTwin({ pki, upstreams: {} });
    t.after(() => partial.stop());
    assert.equal((await send(`${partial.publicUrl}/jwks`, { ca: pki.caBundlePem })).status, 503);
  });

  test('with optional_no_ca, passes unverified and missing certificates with their verify result', async (t) => {
    const echo = await startEchoUpstream('auth-server');
    t.after(() => {
      echo.server.close();
      echo.server.closeAllConnections();
    });
    const lenient = await startIngressTwin({
      pki,
      upstreams: { 'auth-server': echo.url },
      verifyClient: 'optional_no_ca',
    });
    t.after(() => lenient.stop());
    const foreign = await send(`${lenient.mtlsUrl}/token`, { ca: pki.caBundlePem, client: foreignTpp });
    assert.equal(foreign.status, 200);
    assert.match(foreign.echo!.headers['ssl-client-verify'] as string, /^FAILED:/);
    assert.ok(foreign.echo!.headers['ssl-client-cert'], 'the unverified certificate is still passed on');
    const none = await send(`${lenient.mtlsUrl}/token`, { ca: pki.caBundlePem });
    assert.equal(none.echo!.headers['ssl-client-verify'], 'NONE');
    assert.equal(none.echo!.headers['ssl-client-cert'], undefined);
  });
});
