import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { formBody, jsonBody, rawJoseBody } from './body-parsing';
import { requireContentType } from './content-type';
import { errorHandler } from './error-handler';
import { listen, type RunningServer } from './testing/http';

let server: RunningServer;

before(async () => {
  const app = express();
  const echo: express.RequestHandler = (req, res) => {
    res.json({
      body: req.body as unknown,
      prototype: req.body === null || typeof req.body !== 'object' ? null : Object.getPrototypeOf(req.body) === null,
    });
  };
  app.post('/json', jsonBody({ limit: '1kb' }), echo);
  app.post('/form', formBody({ limit: '1kb', parameterLimit: 5 }), echo);
  app.post('/jose', rawJoseBody({ limit: '2kb' }), echo);
  app.post('/octets', requireContentType(['application/octet-stream']), (_req, res) => {
    res.json({ ok: true });
  });
  app.use(errorHandler('oauth'));
  server = await listen(app);
});
after(() => server.close());

async function post(path: string, body: string | Buffer | undefined, headers: Record<string, string> = {}) {
  const response = await fetch(`${server.url}${path}`, { method: 'POST', body, headers });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

function assertError(response: { status: number; body: Record<string, unknown> }, status: number): void {
  assert.equal(response.status, status);
  assert.equal(response.body.error, 'invalid_request');
}

const JSON_TYPE = { 'content-type': 'application/json' };
const COMPACT_JWS = 'eyJhbGciOiJQUzI1NiJ9.eyJpc3MiOiJ0cHAifQ.c2lnbmF0dXJl';

describe('jsonBody', () => {
  it('reads a JSON object into req.body', async () => {
    const response = await post('/json', '{"a":[1,2]}', { 'content-type': 'application/json; charset=utf-8' });
    assert.equal(response.status, 200);
    assert.deepEqual(response.body.body, { a: [1, 2] });
  });

  it('answers 413 for a body over the limit', async () => {
    assertError(await post('/json', JSON.stringify({ a: 'x'.repeat(2048) }), JSON_TYPE), 413);
  });

  it('answers 415 for another content type, none at all, a non-UTF-8 charset or a compressed body', async () => {
    assertError(await post('/json', '{}', { 'content-type': 'text/plain' }), 415);
    assertError(await post('/json', Buffer.from('{}')), 415);
    assertError(await post('/json', '{}', { 'content-type': 'application/json; charset=iso-8859-1' }), 415);
    assertError(await post('/json', gzipSync('{}'), { ...JSON_TYPE, 'content-encoding': 'gzip' }), 415);
  });

  it('answers 400 invalid_request for malformed JSON, an empty body, a bare scalar or invalid UTF-8', async () => {
    assertError(await post('/json', '{"a":', JSON_TYPE), 400);
    assertError(await post('/json', '', JSON_TYPE), 400);
    assertError(await post('/json', '"just a string"', JSON_TYPE), 400);
    assertError(await post('/json', Buffer.from([0x7b, 0xff, 0x7d]), JSON_TYPE), 400);
  });
});

describe('formBody', () => {
  const FORM_TYPE = { 'content-type': 'application/x-www-form-urlencoded' };

  it('reads parameters into a null-prototype object', async () => {
    const response = await post(
      '/form',
      'grant_type=client_credentials&scope=accounts+payments&__proto__=x',
      FORM_TYPE,
    );
    assert.equal(response.status, 200);
    const expected = Object.fromEntries([
      ['grant_type', 'client_credentials'],
      ['scope', 'accounts payments'],
      ['__proto__', 'x'],
    ]);
    assert.deepEqual(response.body.body, expected);
    assert.equal(response.body.prototype, true);
  });

  it('answers 400 for a repeated parameter (RFC 6749 §3.1) or too many parameters', async () => {
    assertError(await post('/form', 'scope=a&scope=b', FORM_TYPE), 400);
    assertError(await post('/form', 'a=1&b=2&c=3&d=4&e=5&f=6', FORM_TYPE), 400);
  });

  it('answers 415 for JSON and 413 over the limit', async () => {
    assertError(await post('/form', '{}', JSON_TYPE), 415);
    assertError(await post('/form', `a=${'x'.repeat(2048)}`, FORM_TYPE), 413);
  });
});

describe('rawJoseBody', () => {
  it('reads a compact JWS sent as application/jwt or application/jose, without surrounding whitespace', async () => {
    for (const type of ['application/jwt', 'application/jose']) {
      const response = await post('/jose', `${COMPACT_JWS}\n`, { 'content-type': type });
      assert.equal(response.status, 200, type);
      assert.equal(response.body.body, COMPACT_JWS);
    }
  });

  it('reads a five-part compact JWE', async () => {
    const jwe = 'eyJhbGciOiJSU0EtT0FFUCJ9.a2V5.aXY.Y2lwaGVy.dGFn';
    assert.equal((await post('/jose', jwe, { 'content-type': 'application/jwt' })).body.body, jwe);
  });

  it('answers 400 for anything that is not three or five base64url parts', async () => {
    for (const body of ['{"payload":"x"}', 'a.b', 'a.b.c.d', `${COMPACT_JWS}.x.y.z`, '..', '']) {
      assertError(await post('/jose', body, { 'content-type': 'application/jwt' }), 400);
    }
  });

  it('answers 415 for application/json', async () => {
    assertError(await post('/jose', COMPACT_JWS, JSON_TYPE), 415);
  });
});

describe('requireContentType', () => {
  it('lets a listed type through, with parameters and in any case', async () => {
    assert.equal((await post('/octets', 'x', { 'content-type': 'Application/Octet-Stream; foo=bar' })).status, 200);
  });

  it('answers 415 for any other type', async () => {
    assertError(await post('/octets', 'x', { 'content-type': 'application/json' }), 415);
  });

  it('refuses a configuration that is not a list of media types', () => {
    assert.throws(() => requireContentType(['json']), TypeError);
    assert.throws(() => requireContentType([]), TypeError);
  });
});
