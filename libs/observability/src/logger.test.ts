import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import { createHttpApp, errorHandler, formBody, notFoundHandler } from '@obip/http';
import { createLogger, REDACTED_PATHS } from './index';

/** A service logger writing into memory, as the services' loggers write to stdout. */
function memoryLogger(level = 'debug') {
  const lines: string[] = [];
  const logger = createLogger({ service: 'test', level }, { write: (line: string) => void lines.push(line) });
  return {
    logger,
    text: () => lines.join(''),
    lines: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

describe('createLogger', () => {
  test('redacts credential members of a line and of its err, and keeps everything else', () => {
    const { logger, lines, text } = memoryLogger();
    const error = Object.assign(new Error('refused'), {
      client_secret: 'SECRET-1',
      access_token: 'SECRET-2',
      code: 'x',
    });
    logger.warn(
      {
        clientId: 'c-1',
        password: 'SECRET-3',
        client_secret: 'SECRET-4',
        client_assertion: 'SECRET-5',
        access_token: 'SECRET-6',
        refresh_token: 'SECRET-7',
        id_token: 'SECRET-8',
        registration_access_token: 'SECRET-9',
        token: 'SECRET-10',
        private_key: 'SECRET-11',
        authorization: 'Bearer SECRET-12',
        cookie: 'session=SECRET-13',
        err: error,
      },
      'refused',
    );
    assert.doesNotMatch(text(), /SECRET/);
    const [line] = lines();
    assert.equal(line?.clientId, 'c-1');
    assert.equal(line?.password, '[redacted]');
    assert.equal(line?.cookie, '[redacted]');
    const err = line?.err as Record<string, unknown>;
    assert.equal(err.client_secret, '[redacted]');
    assert.equal(err.message, 'refused');
    assert.equal(err.code, 'x');
    assert.equal(line?.service, 'test');
    assert.equal(line?.level, 'warn');
  });

  test('has no wildcard path: pino walks every member of every line for one (bench/src/discovery/findings.md)', () => {
    assert.ok(REDACTED_PATHS.length > 0);
    assert.deepEqual(
      REDACTED_PATHS.filter((path) => path.includes('*')),
      [],
    );
  });
});

describe('a service logger behind @obip/http', () => {
  const logs = memoryLogger();
  let server: Server;
  let base: string;

  before(async () => {
    const app = createHttpApp({ logger: logs.logger });
    app.post('/token', formBody({ limit: '4kb' }), (req) => {
      const form = req.body as Record<string, string>;
      req.log.debug({ grantType: form.grant_type }, 'token request');
      // An unexpected failure carrying what it was given, as a careless library error might.
      throw Object.assign(new Error('store failed'), { client_secret: form.client_secret, password: form.password });
    });
    app.use(notFoundHandler('oauth'), errorHandler('oauth'));
    server = createServer(app).listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  test('never writes a credential from headers, query string, form body or error', async () => {
    const response = await fetch(`${base}/token?access_token=SECRET-Q1&code=SECRET-Q2`, {
      method: 'POST',
      headers: {
        authorization: 'Basic U0VDUkVULUgx',
        cookie: '_session=SECRET-H2',
        dpop: 'eyJ.SECRET-H3.sig',
        'ssl-client-cert': '-----BEGIN%20CERTIFICATE-----%0ASECRET-H4',
        'x-request-id': 'secrets-1',
      },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_secret: 'SECRET-B1',
        password: 'SECRET-B2',
        refresh_token: 'SECRET-B3',
        client_assertion: 'SECRET-B4',
      }),
    });
    assert.equal(response.status, 500);
    await response.text();
    for (let i = 0; i < 100 && !logs.text().includes('request errored'); i++) await delay(10);

    const mine = logs.lines().filter((line) => line.reqId === 'secrets-1');
    assert.deepEqual(
      mine.map((line) => line.msg),
      ['token request', 'unexpected error', 'request errored'],
    );
    assert.doesNotMatch(logs.text(), /SECRET|U0VDUkVULUgx/);
  });
});
