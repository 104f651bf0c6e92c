import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { clientsV1 } from '@obip/contracts';
import { DomainError } from '@obip/errors';
import type { GrpcClient } from '@obip/grpc';
import {
  serveClientRegistry,
  startDcrHarness,
  type DcrHarness,
  type ServedClientRegistry,
} from '../testing/dcr.harness';

describe('clients.v1.ClientRegistry over a real gRPC connection', () => {
  let h: DcrHarness;
  let served: ServedClientRegistry | undefined;
  let client: GrpcClient<typeof clientsV1.ClientRegistryService>;
  const registered: Array<{ clientId: string; orgId: string; softwareId: string }> = [];

  before(async () => {
    h = await startDcrHarness({ name: 'grpc' });
    served = await serveClientRegistry(h);
    client = served.client;
    const shared = await h.newSoftware();
    for (const software of [shared, shared, await h.newSoftware()]) {
      const { client: c } = await h.dcr.registration.register({
        body: { format: 'jws', jws: h.request(software) },
        certificate: h.presented(software),
      });
      registered.push({ clientId: c.clientId, orgId: c.orgId, softwareId: c.softwareId });
    }
  });
  after(async () => {
    await served?.stop();
    await h?.stop();
  });

  test('GetClient returns the metadata, the resolved client JWKS and status', async () => {
    const { clientId, softwareId } = registered[0]!;
    const { client: found } = await client.call('getClient', { clientId });
    assert.ok(found);
    assert.equal(found.clientId, clientId);
    assert.equal(found.softwareId, softwareId);
    assert.equal(found.status, clientsV1.ClientStatus.CLIENT_STATUS_ACTIVE);
    const metadata = JSON.parse(found.metadataJson) as Record<string, unknown>;
    assert.equal(metadata.token_endpoint_auth_method, 'private_key_jwt');
    const jwks = JSON.parse(found.jwksJson) as { keys: unknown[] };
    assert.equal(jwks.keys.length, 1);
  });

  test('GetClient of an unknown client is NOT_FOUND (client_not_found)', async () => {
    await assert.rejects(client.call('getClient', { clientId: 'nope' }), (error: unknown) => {
      assert.ok(error instanceof DomainError);
      assert.equal(error.kind, 'not_found');
      assert.equal(error.code, 'client_not_found');
      return true;
    });
  });

  test('ListClients pages in a stable order and filters by software and organisation', async () => {
    const base = { orgId: '', softwareId: '', status: clientsV1.ClientStatus.CLIENT_STATUS_UNSPECIFIED };
    const first = await client.call('listClients', { ...base, pageSize: 2, pageToken: '' });
    assert.equal(first.clients.length, 2);
    assert.notEqual(first.nextPageToken, '');
    const second = await client.call('listClients', { ...base, pageSize: 2, pageToken: first.nextPageToken });
    assert.equal(second.clients.length, 1);
    assert.equal(second.nextPageToken, '');
    const all = [...first.clients, ...second.clients].map((c) => c.clientId);
    assert.deepEqual(all, [...all].sort());
    assert.deepEqual(new Set(all), new Set(registered.map((r) => r.clientId)));

    const bySoftware = await client.call('listClients', {
      ...base,
      softwareId: registered[0]!.softwareId,
      pageSize: 0,
      pageToken: '',
    });
    assert.equal(bySoftware.clients.length, 2);
    const byOrg = await client.call('listClients', {
      ...base,
      orgId: registered[2]!.orgId,
      pageSize: 0,
      pageToken: '',
    });
    assert.deepEqual(
      byOrg.clients.map((c) => c.clientId),
      [registered[2]!.clientId],
    );
  });

  test('SetClientStatus suspends a client, records who and why, and ListClients filters by status', async () => {
    const { clientId } = registered[1]!;
    const { client: updated } = await client.call('setClientStatus', {
      clientId,
      status: clientsV1.ClientStatus.CLIENT_STATUS_SUSPENDED,
      reason: 'directory revoked the software',
      actor: 'config-api',
    });
    assert.equal(updated?.status, clientsV1.ClientStatus.CLIENT_STATUS_SUSPENDED);
    assert.equal(updated?.statusReason, 'directory revoked the software');
    const suspended = await client.call('listClients', {
      orgId: '',
      softwareId: '',
      status: clientsV1.ClientStatus.CLIENT_STATUS_SUSPENDED,
      pageSize: 0,
      pageToken: '',
    });
    assert.deepEqual(
      suspended.clients.map((c) => c.clientId),
      [clientId],
    );
    const audit = await h.mongo.collection('client_audit').findOne({ clientId, action: 'set_status' });
    assert.equal(audit?.actor, 'config-api');
  });

  test('SetClientStatus refuses UNSPECIFIED with INVALID_ARGUMENT', async () => {
    await assert.rejects(
      client.call('setClientStatus', {
        clientId: registered[0]!.clientId,
        status: clientsV1.ClientStatus.CLIENT_STATUS_UNSPECIFIED,
        reason: '',
        actor: 'x',
      }),
      (error: unknown) => error instanceof DomainError && error.kind === 'bad_request',
    );
  });
});
