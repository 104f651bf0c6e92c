import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { DependencyUnavailableError } from '@obip/errors';
import { checkOpenApiResponse, freePort, type OpenApiDocument } from '@obip/testing';
import { registrationOpenApi } from './registration.openapi';
import { startDcrHarness, type DcrHarness } from '../testing/dcr.harness';

// The trusted directory's key set not answering is an outage of a dependency (503), not a bad
// software statement (400): the TPP should retry, and nothing is stored.
let h: DcrHarness;

before(async () => {
  const closedPort = await freePort();
  h = await startDcrHarness({
    name: 'dir_outage',
    env: {
      DCR_TRUSTED_DIRECTORIES: JSON.stringify([
        {
          issuer: 'OpenBanking Ltd (obip test)',
          jwksUri: `http://127.0.0.1:${closedPort}/jwks`,
          environment: 'sandbox',
        },
      ]),
      DCR_JWKS_TIMEOUT_MS: '500',
    },
  });
});
after(() => h?.stop());

test("a registration while the directory's key set does not answer is a 503 that stores nothing", async () => {
  const software = await h.newSoftware();
  await assert.rejects(
    h.dcr.registration.register({
      body: { format: 'jws', jws: h.request(software) },
      certificate: h.presented(software),
    }),
    (error: unknown) => error instanceof DependencyUnavailableError && error.kind === 'unavailable',
  );
  assert.equal(await h.mongo.collection('clients').countDocuments(), 0);
});

test('over HTTP the outage is a documented 503 temporarily_unavailable', async () => {
  const software = await h.newSoftware();
  const response = await fetch(`${h.url}/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/jose', ...h.certificateHeaders(software) },
    body: h.request(software),
  });
  const body = (await response.json()) as { error?: string };
  assert.equal(response.status, 503);
  assert.equal(body.error, 'temporarily_unavailable');
  assert.deepEqual(
    checkOpenApiResponse(registrationOpenApi as unknown as OpenApiDocument, {
      method: 'POST',
      path: '/register',
      status: 503,
      contentType: response.headers.get('content-type'),
      body,
    }),
    [],
  );
});
