import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import express, { type Router } from 'express';
import {
  BadRequestError,
  DependencyUnavailableError,
  DomainError,
  type ErrorKind,
  UnauthorizedError,
} from '@obip/errors';
import { createHttpApp } from './app';
import { errorHandler, notFoundHandler, statusForKind } from './error-handler';
import { InvalidFieldsError, ObieError } from './http-errors';
import { captureLogs, listen, type RunningServer } from './testing/http';

const KIND_STATUS: Record<ErrorKind, number> = {
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  precondition_failed: 412,
  too_many_requests: 429,
  unavailable: 503,
  deadline_exceeded: 503,
  internal: 500,
};

/** A router whose routes throw what the test names, ending with the format's serialiser. */
function throwingRouter(format: 'oauth' | 'obie' | 'problem'): Router {
  const router = express.Router();
  router.get('/kind/:kind', (req) => {
    throw new DomainError({
      kind: req.params.kind as ErrorKind,
      code: `code_${req.params.kind}`,
      description: 'described',
    });
  });
  router.get('/bearer', () => {
    throw new UnauthorizedError('the access token expired', {
      code: 'invalid_token',
      headers: { 'WWW-Authenticate': 'Bearer error="invalid_token"' },
    });
  });
  router.get('/busy', () => {
    throw new DependencyUnavailableError('the consent store is not answering', { headers: { 'Retry-After': '5' } });
  });
  router.get('/quoted', () => {
    throw new BadRequestError('scope "openid" is missing\\ café');
  });
  router.get('/invalid-fields', () => {
    throw new InvalidFieldsError('the settings are not valid', [
      { pointer: '/lifetimes/idTokenSeconds', detail: 'must be at most 3600' },
    ]);
  });
  router.get('/obie-items', () => {
    throw new ObieError({
      kind: 'bad_request',
      code: 'invalid_request',
      description: 'the payment request is incomplete',
      errors: [
        {
          ErrorCode: 'UK.OBIE.Field.Missing',
          Message: 'InstructedAmount is missing',
          Path: 'Data.Initiation.InstructedAmount',
        },
      ],
    });
  });
  router.get('/own-details', () => {
    // A domain error declaring OBIE items without importing @obip/http.
    class SignatureError extends DomainError {
      readonly details = [{ ErrorCode: 'UK.OBIE.Signature.Invalid', Message: 'x-jws-signature does not verify' }];
    }
    throw new SignatureError({ kind: 'bad_request', code: 'invalid_signature', description: 'bad signature' });
  });
  router.get('/crash', () => {
    throw new Error('connection to mongodb://admin:hunter2@db failed');
  });
  router.get('/async-crash', async () => {
    await Promise.resolve();
    throw new TypeError('Cannot read properties of undefined (reading secret_field)');
  });
  router.get('/unexposed', () => {
    throw new DomainError({ kind: 'bad_request', code: 'internal_rule', description: 'private detail', expose: false });
  });
  router.get('/param/:id', (req, res) => {
    res.json({ id: req.params.id });
  });
  router.use(notFoundHandler(format));
  router.use(errorHandler(format));
  return router;
}

let server: RunningServer;
const logs = captureLogs();

before(async () => {
  const app = createHttpApp({ logger: logs.logger });
  app.use('/oauth', throwingRouter('oauth'));
  app.use('/obie', throwingRouter('obie'));
  app.use('/problem', throwingRouter('problem'));
  app.use(notFoundHandler('oauth'), errorHandler('oauth'));
  server = await listen(app);
});
after(() => server.close());

async function get(path: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${server.url}${path}`, { headers });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

describe('statusForKind', () => {
  it('maps every error kind to its HTTP status', () => {
    for (const [kind, status] of Object.entries(KIND_STATUS))
      assert.equal(statusForKind(kind as ErrorKind), status, kind);
  });
});

describe("errorHandler('oauth')", () => {
  it('answers {error, error_description} as JSON with the status of the kind', async () => {
    for (const [kind, status] of Object.entries(KIND_STATUS)) {
      if (kind === 'internal') continue; // unexposed by default, see below
      const response = await get(`/oauth/kind/${kind}`);
      assert.equal(response.status, status, kind);
      assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
      assert.deepEqual(JSON.parse(response.text), { error: `code_${kind}`, error_description: 'described' });
    }
  });

  it('sets WWW-Authenticate from the error (RFC 6750 §3)', async () => {
    const response = await get('/oauth/bearer');
    assert.equal(response.status, 401);
    assert.equal(response.headers.get('www-authenticate'), 'Bearer error="invalid_token"');
    assert.equal(JSON.parse(response.text).error, 'invalid_token');
  });

  it('sets Retry-After on a 503 and never lets an error be cached', async () => {
    const response = await get('/oauth/busy');
    assert.equal(response.status, 503);
    assert.equal(response.headers.get('retry-after'), '5');
    assert.equal(response.headers.get('cache-control'), 'no-store');
    assert.equal(JSON.parse(response.text).error, 'temporarily_unavailable');
  });

  it('keeps error_description within the characters RFC 6749 §5.2 allows', async () => {
    const body = JSON.parse((await get('/oauth/quoted')).text) as { error_description: string };
    assert.match(body.error_description, /^[\x20\x21\x23-\x5B\x5D-\x7E]*$/);
  });

  it('answers a path with a malformed percent-encoding with 400 invalid_request', async () => {
    const response = await get('/oauth/param/%E0%A4%A');
    assert.equal(response.status, 400);
    assert.equal(JSON.parse(response.text).error, 'invalid_request');
  });
});

describe("errorHandler('obie')", () => {
  it('answers the OBIE envelope with the request id and a default error code for the kind', async () => {
    const response = await get('/obie/kind/not_found', { 'x-request-id': 'req-123' });
    assert.equal(response.status, 404);
    assert.deepEqual(JSON.parse(response.text), {
      Code: '404 NotFound',
      Id: 'req-123',
      Message: 'described',
      Errors: [{ ErrorCode: 'UK.OBIE.Resource.NotFound', Message: 'described' }],
    });
  });

  it('uses the OBIE error items an ObieError carries', async () => {
    const body = JSON.parse((await get('/obie/obie-items')).text) as { Code: string; Errors: unknown };
    assert.equal(body.Code, '400 BadRequest');
    assert.deepEqual(body.Errors, [
      {
        ErrorCode: 'UK.OBIE.Field.Missing',
        Message: 'InstructedAmount is missing',
        Path: 'Data.Initiation.InstructedAmount',
      },
    ]);
  });

  it('uses OBIE error items that any DomainError subclass declares in details', async () => {
    const body = JSON.parse((await get('/obie/own-details')).text) as { Errors: Array<{ ErrorCode: string }> };
    assert.equal(body.Errors[0]?.ErrorCode, 'UK.OBIE.Signature.Invalid');
  });

  it('answers an unexpected error with UK.OBIE.UnexpectedError and a generated Id when the request id is too long for it', async () => {
    const response = await get('/obie/crash', { 'x-request-id': 'r'.repeat(100) });
    assert.equal(response.status, 500);
    const body = JSON.parse(response.text) as { Code: string; Id: string; Errors: Array<{ ErrorCode: string }> };
    assert.equal(body.Code, '500 InternalServerError');
    assert.match(body.Id, /^[0-9a-f-]{36}$/);
    assert.equal(body.Errors[0]?.ErrorCode, 'UK.OBIE.UnexpectedError');
    assert.doesNotMatch(response.text, /hunter2|mongodb/);
  });
});

describe("errorHandler('problem')", () => {
  it('answers application/problem+json with type, title, status, detail and code (RFC 9457)', async () => {
    const response = await get('/problem/kind/conflict');
    assert.equal(response.status, 409);
    assert.match(response.headers.get('content-type') ?? '', /^application\/problem\+json/);
    assert.deepEqual(JSON.parse(response.text), {
      type: 'about:blank',
      title: 'Conflict',
      status: 409,
      detail: 'described',
      code: 'code_conflict',
    });
  });

  it('lists each invalid member under errors with its JSON pointer (RFC 9457 §3)', async () => {
    const response = await get('/problem/invalid-fields');
    assert.equal(response.status, 400);
    assert.deepEqual(JSON.parse(response.text).errors, [
      { pointer: '/lifetimes/idTokenSeconds', detail: 'must be at most 3600' },
    ]);
    const oauth = await get('/oauth/invalid-fields');
    assert.equal(JSON.parse(oauth.text).errors, undefined);
  });
});

describe('unexpected errors', () => {
  it('become a 500 server_error with generic text, no message and no stack', async () => {
    for (const path of ['/oauth/crash', '/oauth/async-crash', '/oauth/kind/internal', '/oauth/unexposed']) {
      const response = await get(path);
      assert.equal(response.status, 500, path);
      const body = JSON.parse(response.text) as { error: string; error_description: string };
      assert.equal(body.error, 'server_error', path);
      assert.doesNotMatch(
        response.text,
        /hunter2|mongodb|secret_field|private detail|described|at .*\.ts|Error:/,
        path,
      );
    }
  });

  it('are logged through req.log with their cause and the request id', async () => {
    await get('/problem/crash', { 'x-request-id': 'crash-log-1' });
    const line = logs.lines().find((entry) => entry.msg === 'unexpected error' && entry.reqId === 'crash-log-1');
    assert.ok(line, 'an "unexpected error" line with the request id');
    assert.match(JSON.stringify(line.err), /connection to mongodb/);
  });
});

describe('notFoundHandler', () => {
  it('answers an unknown path with 404 in the router format', async () => {
    const oauth = await get('/oauth/nothing-here');
    assert.equal(oauth.status, 404);
    assert.equal(JSON.parse(oauth.text).error, 'not_found');

    const obie = JSON.parse((await get('/obie/nothing-here')).text) as { Errors: Array<{ ErrorCode: string }> };
    assert.equal(obie.Errors[0]?.ErrorCode, 'UK.OBIE.Resource.NotFound');

    const problem = await get('/problem/nothing-here');
    assert.equal(JSON.parse(problem.text).status, 404);

    assert.equal((await get('/elsewhere')).status, 404);
  });
});
