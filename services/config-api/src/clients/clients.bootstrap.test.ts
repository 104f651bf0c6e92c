import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { clientsV1 } from '@obip/contracts';
import { BadRequestError, DependencyUnavailableError, NotFoundError } from '@obip/errors';
import { createLogger } from '@obip/observability';
import type { AuditTrail } from '../audit/audit.service';
import { startConfigApiHarness, type ConfigApiHarness } from '../testing/config-api.harness';
import {
  BOOTSTRAP_SOFTWARE_ID,
  bootstrapAdminClientSchema,
  ensureBootstrapAdminClient,
  startBootstrapAdminClient,
} from './clients.bootstrap';
import { createClientOnboarding, type ClientRegistryPort } from './clients.service';

const { ClientStatus } = clientsV1;
const logger = createLogger({ service: 'test', level: 'silent' });
const METADATA = bootstrapAdminClientSchema.parse({
  token_endpoint_auth_signing_alg: 'ES256',
  jwks: {
    keys: [
      {
        kty: 'EC',
        crv: 'P-256',
        x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU',
        y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0',
      },
    ],
  },
});

/**
 * dcr-service's ClientRegistry as config-api's port sees it, in memory: dcr-service's own tests
 * cover the registration rules; this records what the bootstrap asks of it.
 */
function registryDouble() {
  const clients = new Map<string, clientsV1.Client>();
  const calls = { create: 0, failNext: [] as Error[] };
  const port: ClientRegistryPort = {
    async create(request) {
      const failure = calls.failNext.shift();
      if (failure) throw failure;
      calls.create += 1;
      const client: clientsV1.Client = {
        clientId: `admin-${clients.size + 1}`,
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
      clients.set(client.clientId, client);
      return client;
    },
    async get(clientId) {
      const client = clients.get(clientId);
      if (!client) throw new NotFoundError('no such client', { code: 'client_not_found' });
      return client;
    },
    async list(request) {
      const matching = [...clients.values()].filter((c) => !request.softwareId || c.softwareId === request.softwareId);
      return { clients: matching, nextPageToken: '' };
    },
    async setStatus(request) {
      const client = clients.get(request.clientId)!;
      const changed = { ...client, status: request.status, statusReason: request.reason };
      clients.set(client.clientId, changed);
      return changed;
    },
  };
  return { clients, calls, port };
}

describe('the bootstrap administrator client', () => {
  let harness: ConfigApiHarness;
  let audit: AuditTrail;

  before(async () => {
    harness = await startConfigApiHarness({
      name: 'bootstrap',
      extraRouters: (_guard, trail) => {
        audit = trail;
        return { routers: [], openApiPaths: {} };
      },
    });
  });
  after(() => harness?.stop());
  beforeEach(() => harness.mongo.collection('bootstrap_claims').deleteMany({}));

  const onboardingWith = (port: ClientRegistryPort) =>
    createClientOnboarding({ registry: port, tokens: { revokeByClient: async () => 0 }, audit });

  test('is onboarded and approved once, with every admin scope and the client_credentials grant, and audited', async () => {
    const registry = registryDouble();
    const onboarding = onboardingWith(registry.port);
    const clientId = await ensureBootstrapAdminClient({ metadata: METADATA, onboarding, mongo: harness.mongo, logger });
    assert.equal(clientId, 'admin-1');
    const client = registry.clients.get('admin-1')!;
    assert.equal(client.status, ClientStatus.CLIENT_STATUS_ACTIVE);
    assert.equal(client.softwareId, BOOTSTRAP_SOFTWARE_ID);
    const metadata = JSON.parse(client.metadataJson) as Record<string, unknown>;
    assert.equal(
      metadata.scope,
      'obip:config:read obip:config:write obip:keys:rotate obip:clients:write obip:audit:read obip:consents:read obip:consents:write',
    );
    assert.deepEqual(metadata.grant_types, ['client_credentials']);
    assert.deepEqual(metadata.jwks, METADATA.jwks);

    // A restart finds it and onboards nothing more.
    assert.equal(
      await ensureBootstrapAdminClient({ metadata: METADATA, onboarding, mongo: harness.mongo, logger }),
      'admin-1',
    );
    assert.equal(registry.calls.create, 1);

    const response = await harness.call('/v1/audit?resourceId=admin-1');
    const entries = ((await response.json()) as { entries: Array<{ action: string; actor: { subject: string } }> })
      .entries;
    assert.deepEqual(entries.map((entry) => entry.action).sort(), ['client.approve', 'client.create']);
    for (const entry of entries) assert.equal(entry.actor.subject, 'config-api:bootstrap');
  });

  test('two replicas starting together onboard exactly one client', async () => {
    const registry = registryDouble();
    const onboarding = onboardingWith(registry.port);
    const results = await Promise.all(
      [1, 2, 3].map(() => ensureBootstrapAdminClient({ metadata: METADATA, onboarding, mongo: harness.mongo, logger })),
    );
    assert.equal(registry.calls.create, 1);
    assert.equal(results.filter((id) => id === 'admin-1').length, 1);
    assert.equal(results.filter((id) => id === undefined).length, 2);
  });

  test('a rejected bootstrap client does not count, and a lapsed claim of a dead replica is taken over', async () => {
    const registry = registryDouble();
    const onboarding = onboardingWith(registry.port);
    const first = await ensureBootstrapAdminClient({ metadata: METADATA, onboarding, mongo: harness.mongo, logger });
    await registry.port.setStatus({
      clientId: first!,
      status: ClientStatus.CLIENT_STATUS_REJECTED,
      reason: 'test',
      actor: 'test',
    });
    const start = new Date();
    // The claim of the first run is still live: a replica that comes now waits it out.
    const during = await ensureBootstrapAdminClient({
      metadata: METADATA,
      onboarding,
      mongo: harness.mongo,
      logger,
      now: () => start,
    });
    assert.equal(during, undefined);
    const later = await ensureBootstrapAdminClient({
      metadata: METADATA,
      onboarding,
      mongo: harness.mongo,
      logger,
      now: () => new Date(start.getTime() + 120_000),
    });
    assert.equal(later, 'admin-2');
    assert.equal(registry.clients.get('admin-2')?.status, ClientStatus.CLIENT_STATUS_ACTIVE);
  });

  test('approves a pending bootstrap client left by a run that stopped before approving it', async () => {
    const registry = registryDouble();
    const left = await registry.port.create({
      metadataJson: '{}',
      softwareId: BOOTSTRAP_SOFTWARE_ID,
      orgId: 'obip',
      actor: 'config-api:bootstrap',
      reason: 'BOOTSTRAP_ADMIN_CLIENT',
      fapiProfile: clientsV1.FapiProfile.FAPI_PROFILE_UNSPECIFIED,
    });
    const onboarding = onboardingWith(registry.port);
    assert.equal(
      await ensureBootstrapAdminClient({ metadata: METADATA, onboarding, mongo: harness.mongo, logger }),
      left.clientId,
    );
    assert.equal(registry.clients.get(left.clientId)?.status, ClientStatus.CLIENT_STATUS_ACTIVE);
    assert.equal(registry.calls.create, 1, 'nothing more was onboarded');
  });

  test('keeps retrying while dcr-service is unreachable, and gives up at once on refused metadata', async () => {
    const registry = registryDouble();
    registry.calls.failNext.push(
      new DependencyUnavailableError('dcr-service is unreachable'),
      new DependencyUnavailableError('dcr-service is unreachable'),
    );
    const retried = startBootstrapAdminClient({
      metadata: METADATA,
      onboarding: onboardingWith(registry.port),
      mongo: harness.mongo,
      logger,
      initialDelayMs: 10,
    });
    assert.equal(await retried.done, 'admin-1');
    assert.equal(registry.calls.create, 1);

    await harness.mongo.collection('bootstrap_claims').deleteMany({});
    const refusing = registryDouble();
    refusing.calls.failNext.push(new BadRequestError('scope is not valid', { code: 'invalid_client_metadata' }));
    const refused = startBootstrapAdminClient({
      metadata: METADATA,
      onboarding: onboardingWith(refusing.port),
      mongo: harness.mongo,
      logger,
      initialDelayMs: 10,
    });
    assert.equal(await refused.done, undefined);
    assert.equal(refusing.calls.create, 0);
    assert.equal(refusing.calls.failNext.length, 0, 'tried once');
  });

  test('the setting needs key material and refuses unknown members', () => {
    assert.equal(bootstrapAdminClientSchema.safeParse({}).success, false);
    assert.equal(bootstrapAdminClientSchema.safeParse({ ...METADATA, client_secret: 'x' }).success, false);
    assert.equal(bootstrapAdminClientSchema.safeParse({ jwks_uri: 'https://ops.bank.example/jwks' }).success, false);
    assert.equal(
      bootstrapAdminClientSchema.safeParse({
        jwks_uri: 'https://ops.bank.example/jwks',
        token_endpoint_auth_signing_alg: 'PS256',
      }).success,
      true,
    );
    assert.equal(
      bootstrapAdminClientSchema.safeParse({ ...METADATA, token_endpoint_auth_method: 'tls_client_auth' }).success,
      false,
      'tls_client_auth without a subject DN',
    );
  });
});
