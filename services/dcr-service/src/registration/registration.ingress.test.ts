import assert from 'node:assert/strict';
import { request as httpsRequest } from 'node:https';
import { after, before, describe, test } from 'node:test';
import {
  attachServerLogsOnFailure,
  checkOpenApiResponse,
  startIngressTwin,
  type IngressTwin,
  type IssuedCertificate,
  type OpenApiDocument,
  type TestSoftware,
} from '@obip/testing';
import { BANK_AUDIENCE, startDcrHarness, type DcrHarness } from '../testing/dcr.harness';
import { registrationOpenApi } from './registration.openapi';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Record<string, unknown> | undefined;
}

const doc = registrationOpenApi as unknown as OpenApiDocument;

describe('registration API through the ingress twin (real nginx, mTLS)', () => {
  let h: DcrHarness;
  let twin: IngressTwin;

  attachServerLogsOnFailure({ sources: [{ name: 'nginx', logs: () => twin?.logs() ?? '' }] });

  before(async () => {
    h = await startDcrHarness({ name: 'ingress' });
    twin = await startIngressTwin({ pki: h.pki, upstreams: { 'dcr-service': h.url } });
  });
  after(async () => {
    await twin?.stop();
    await h?.stop();
  });

  /** One HTTPS request to the mTLS host, checked against the OpenAPI document. */
  function send(
    method: string,
    path: string,
    options: { client?: IssuedCertificate; body?: string; contentType?: string; token?: string } = {},
  ): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = {};
      if (options.contentType) headers['content-type'] = options.contentType;
      if (options.token) headers.authorization = `Bearer ${options.token}`;
      const req = httpsRequest(
        `${twin.mtlsUrl}${path}`,
        {
          method,
          ca: twin.caBundlePem,
          cert: options.client?.chainPem,
          key: options.client?.keyPem,
          headers,
          agent: false,
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => {
            const body = text === '' ? undefined : (JSON.parse(text) as Record<string, unknown>);
            const reply = { status: res.statusCode ?? 0, headers: res.headers, body };
            const problems = checkOpenApiResponse(doc, {
              method,
              path,
              status: reply.status,
              contentType: res.headers['content-type'] ?? null,
              body,
            });
            if (problems.length > 0)
              reject(new Error(`response does not match the OpenAPI document: ${problems.join('; ')}`));
            else resolve(reply);
          });
        },
      );
      req.on('error', reject);
      if (options.body) req.write(options.body);
      req.end();
    });
  }

  const post = (software: TestSoftware, jws: string, contentType = 'application/jose') =>
    send('POST', '/register', { client: software.transport, body: jws, contentType });

  async function registered(alg: 'PS256' | 'ES256' = 'PS256') {
    const software = await h.newSoftware({ alg });
    const reply = await post(software, h.request(software));
    assert.equal(reply.status, 201);
    return {
      software,
      reply,
      clientId: String(reply.body!.client_id),
      token: String(reply.body!.registration_access_token),
    };
  }

  test('registers a TPP signing with PS256 (application/jose): 201, flattened SSA claims, no-store', async () => {
    const { software, reply, clientId } = await registered('PS256');
    assert.equal(reply.headers['cache-control'], 'no-store');
    assert.ok(clientId.length > 20 && clientId.length <= 36);
    assert.equal(reply.body!.software_id, software.softwareId);
    assert.equal(reply.body!.org_id, software.orgId);
    assert.deepEqual(reply.body!.software_roles, software.roles);
    assert.equal(reply.body!.software_jwks_endpoint, software.jwksUri);
    assert.equal(reply.body!.registration_client_uri, `https://mtls.bank.example/register/${clientId}`);
  });

  test('registers a TPP signing with ES256 (application/jwt)', async () => {
    const software = await h.newSoftware({ alg: 'ES256' });
    const reply = await post(software, h.request(software), 'application/jwt');
    assert.equal(reply.status, 201);
  });

  test('reads, updates and deletes with the registration access token; GET and PUT after DELETE are 401', async () => {
    const { software, clientId, token } = await registered();
    const path = `/register/${clientId}`;

    const read = await send('GET', path, { client: software.transport, token });
    assert.equal(read.status, 200);
    assert.equal(read.body!.client_id, clientId);
    assert.equal(read.body!.registration_access_token, undefined);

    const put = await send('PUT', path, {
      client: software.transport,
      token,
      contentType: 'application/jose',
      body: h.request(software, { claims: { scope: 'openid accounts payments' } }),
    });
    assert.equal(put.status, 200);
    assert.equal(put.body!.scope, 'openid accounts payments');

    const removed = await send('DELETE', path, { client: software.transport, token });
    assert.equal(removed.status, 204);
    // The revocation outbox delivers RevokeByClient to auth-server's tokens.v1.
    for (let i = 0; i < 50 && !h.revokeCalls.some((call) => call.clientId === clientId); i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.ok(h.revokeCalls.some((call) => call.clientId === clientId && call.reason === 'client_deleted'));

    const readAfter = await send('GET', path, { client: software.transport, token });
    assert.equal(readAfter.status, 401);
    assert.match(String(readAfter.headers['www-authenticate']), /^Bearer/);
    const putAfter = await send('PUT', path, {
      client: software.transport,
      token,
      contentType: 'application/jose',
      body: h.request(software),
    });
    assert.equal(putAfter.status, 401);
  });

  test('answers 401 for a wrong token and revokes a token presented for another client', async () => {
    const first = await registered();
    const second = await registered();
    const wrong = await send('GET', `/register/${first.clientId}`, {
      client: first.software.transport,
      token: 'not-the-token',
    });
    assert.equal(wrong.status, 401);
    const foreign = await send('GET', `/register/${first.clientId}`, {
      client: first.software.transport,
      token: second.token,
    });
    assert.equal(foreign.status, 401);
    // RFC 7592 §2: the presented token is revoked, so it no longer works for its own client either.
    const own = await send('GET', `/register/${second.clientId}`, {
      client: second.software.transport,
      token: second.token,
    });
    assert.equal(own.status, 401);
  });

  describe('OBIE DCR conformance scenarios, each 400', () => {
    const seconds = () => Math.floor(Date.now() / 1000);
    const cases: Array<[string, Record<string, unknown>]> = [
      ['an expired request (DCR-004)', { iat: seconds() - 900, exp: seconds() - 600 }],
      ['an empty iss (DCR-004)', { iss: '' }],
      ['a foreign iss (DCR-004)', { iss: 'foreign-software-id' }],
      ['an over-long iss (DCR-004)', { iss: 'x'.repeat(30) }],
      ['an RS256 token endpoint signing alg (DCR-004)', { token_endpoint_auth_signing_alg: 'RS256' }],
      ['response_types ["id_token","token"] (DCR-011)', { response_types: ['id_token', 'token'] }],
    ];
    for (const [name, claims] of cases) {
      test(`refuses ${name}`, async () => {
        const software = await h.newSoftware();
        const reply = await post(software, h.request(software, { claims }));
        assert.equal(reply.status, 400);
        assert.equal(reply.body!.error, 'invalid_client_metadata');
        assert.ok(String(reply.body!.error_description).length <= 500);
      });
    }

    test('refuses a request JWS signed with RS256', async () => {
      const software = await h.newSoftware();
      const jws = h.directory.mintRegistrationRequest(software, {
        ssa: h.directory.issueSsa(software),
        aud: BANK_AUDIENCE,
        alg: 'RS256',
      });
      const reply = await post(software, jws);
      assert.equal(reply.status, 400);
      assert.equal(reply.body!.error, 'invalid_client_metadata');
    });
  });

  test('refuses application/json registrations unless a setting allows them (415)', async () => {
    const software = await h.newSoftware();
    const reply = await post(
      software,
      JSON.stringify({ software_statement: h.directory.issueSsa(software) }),
      'application/json',
    );
    assert.equal(reply.status, 415);
  });

  test('refuses a body over 64 KiB with 413', async () => {
    const software = await h.newSoftware();
    const reply = await post(software, `${'a'.repeat(70 * 1024)}.b.c`);
    assert.equal(reply.status, 413);
  });
});

describe('registration API on the service port (edge headers set by the test)', () => {
  let h: DcrHarness;
  before(async () => {
    h = await startDcrHarness({ name: 'http', env: { DCR_ENABLED_METHODS: 'GET,PUT' } });
  });
  after(() => h.stop());

  test('answers 401 invalid_client without a client certificate', async () => {
    const software = await h.newSoftware();
    const response = await fetch(`${h.url}/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/jose' },
      body: h.request(software),
    });
    assert.equal(response.status, 401);
    const body = (await response.json()) as Record<string, unknown>;
    assert.equal(body.error, 'invalid_client');
    assert.deepEqual(
      checkOpenApiResponse(doc, {
        method: 'POST',
        path: '/register',
        status: 401,
        contentType: response.headers.get('content-type'),
        body,
      }),
      [],
    );
  });

  test('answers 405 with Allow for a management method switched off by settings', async () => {
    const software = await h.newSoftware();
    const response = await fetch(`${h.url}/register/some-client`, {
      method: 'DELETE',
      headers: { ...h.certificateHeaders(software), authorization: 'Bearer x' },
    });
    assert.equal(response.status, 405);
    assert.equal(response.headers.get('allow'), 'GET, PUT');
    const body = (await response.json()) as Record<string, unknown>;
    assert.deepEqual(
      checkOpenApiResponse(doc, {
        method: 'DELETE',
        path: '/register/some-client',
        status: 405,
        contentType: response.headers.get('content-type'),
        body,
      }),
      [],
    );
  });

  test('serves its OpenAPI 3.1 document at /openapi.json', async () => {
    const response = await fetch(`${h.url}/openapi.json`);
    assert.equal(response.status, 200);
    const served = (await response.json()) as OpenApiDocument;
    assert.equal(served.openapi, '3.1.0');
    assert.ok(served.paths['/register/{clientId}']);
  });
});
