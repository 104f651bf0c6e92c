// The portal's registration as a first-party client, against the real dcr-service (its main.ts
// as a child process, ClientRegistry over gRPC) and the real MongoDB-compatible server.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { clientsV1 } from '@obip/contracts';
import { DomainError } from '@obip/errors';
import { createGrpcClient, type GrpcClient } from '@obip/grpc';
import {
  attachServerLogsOnFailure,
  dropTestDatabase,
  generateSigningKey,
  serviceMongoEnv,
  startServiceProcess,
  testMongoUrl,
  testRedisPrefix,
  testRedisUrl,
  type ServiceProcess,
} from '@obip/testing';
import { startConsentFixture, type ConsentFixture } from '../test-fixtures/consent-fixture';
import {
  PORTAL_SOFTWARE,
  createPortalClient,
  metadataHashOf,
  portalClientMetadata,
  type PortalClient,
} from './portal.client';
import { createMongoPortalRegistrationStore } from './portal.client.mongo';
import { createGrpcClientRegistry } from './portal.registry.grpc';

const REDIRECT_URI = 'https://bank.example/portal/callback';

describe('the portal’s registration at dcr-service', () => {
  const dcrMongoUrl = testMongoUrl('portal_dcr');
  let dcr: ServiceProcess;
  let fixture: ConsentFixture;
  let registry: ReturnType<typeof createGrpcClientRegistry>;
  let peer: GrpcClient<typeof clientsV1.ClientRegistryService>;
  let metadata: Record<string, unknown>;

  attachServerLogsOnFailure({ sources: [{ name: 'dcr-service', logs: () => dcr?.output() ?? '' }] });

  before(async () => {
    dcr = await startServiceProcess({
      entry: 'services/dcr-service/src/main.ts',
      env: {
        HTTP_PORT: '0',
        GRPC_PORT: '0',
        OPS_PORT: '0',
        ...serviceMongoEnv(dcrMongoUrl),
        REDIS_URL: testRedisUrl(),
        REDIS_KEY_PREFIX: testRedisPrefix('portal_dcr'),
        SHUTDOWN_GRACE_MS: '1000',
      },
    });
    fixture = await startConsentFixture('portal_client');
    const target = `127.0.0.1:${dcr.ports.grpc}`;
    registry = createGrpcClientRegistry({ target, deadlineMs: 5_000 });
    peer = createGrpcClient(clientsV1.ClientRegistryClient, { target, defaultDeadlineMs: 5_000 });
    metadata = await metadataWithNewKey();
  });
  after(async () => {
    registry?.close();
    peer?.close();
    dcr?.kill();
    await fixture?.close();
    await dropTestDatabase(dcrMongoUrl);
  });
  beforeEach(async () => {
    await fixture.mongo.collection('portal_registration').deleteMany({});
  });

  async function metadataWithNewKey(): Promise<Record<string, unknown>> {
    const key = await generateSigningKey('ES256');
    return portalClientMetadata({
      clientName: 'Connected apps',
      redirectUri: REDIRECT_URI,
      signingAlg: 'ES256',
      publicJwks: { keys: [key.publicJwk] },
    });
  }

  /** One replica's (or one start's) view of the registration. */
  const portalClient = (of: Record<string, unknown> = metadata): PortalClient =>
    createPortalClient({ registry, store: createMongoPortalRegistrationStore(fixture.mongo), metadata: of });

  const getClient = async (clientId: string) => (await peer.call('getClient', { clientId })).client!;

  test('registers a first-party FAPI 2.0 client with DPoP-bound tokens, approved, once across restarts', async () => {
    const clientId = await portalClient().clientId();
    const found = await getClient(clientId);
    assert.equal(found.status, clientsV1.ClientStatus.CLIENT_STATUS_ACTIVE);
    assert.equal(found.firstParty, true);
    assert.equal(found.softwareId, PORTAL_SOFTWARE.softwareId);
    assert.equal(found.fapiProfile, clientsV1.FapiProfile.FAPI_PROFILE_FAPI2_SECURITY);
    const registered = JSON.parse(found.metadataJson) as Record<string, unknown>;
    assert.deepEqual(registered.redirect_uris, [REDIRECT_URI]);
    assert.equal(registered.token_endpoint_auth_method, 'private_key_jwt');
    assert.equal(registered.dpop_bound_access_tokens, true);
    assert.equal(registered.scope, 'openid');

    assert.equal(await portalClient().clientId(), clientId, 'a restart uses the stored registration');
  });

  test('replicas starting at once settle on one registration and withdraw the others', async () => {
    const portalClients = async () =>
      (
        await peer.call('listClients', {
          softwareId: PORTAL_SOFTWARE.softwareId,
          orgId: '',
          status: clientsV1.ClientStatus.CLIENT_STATUS_UNSPECIFIED,
          pageSize: 100,
          pageToken: '',
        })
      ).clients;
    const before = new Set((await portalClients()).map((client) => client.clientId));
    const ids = await Promise.all([portalClient().clientId(), portalClient().clientId(), portalClient().clientId()]);
    assert.equal(new Set(ids).size, 1);
    const created = (await portalClients()).filter((client) => !before.has(client.clientId));
    const active = created.filter((client) => client.status === clientsV1.ClientStatus.CLIENT_STATUS_ACTIVE);
    assert.deepEqual(
      active.map((client) => client.clientId),
      [ids[0]],
    );
    for (const other of created.filter((client) => client.clientId !== ids[0])) {
      assert.equal(other.status, clientsV1.ClientStatus.CLIENT_STATUS_REJECTED, 'a loser withdrew its registration');
    }
  });

  test('a start interrupted between create and approve is approved at the next start', async () => {
    const store = createMongoPortalRegistrationStore(fixture.mongo);
    const pending = await registry.createFirstPartyClient({ metadata, ...PORTAL_SOFTWARE, reason: 'test' });
    assert.equal(await store.replace({ clientId: pending, metadataHash: metadataHashOf(metadata) }, undefined), true);
    assert.equal(await portalClient().clientId(), pending);
    assert.equal((await getClient(pending)).status, clientsV1.ClientStatus.CLIENT_STATUS_ACTIVE);
  });

  test('a new key registers again and suspends the registration it replaces', async () => {
    const first = await portalClient().clientId();
    const rotated = await metadataWithNewKey();
    const second = await portalClient(rotated).clientId();
    assert.notEqual(second, first);
    assert.equal((await getClient(second)).status, clientsV1.ClientStatus.CLIENT_STATUS_ACTIVE);
    assert.equal((await getClient(first)).status, clientsV1.ClientStatus.CLIENT_STATUS_SUSPENDED);
  });

  test('a registration an administrator suspended stops sign-in (503) and is not registered around', async () => {
    const clientId = await portalClient().clientId();
    await peer.call('setClientStatus', {
      clientId,
      status: clientsV1.ClientStatus.CLIENT_STATUS_SUSPENDED,
      reason: 'incident 7',
      actor: 'admin:alice',
    });
    await assert.rejects(portalClient().clientId(), (error: unknown) => {
      assert.ok(error instanceof DomainError);
      assert.equal(error.kind, 'unavailable');
      assert.equal(error.code, 'portal_client_unavailable');
      return true;
    });
    const stored = await createMongoPortalRegistrationStore(fixture.mongo).find();
    assert.equal(stored?.clientId, clientId, 'still the suspended registration');
  });

  test('describes a TPP by its registered name and logo; an unknown client is undefined', async () => {
    const key = await generateSigningKey('PS256');
    const { client } = await peer.call('createClient', {
      metadataJson: JSON.stringify({
        client_name: 'Budget Buddy',
        logo_uri: 'https://logos.budget.example/logo.png',
        redirect_uris: ['https://budget.example/cb'],
        token_endpoint_auth_method: 'private_key_jwt',
        token_endpoint_auth_signing_alg: 'PS256',
        grant_types: ['authorization_code'],
        response_types: ['code'],
        scope: 'openid accounts',
        id_token_signed_response_alg: 'PS256',
        request_object_signing_alg: 'PS256',
        jwks: { keys: [key.publicJwk] },
      }),
      softwareId: 'budget-buddy',
      orgId: 'budget-org',
      actor: 'test',
      reason: 'test',
      fapiProfile: clientsV1.FapiProfile.FAPI_PROFILE_UNSPECIFIED,
    });
    assert.deepEqual(await registry.describe(client!.clientId), {
      name: 'Budget Buddy',
      logoUri: 'https://logos.budget.example/logo.png',
    });
    assert.equal(await registry.describe('no-such-client'), undefined);
  });
});
