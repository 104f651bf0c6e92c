import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { checkOpenApiResponse, type OpenApiDocument, type TestSoftware } from '@obip/testing';
import type { ClientStatus } from '../clients/clients.repository';
import { startDcrHarness, type DcrHarness } from '../testing/dcr.harness';
import { registrationOpenApi } from './registration.openapi';

const doc = registrationOpenApi as unknown as OpenApiDocument;

// RFC 7592 §2.1-2.3: a client that holds a valid registration access token but may not manage its
// registration is answered 403 Forbidden. Only an active client may; the token stays valid.
describe('RFC 7592 management of a client that is not active', () => {
  let h: DcrHarness;
  before(async () => {
    h = await startDcrHarness({ name: 'client_status' });
  });
  after(() => h.stop());

  async function registeredWithStatus(
    status: ClientStatus,
  ): Promise<{ software: TestSoftware; clientId: string; token: string }> {
    const software = await h.newSoftware();
    const { client, registrationAccessToken } = await h.dcr.registration.register({
      body: { format: 'jws', jws: h.request(software) },
      certificate: h.presented(software),
    });
    // The store applies any status it is told (the lifecycle rules are the administration
    // service's); DCR itself only ever registers active clients.
    const changed = await h.dcr.clients.setStatus(
      client.clientId,
      { from: 'active', to: status, reason: 'test' },
      { action: 'set_status', actor: 'test', fields: ['status'] },
    );
    assert.equal(changed?.status, status);
    return { software, clientId: client.clientId, token: registrationAccessToken! };
  }

  async function send(
    method: 'GET' | 'PUT' | 'DELETE',
    target: { software: TestSoftware; clientId: string; token: string },
  ): Promise<{ status: number; body: Record<string, unknown> | undefined }> {
    const response = await fetch(`${h.url}/register/${target.clientId}`, {
      method,
      headers: {
        ...h.certificateHeaders(target.software),
        authorization: `Bearer ${target.token}`,
        ...(method === 'PUT' ? { 'content-type': 'application/jose' } : {}),
      },
      ...(method === 'PUT' ? { body: h.request(target.software) } : {}),
    });
    const text = await response.text();
    const body = text === '' ? undefined : (JSON.parse(text) as Record<string, unknown>);
    if (response.status === 403) {
      assert.deepEqual(
        checkOpenApiResponse(doc, {
          method,
          path: `/register/${target.clientId}`,
          status: 403,
          contentType: response.headers.get('content-type'),
          body,
        }),
        [],
      );
    }
    return { status: response.status, body };
  }

  for (const status of ['suspended', 'pending', 'rejected'] as const) {
    for (const method of ['GET', 'PUT', 'DELETE'] as const) {
      test(`refuses ${method} for a ${status} client with 403 access_denied`, async () => {
        const target = await registeredWithStatus(status);
        const reply = await send(method, target);
        assert.equal(reply.status, 403);
        assert.equal(reply.body?.error, 'access_denied');
        assert.match(String(reply.body?.error_description), new RegExp(status));
        const stored = await h.dcr.clients.findById(target.clientId);
        assert.ok(stored, 'the client was not deleted');
        assert.equal(stored.status, status);
        assert.ok(stored.registrationAccessTokenHash, 'the registration access token was not revoked');
      });
    }
  }

  test('a reinstated client manages its registration again with the same token', async () => {
    const target = await registeredWithStatus('suspended');
    assert.equal((await send('GET', target)).status, 403);
    await h.dcr.clients.setStatus(
      target.clientId,
      { from: 'suspended', to: 'active', reason: 'reinstated' },
      { action: 'set_status', actor: 'test', fields: ['status'] },
    );
    const reply = await send('GET', target);
    assert.equal(reply.status, 200);
    assert.equal(reply.body?.client_id, target.clientId);
  });

  test('a wrong token for a suspended client is still 401, so the 403 reveals nothing to others', async () => {
    const target = await registeredWithStatus('suspended');
    const reply = await send('GET', { ...target, token: 'not-the-token' });
    assert.equal(reply.status, 401);
    assert.equal(reply.body?.error, 'invalid_token');
  });
});
