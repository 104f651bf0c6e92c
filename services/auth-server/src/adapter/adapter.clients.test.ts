import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { clientsV1 } from '@obip/contracts';
import { DependencyUnavailableError, NotFoundError } from '@obip/errors';
import { createGrpcClient, createGrpcServer, type GrpcServer } from '@obip/grpc';
import { createLogger } from '@obip/observability';
import { createClientAdapter, type ClientRegistryGrpcClient } from './adapter.clients';

// A real gRPC server implementing dcr-service's ClientRegistry: a test double of a peer service
// (dcr-service's own gRPC is being built in parallel).
const clients = new Map<string, clientsV1.Client>();
const FAPI2_DEFAULT = { defaultProfile: 'fapi2-security', parForFapi1: false } as const;
let calls = 0;
/** While set, the registry answers only once it resolves: lookups overlap. */
let gate: Promise<void> | undefined;
/** Client ids the registry fails for, as when its database is down. */
const failing = new Set<string>();
let server: GrpcServer;
let registry: ClientRegistryGrpcClient;

const clientRecord = (clientId: string, overrides: Partial<clientsV1.Client> = {}): clientsV1.Client => ({
  clientId,
  status: clientsV1.ClientStatus.CLIENT_STATUS_ACTIVE,
  softwareId: 's',
  orgId: 'o',
  metadataJson: JSON.stringify({
    redirect_uris: ['https://tpp.example/cb'],
    token_endpoint_auth_method: 'tls_client_auth',
  }),
  jwksJson: JSON.stringify({ keys: [] }),
  tlsClientAuthSubjectDn: 'CN=tpp,O=OpenBanking,C=GB',
  fapiProfile: clientsV1.FapiProfile.FAPI_PROFILE_FAPI1_ADVANCED,
  createdAt: 1,
  updatedAt: 1,
  statusReason: '',
  ...overrides,
});

before(async () => {
  const logger = createLogger({ service: 'test', level: 'silent' });
  server = createGrpcServer({ serviceName: 'dcr-double', logger });
  server.addService(clientsV1.ClientRegistryService, {
    async getClient({ clientId }) {
      calls += 1;
      await gate;
      if (failing.has(clientId)) throw new DependencyUnavailableError('the registry database is down');
      const client = clients.get(clientId);
      if (!client) throw new NotFoundError('no such client', { code: 'client_not_found' });
      return { client };
    },
    listClients: async () => ({ clients: [], nextPageToken: '' }),
    setClientStatus: async () => ({}),
    createClient: async () => {
      throw new Error('the ClientRegistry double does not onboard clients');
    },
  });
  const port = await server.listen('127.0.0.1', 0);
  registry = createGrpcClient(clientsV1.ClientRegistryClient, { target: `127.0.0.1:${port}` });
});
after(async () => {
  registry.close();
  await server.shutdown(500);
});

test('maps a registered client to engine metadata with its JWKS, DN binding and profile requirements', async () => {
  clients.set('c-map', clientRecord('c-map'));
  const adapter = createClientAdapter({ registry, cacheTtlMs: 0, policy: FAPI2_DEFAULT });
  const metadata = (await adapter.find('c-map')) as Record<string, unknown>;
  assert.equal(metadata.client_id, 'c-map');
  assert.equal(metadata.tls_client_auth_subject_dn, 'CN=tpp,O=OpenBanking,C=GB');
  assert.deepEqual(metadata.jwks, { keys: [] });
  assert.equal(metadata.obip_fapi_profile, 'fapi1-advanced');
  assert.equal(metadata.require_signed_request_object, true);
});

test('uses the JWKS the registry resolved instead of the registered jwks_uri', async () => {
  clients.set(
    'c-jwks-uri',
    clientRecord('c-jwks-uri', {
      metadataJson: JSON.stringify({
        redirect_uris: ['https://tpp.example/cb'],
        token_endpoint_auth_method: 'private_key_jwt',
        jwks_uri: 'https://keystore.directory.example/tpp.jwks',
      }),
    }),
  );
  const adapter = createClientAdapter({ registry, cacheTtlMs: 0, policy: FAPI2_DEFAULT });
  const metadata = (await adapter.find('c-jwks-uri')) as Record<string, unknown>;
  assert.deepEqual(metadata.jwks, { keys: [] });
  assert.equal('jwks_uri' in metadata, false);
});

test('a client without a profile gets the platform default', async () => {
  clients.set('c-default', clientRecord('c-default', { fapiProfile: clientsV1.FapiProfile.FAPI_PROFILE_UNSPECIFIED }));
  const adapter = createClientAdapter({ registry, cacheTtlMs: 0, policy: FAPI2_DEFAULT });
  const metadata = (await adapter.find('c-default')) as Record<string, unknown>;
  assert.equal(metadata.obip_fapi_profile, 'fapi2-security');
  assert.equal(metadata.require_pushed_authorization_requests, true);
});

test('unknown, suspended and pending clients are not found', async () => {
  clients.set('c-suspended', clientRecord('c-suspended', { status: clientsV1.ClientStatus.CLIENT_STATUS_SUSPENDED }));
  clients.set('c-pending', clientRecord('c-pending', { status: clientsV1.ClientStatus.CLIENT_STATUS_PENDING }));
  const adapter = createClientAdapter({ registry, cacheTtlMs: 0, policy: FAPI2_DEFAULT });
  for (const id of ['c-unknown', 'c-suspended', 'c-pending']) assert.equal(await adapter.find(id), undefined, id);
});

test('reuses a client within the cache lifetime, reads it again after, and forgets it on invalidate', async () => {
  clients.set('c-cache', clientRecord('c-cache'));
  let clock = 1_000;
  const adapter = createClientAdapter({
    registry,
    cacheTtlMs: 30_000,
    policy: FAPI2_DEFAULT,
    now: () => clock,
  });
  const before = calls;
  await adapter.find('c-cache');
  await adapter.find('c-cache');
  assert.equal(calls - before, 1);
  clock += 30_001;
  await adapter.find('c-cache');
  assert.equal(calls - before, 2);
  adapter.invalidate('c-cache');
  await adapter.find('c-cache');
  assert.equal(calls - before, 3);
});

test('reads the profile policy on every lookup, so a live change applies to a cached client at once', async () => {
  clients.set('c-live', clientRecord('c-live'));
  let policy: { defaultProfile: 'fapi2-security'; parForFapi1: boolean } = { ...FAPI2_DEFAULT };
  const adapter = createClientAdapter({ registry, cacheTtlMs: 30_000, policy: () => policy });
  const before = calls;
  assert.equal(
    ((await adapter.find('c-live')) as Record<string, unknown>).require_pushed_authorization_requests,
    undefined,
  );
  policy = { ...policy, parForFapi1: true };
  assert.equal(((await adapter.find('c-live')) as Record<string, unknown>).require_pushed_authorization_requests, true);
  assert.equal(calls - before, 1, 'the registry was asked once');
});

test('a registry that does not answer is a 503 temporarily_unavailable, not an unknown client', async () => {
  const unreachable = createGrpcClient(clientsV1.ClientRegistryClient, {
    target: '127.0.0.1:1',
    defaultDeadlineMs: 300,
  });
  try {
    const adapter = createClientAdapter({ registry: unreachable, cacheTtlMs: 0, policy: FAPI2_DEFAULT });
    await assert.rejects(adapter.find('any'), (error: unknown) => {
      const e = error as { error?: string; status?: number };
      return e.error === 'temporarily_unavailable' && e.status === 503;
    });
  } finally {
    unreachable.close();
  }
});

/** Holds the registry's answers until the returned function is called. */
function holdAnswers(): () => void {
  let release!: () => void;
  gate = new Promise<void>((resolve) => (release = resolve));
  return () => {
    release();
    gate = undefined;
  };
}

/** Lets the lookups started so far reach the registry. */
const reachRegistry = () => new Promise((resolve) => setTimeout(resolve, 50));

test('concurrent lookups of a client that is not cached share one registry call', async () => {
  clients.set('c-flight', clientRecord('c-flight'));
  const adapter = createClientAdapter({ registry, cacheTtlMs: 30_000, policy: FAPI2_DEFAULT });
  const before = calls;
  const release = holdAnswers();
  const lookups = Array.from({ length: 32 }, () => adapter.find('c-flight'));
  await reachRegistry();
  release();
  const found = (await Promise.all(lookups)) as Array<Record<string, unknown>>;
  assert.equal(calls - before, 1);
  assert.ok(found.every((metadata) => metadata.client_id === 'c-flight'));
});

test('when a cached client expires under load, the requests in flight share one registry call', async () => {
  clients.set('c-expiry', clientRecord('c-expiry'));
  let clock = 1_000;
  const adapter = createClientAdapter({
    registry,
    cacheTtlMs: 30_000,
    refreshAheadMs: 0,
    policy: FAPI2_DEFAULT,
    now: () => clock,
  });
  await adapter.find('c-expiry');
  const before = calls;
  clock += 30_001;
  const release = holdAnswers();
  const lookups = Array.from({ length: 16 }, () => adapter.find('c-expiry'));
  await reachRegistry();
  release();
  await Promise.all(lookups);
  assert.equal(calls - before, 1);
});

test('a client in use is read again shortly before it expires, while the cached answer serves', async () => {
  clients.set('c-ahead', clientRecord('c-ahead'));
  let clock = 1_000;
  const adapter = createClientAdapter({
    registry,
    cacheTtlMs: 30_000,
    refreshAheadMs: 5_000,
    policy: FAPI2_DEFAULT,
    now: () => clock,
  });
  const before = calls;
  await adapter.find('c-ahead');
  clock += 25_000; // within the last 5 s
  const release = holdAnswers();
  assert.equal(((await adapter.find('c-ahead')) as Record<string, unknown>).client_id, 'c-ahead', 'served at once');
  assert.equal(((await adapter.find('c-ahead')) as Record<string, unknown>).client_id, 'c-ahead');
  await reachRegistry();
  release();
  await reachRegistry();
  assert.equal(calls - before, 2, 'one refresh, however many requests saw it due');
  clock += 10_000; // past the first answer's expiry, within the refreshed one's
  await adapter.find('c-ahead');
  assert.equal(calls - before, 2, 'no request waited for the registry');
});

test('a failed lookup is not cached: every request sharing it gets the 503, the next one asks again', async () => {
  clients.set('c-fails', clientRecord('c-fails'));
  failing.add('c-fails');
  const adapter = createClientAdapter({ registry, cacheTtlMs: 30_000, policy: FAPI2_DEFAULT });
  const before = calls;
  const outcomes = await Promise.allSettled([adapter.find('c-fails'), adapter.find('c-fails')]);
  for (const outcome of outcomes) {
    assert.equal(outcome.status, 'rejected');
    const error = (outcome as PromiseRejectedResult).reason as { error?: string; status?: number };
    assert.deepEqual([error.error, error.status], ['temporarily_unavailable', 503]);
  }
  assert.equal(calls - before, 1);
  failing.delete('c-fails');
  assert.equal(((await adapter.find('c-fails')) as Record<string, unknown>).client_id, 'c-fails');
  assert.equal(calls - before, 2);
});

test('a refresh that fails leaves the cached client serving until it expires, then the failure shows', async () => {
  clients.set('c-refresh-fails', clientRecord('c-refresh-fails'));
  let clock = 1_000;
  const adapter = createClientAdapter({
    registry,
    cacheTtlMs: 30_000,
    refreshAheadMs: 5_000,
    policy: FAPI2_DEFAULT,
    now: () => clock,
  });
  try {
    await adapter.find('c-refresh-fails');
    failing.add('c-refresh-fails');
    clock += 26_000;
    assert.ok(await adapter.find('c-refresh-fails'));
    await reachRegistry();
    assert.ok(await adapter.find('c-refresh-fails'), 'still cached after the failed refresh');
    clock += 5_000;
    await assert.rejects(
      adapter.find('c-refresh-fails'),
      (error: unknown) => (error as { status?: number }).status === 503,
    );
  } finally {
    failing.delete('c-refresh-fails');
  }
});

test('an unknown client is asked for again, so one registered meanwhile is found', async () => {
  const adapter = createClientAdapter({ registry, cacheTtlMs: 30_000, policy: FAPI2_DEFAULT });
  const before = calls;
  assert.equal(await adapter.find('c-later'), undefined);
  clients.set('c-later', clientRecord('c-later'));
  assert.equal(((await adapter.find('c-later')) as Record<string, unknown>).client_id, 'c-later');
  assert.equal(calls - before, 2);
});

test('an answer read before an invalidation is not kept', async () => {
  clients.set('c-stale', clientRecord('c-stale'));
  const adapter = createClientAdapter({ registry, cacheTtlMs: 30_000, policy: FAPI2_DEFAULT });
  const before = calls;
  const release = holdAnswers();
  const stale = adapter.find('c-stale');
  await reachRegistry();
  adapter.invalidate('c-stale');
  release();
  await stale;
  await adapter.find('c-stale');
  assert.equal(calls - before, 2);
});

test('every lookup of a cached client gets its own copy of the metadata, which the engine may normalise', async () => {
  clients.set('c-copy', clientRecord('c-copy'));
  const adapter = createClientAdapter({ registry, cacheTtlMs: 30_000, policy: FAPI2_DEFAULT });
  const first = (await adapter.find('c-copy')) as { redirect_uris: string[]; jwks: { keys: unknown[] } };
  first.redirect_uris.push('https://elsewhere.example/cb');
  first.jwks.keys.push({ kty: 'EC' });
  const second = (await adapter.find('c-copy')) as { redirect_uris: string[]; jwks: { keys: unknown[] } };
  assert.deepEqual(second.redirect_uris, ['https://tpp.example/cb']);
  assert.deepEqual(second.jwks, { keys: [] });
});
