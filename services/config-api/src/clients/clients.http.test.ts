import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { clientsV1, tokensV1 } from '@obip/contracts';
import { NotFoundError, PreconditionFailedError } from '@obip/errors';
import { createGrpcServer, type GrpcServer } from '@obip/grpc';
import { createLogger } from '@obip/observability';
import { checkOpenApiResponse, type OpenApiDocument } from '@obip/testing';
import { startConfigApiHarness, type ConfigApiHarness } from '../testing/config-api.harness';
import { createGrpcClientRegistry, createGrpcTokenRevoker } from './clients.grpc';
import { createClientsRouter } from './clients.http';
import { clientsOpenApiPaths } from './clients.openapi';
import { createClientOnboarding } from './clients.service';

const { ClientStatus } = clientsV1;

// Stand-ins for dcr-service and auth-server over real gRPC. dcr-service's own tests cover the
// registration rules and the transition table; these record what config-api asks of them.
const stored = new Map<string, clientsV1.Client>();
const revoked: Array<{ clientId: string; reason: string }> = [];
const setStatusCalls: clientsV1.SetClientStatusRequest[] = [];
let peers: GrpcServer;
let harness: ConfigApiHarness;
let openApi: OpenApiDocument;
let closePeers: () => void;

const ALLOWED: Array<[clientsV1.ClientStatus, clientsV1.ClientStatus]> = [
  [ClientStatus.CLIENT_STATUS_PENDING, ClientStatus.CLIENT_STATUS_ACTIVE],
  [ClientStatus.CLIENT_STATUS_PENDING, ClientStatus.CLIENT_STATUS_REJECTED],
  [ClientStatus.CLIENT_STATUS_ACTIVE, ClientStatus.CLIENT_STATUS_SUSPENDED],
  [ClientStatus.CLIENT_STATUS_SUSPENDED, ClientStatus.CLIENT_STATUS_ACTIVE],
];

before(async () => {
  peers = createGrpcServer({ serviceName: 'peers', logger: createLogger({ service: 'test', level: 'silent' }) });
  peers.addService(clientsV1.ClientRegistryService, {
    async createClient(request) {
      const client: clientsV1.Client = {
        clientId: `c-${stored.size + 1}`,
        status: ClientStatus.CLIENT_STATUS_PENDING,
        softwareId: request.softwareId,
        orgId: request.orgId,
        metadataJson: request.metadataJson,
        jwksJson: '',
        tlsClientAuthSubjectDn: '',
        fapiProfile: request.fapiProfile,
        createdAt: 1_795_000_000,
        updatedAt: 1_795_000_000,
        statusReason: request.reason,
      };
      stored.set(client.clientId, client);
      return { client };
    },
    async getClient({ clientId }) {
      const client = stored.get(clientId);
      if (!client) throw new NotFoundError('no such client', { code: 'client_not_found' });
      return { client };
    },
    async listClients() {
      return { clients: [...stored.values()], nextPageToken: '' };
    },
    async setClientStatus(request) {
      setStatusCalls.push(request);
      const client = stored.get(request.clientId);
      if (!client) throw new NotFoundError('no such client', { code: 'client_not_found' });
      if (!ALLOWED.some(([from, to]) => from === client.status && to === request.status)) {
        throw new PreconditionFailedError('cannot change the client status', { code: 'invalid_status_transition' });
      }
      const changed = { ...client, status: request.status, statusReason: request.reason };
      stored.set(client.clientId, changed);
      return { client: changed };
    },
  });
  peers.addService(tokensV1.TokensService, {
    async revokeByConsent() {
      return { revokedCount: 0 };
    },
    async revokeByClient(request) {
      revoked.push(request);
      return { revokedCount: 3 };
    },
    async revokeGrant() {
      return { revokedCount: 0 };
    },
    async completeAuthentication() {
      return {};
    },
  });
  const port = await peers.listen('127.0.0.1', 0);
  const registry = createGrpcClientRegistry(`127.0.0.1:${port}`, 2_000);
  const tokens = createGrpcTokenRevoker(`127.0.0.1:${port}`, 2_000);
  closePeers = () => {
    registry.close();
    tokens.close();
  };
  harness = await startConfigApiHarness({
    name: 'config-clients',
    extraRouters: (guard, audit) => ({
      routers: [
        createClientsRouter(createClientOnboarding({ registry: registry.port, tokens: tokens.port, audit }), guard),
      ],
      openApiPaths: clientsOpenApiPaths(),
    }),
  });
  openApi = (await (await fetch(`${harness.url}/openapi.json`)).json()) as OpenApiDocument;
});
after(async () => {
  await harness.stop();
  closePeers();
  await peers.shutdown(1_000);
});

async function call(method: string, path: string, body?: unknown, scopes?: string[]) {
  const response = await harness.call(path, {
    method,
    ...(scopes ? { scopes } : {}),
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are read field by field and checked against the OpenAPI document
  const parsed = (await response.json()) as any;
  assert.deepEqual(
    checkOpenApiResponse(openApi, {
      method,
      path: path.split('?')[0]!,
      status: response.status,
      contentType: response.headers.get('content-type'),
      body: parsed,
    }),
    [],
  );
  return { status: response.status, body: parsed };
}

const metadata = {
  redirect_uris: ['https://tpp.example/cb'],
  token_endpoint_auth_method: 'private_key_jwt',
  jwks_uri: 'https://tpp.example/jwks',
};

describe('/v1/clients', () => {
  it('onboards a client as pending through dcr-service, naming the admin as actor', async () => {
    const created = await call('POST', '/v1/clients', {
      metadata,
      softwareId: 'soft-1',
      orgId: 'org-1',
      fapiProfile: 'fapi1-advanced',
    });
    assert.equal(created.status, 201);
    assert.equal(created.body.status, 'pending');
    assert.equal(created.body.fapiProfile, 'fapi1-advanced');
    assert.deepEqual(created.body.metadata, metadata);
    assert.equal((await call('GET', `/v1/clients/${created.body.clientId}`)).body.status, 'pending');
    assert.equal((await call('GET', '/v1/clients?status=pending')).status, 200);
  });

  it('approves, suspends (revoking every token at auth-server) and reactivates, each audited', async () => {
    const { body: client } = await call('POST', '/v1/clients', { metadata, softwareId: 's', orgId: 'o' });
    const approved = await call('POST', `/v1/clients/${client.clientId}/approve`, { reason: 'contract signed' });
    assert.equal(approved.body.status, 'active');
    assert.equal(setStatusCalls.at(-1)!.actor, 'admin@bank.example (via admin-console)');

    const suspended = await call('POST', `/v1/clients/${client.clientId}/suspend`, { reason: 'fraud report' });
    assert.equal(suspended.body.status, 'suspended');
    assert.equal(suspended.body.revokedTokens, 3);
    assert.deepEqual(revoked.at(-1), { clientId: client.clientId, reason: 'suspended: fraud report' });

    const reactivated = await call('POST', `/v1/clients/${client.clientId}/reactivate`, { reason: 'cleared' });
    assert.equal(reactivated.body.status, 'active');

    const audit = await (await harness.call(`/v1/audit?resource=client&resourceId=${client.clientId}`)).json();
    assert.deepEqual(
      (audit as { entries: Array<{ action: string }> }).entries.map((entry) => entry.action),
      ['client.reactivate', 'client.suspend', 'client.approve', 'client.create'],
    );
  });

  it('answers 409 to a transition the registry refuses, 404 to an unknown client, 400 without a reason', async () => {
    const { body: client } = await call('POST', '/v1/clients', { metadata, softwareId: 's', orgId: 'o' });
    assert.equal((await call('POST', `/v1/clients/${client.clientId}/reject`, { reason: 'no contract' })).status, 200);
    const refused = await call('POST', `/v1/clients/${client.clientId}/approve`, { reason: 'changed my mind' });
    assert.equal(refused.status, 409);
    assert.equal(refused.body.code, 'invalid_status_transition');
    assert.equal((await call('POST', '/v1/clients/nope/approve', { reason: 'x' })).status, 404);
    assert.equal((await call('POST', `/v1/clients/${client.clientId}/suspend`, {})).status, 400);
  });

  it('needs obip:clients:write to change a client', async () => {
    const refused = await call('POST', '/v1/clients', { metadata, softwareId: 's', orgId: 'o' }, ['obip:config:write']);
    assert.equal(refused.status, 403);
  });
});
