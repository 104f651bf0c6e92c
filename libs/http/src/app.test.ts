import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { BadRequestError } from '@obip/errors';
import { createHttpApp } from './app';
import { jsonBody } from './body-parsing';
import { errorHandler, notFoundHandler } from './error-handler';
import { contentSecurityPolicy } from './security-headers';
import { captureLogs, listen, rawRequest, type RunningServer } from './testing/http';

interface Observation {
  route: string;
  method: string;
  status: number;
  seconds: number;
}

const logs = captureLogs();
const observations: Observation[] = [];
let server: RunningServer;

before(async () => {
  const app = createHttpApp({
    logger: logs.logger,
    onResponse: (route, method, status, seconds) => {
      observations.push({ route, method, status, seconds });
    },
  });
  app.get('/whoami', (req, res) => {
    res.json({ id: req.id, ip: req.ip, protocol: req.protocol });
  });
  app.post('/echo', jsonBody({ limit: '4kb' }), (_req, res) => {
    res.json({ ok: true });
  });

  const consents = express.Router();
  consents.get('/', (_req, res) => {
    res.json([]);
  });
  consents.get('/:consentId', (req, res) => {
    res.json({ consentId: req.params.consentId });
  });
  consents.delete('/:consentId', () => {
    throw new BadRequestError('cannot revoke');
  });
  consents.use(errorHandler('obie'));
  app.use('/consents', consents);

  const pages = express.Router();
  pages.use(contentSecurityPolicy("default-src 'self'; frame-ancestors 'none'"));
  pages.get('/login', (_req, res) => {
    res.type('html').send('<!doctype html><title>login</title>');
  });
  app.use('/interaction', pages);

  app.get('/fail', (_req, res) => {
    res.status(503).json({ error: 'temporarily_unavailable' });
  });
  app.get('/hang', () => {
    // Never answers: the client gives up.
  });
  app.get('/note', (req, res) => {
    req.log.info({ step: 1 }, 'handler note');
    res.json({ same: req.log === req.log });
  });

  app.get('/cacheable', (_req, res) => {
    res.set('Cache-Control', 'public, max-age=300').json({ keys: [] });
  });

  app.use(notFoundHandler('oauth'), errorHandler('oauth'));
  server = await listen(app);
});
after(() => server.close());

/** The observer runs when the response finishes, which can trail the client's read a little. */
async function observationsFor(count: number): Promise<Observation[]> {
  for (let i = 0; i < 100 && observations.length < count; i++) await delay(10);
  return observations.slice(0, count);
}

describe('request id', () => {
  it('echoes a safe incoming X-Request-Id and exposes it as req.id', async () => {
    const response = await fetch(`${server.url}/whoami`, {
      headers: { 'x-request-id': 'f81d4fae-7dec-11d0-a765-00a0c91e6bf6' },
    });
    assert.equal(response.headers.get('x-request-id'), 'f81d4fae-7dec-11d0-a765-00a0c91e6bf6');
    assert.equal(((await response.json()) as { id: string }).id, 'f81d4fae-7dec-11d0-a765-00a0c91e6bf6');
  });

  it('replaces a missing, unsafe or overlong id with a fresh UUID', async () => {
    for (const incoming of [undefined, '<script>alert(1)</script>', 'a b', 'x'.repeat(129), '-leading-dash']) {
      const response = await fetch(`${server.url}/whoami`, {
        headers: incoming === undefined ? {} : { 'x-request-id': incoming },
      });
      const id = response.headers.get('x-request-id') ?? '';
      assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, String(incoming));
      assert.equal(((await response.json()) as { id: string }).id, id);
    }
  });

  it('replaces an id sent on two header lines', async () => {
    const response = await rawRequest(server.port, ['X-Request-Id: one', 'X-Request-Id: two'], { path: '/whoami' });
    assert.notEqual(response.headers['x-request-id'], 'one');
    assert.match(response.headers['x-request-id'] ?? '', /^[0-9a-f-]{36}$/);
  });
});

describe('security headers', () => {
  it('sets the defaults on every response and no X-Powered-By', async () => {
    for (const path of ['/whoami', '/nowhere']) {
      const response = await fetch(`${server.url}${path}`);
      assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
      assert.equal(response.headers.get('referrer-policy'), 'no-referrer');
      assert.equal(response.headers.get('x-frame-options'), 'DENY');
      assert.equal(response.headers.get('cache-control'), 'no-store');
      assert.equal(response.headers.get('content-security-policy'), "default-src 'none'; frame-ancestors 'none'");
      assert.match(response.headers.get('strict-transport-security') ?? '', /^max-age=\d+; includeSubDomains$/);
      assert.equal(response.headers.get('x-powered-by'), null);
    }
  });

  it('lets a router replace the Content-Security-Policy and a route replace Cache-Control', async () => {
    const page = await fetch(`${server.url}/interaction/login`);
    assert.equal(page.headers.get('content-security-policy'), "default-src 'self'; frame-ancestors 'none'");
    const cacheable = await fetch(`${server.url}/cacheable`);
    assert.equal(cacheable.headers.get('cache-control'), 'public, max-age=300');
  });
});

describe('trust proxy', () => {
  it('is off by default, so forwarded headers cannot change the client address or protocol', async () => {
    const response = await fetch(`${server.url}/whoami`, {
      headers: { 'x-forwarded-for': '203.0.113.7', 'x-forwarded-proto': 'https' },
    });
    const body = (await response.json()) as { ip: string; protocol: string };
    assert.equal(body.ip, '127.0.0.1');
    assert.equal(body.protocol, 'http');
  });
});

describe('request logging', () => {
  /** The completion line of the request sent with `x-request-id: id`; it trails the response a little. */
  async function completionLine(id: string): Promise<Record<string, unknown>> {
    for (let i = 0; i < 100; i++) {
      const line = logs.lines().find((entry) => entry.reqId === id && /^request /.test(String(entry.msg)));
      if (line) return line;
      await delay(10);
    }
    assert.fail(`no completion line for ${id}`);
  }

  it('writes one line per response with a fixed set of fields: no header, query string or body', async () => {
    const secrets = {
      authorization: 'Bearer at-SECRET-1',
      cookie: 'session=SECRET-2',
      dpop: 'eyJ.SECRET-3.sig',
      'ssl-client-cert': '-----BEGIN%20CERTIFICATE-----%0ASECRET-4',
      'x-forwarded-client-cert': 'Cert="SECRET-5"',
      'client-cert': ':SECRET6:',
      'x-forwarded-tls-client-cert': 'SECRET-7',
      ssl_client_cert: 'SECRET-8',
      'proxy-authorization': 'Basic SECRET-11',
      'x-api-key': 'SECRET-12',
      'x-request-id': 'log-test-1',
      'x-fapi-interaction-id': '93bac548-d2de-4546-b106-880a5018460d',
      'user-agent': 'tpp-client/1.0',
      'content-type': 'application/json',
    };
    const response = await fetch(`${server.url}/echo?code=SECRET-9&access_token=SECRET-13`, {
      method: 'POST',
      headers: secrets,
      body: JSON.stringify({ password: 'SECRET-10', client_secret: 'SECRET-14' }),
    });
    assert.equal(response.status, 200);

    const line = await completionLine('log-test-1');
    assert.doesNotMatch(logs.text(), /SECRET/);
    assert.deepEqual(
      Object.keys(line).sort(),
      ['level', 'msg', 'pid', 'hostname', 'reqId', 'req', 'res', 'route', 'responseTime', 'time'].sort(),
    );
    assert.equal(line.msg, 'request completed');
    assert.equal(line.level, 30);
    assert.deepEqual(line.req, {
      method: 'POST',
      path: '/echo',
      remoteAddress: '127.0.0.1',
      userAgent: 'tpp-client/1.0',
      interactionId: '93bac548-d2de-4546-b106-880a5018460d',
    });
    assert.deepEqual(line.res, { statusCode: 200 });
    assert.equal(line.route, '/echo');
    assert.ok(typeof line.responseTime === 'number' && line.responseTime >= 0 && line.responseTime < 5_000);
  });

  it('leaves out an interaction id that is not id-shaped and cuts an overlong user agent', async () => {
    await (
      await fetch(`${server.url}/whoami`, {
        headers: {
          'x-request-id': 'log-test-2',
          'x-fapi-interaction-id': 'not an id <b>',
          'user-agent': 'u'.repeat(1000),
        },
      })
    ).text();
    const req = (await completionLine('log-test-2')).req as Record<string, unknown>;
    assert.equal(req.interactionId, undefined);
    assert.equal(req.userAgent, 'u'.repeat(256));
  });

  it('logs a 5xx at error level as "request errored", and an abandoned request as "request aborted"', async () => {
    await (await fetch(`${server.url}/fail`, { headers: { 'x-request-id': 'log-test-3' } })).text();
    const failed = await completionLine('log-test-3');
    assert.equal(failed.level, 50);
    assert.equal(failed.msg, 'request errored');
    assert.deepEqual(failed.res, { statusCode: 503 });
    assert.equal(failed.err, undefined, 'no invented error with a stack');

    const abandoned = new AbortController();
    const pending = fetch(`${server.url}/hang`, {
      headers: { 'x-request-id': 'log-test-4' },
      signal: abandoned.signal,
    });
    await delay(50);
    abandoned.abort();
    await pending.catch(() => undefined);
    const aborted = await completionLine('log-test-4');
    assert.equal(aborted.msg, 'request aborted');
    assert.equal(aborted.level, 30);
  });

  it('gives handlers req.log, bound to the request id and the same object each time', async () => {
    const response = await fetch(`${server.url}/note`, { headers: { 'x-request-id': 'log-test-5' } });
    assert.deepEqual(await response.json(), { same: true });
    const note = logs.lines().find((entry) => entry.msg === 'handler note');
    assert.equal(note?.reqId, 'log-test-5');
    assert.equal(note?.step, 1);
  });
});

describe('onResponse', () => {
  it('reports the route template with the mount path, never the raw path, or unmatched', async () => {
    observations.length = 0;
    await (await fetch(`${server.url}/consents/c-4242`)).text();
    await (await fetch(`${server.url}/consents`)).text();
    await (await fetch(`${server.url}/consents/c-4242`, { method: 'DELETE' })).text();
    await (await fetch(`${server.url}/no/such/path/c-4242`)).text();
    await (await fetch(`${server.url}/whoami`)).text();

    const seen = await observationsFor(5);
    assert.deepEqual(
      seen.map(({ route, method, status }) => [route, method, status]),
      [
        ['/consents/:consentId', 'GET', 200],
        ['/consents', 'GET', 200],
        ['/consents/:consentId', 'DELETE', 400],
        ['unmatched', 'GET', 404],
        ['/whoami', 'GET', 200],
      ],
    );
    assert.ok(seen.every(({ seconds }) => seconds >= 0 && seconds < 5));
    assert.ok(seen.every(({ route }) => !route.includes('4242')));
  });

  it('keeps answering when the observer throws', async () => {
    const app = createHttpApp({
      logger: logs.logger,
      onResponse: () => {
        throw new Error('metrics registry is broken');
      },
    });
    app.get('/', (_req, res) => {
      res.json({ ok: true });
    });
    const other = await listen(app);
    try {
      assert.equal((await fetch(other.url)).status, 200);
      assert.equal((await fetch(other.url)).status, 200);
    } finally {
      await other.close();
    }
  });
});
