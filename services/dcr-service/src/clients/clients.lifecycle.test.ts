import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { clientsV1 } from '@obip/contracts';
import { DomainError } from '@obip/errors';
import type { GrpcClient } from '@obip/grpc';
import { generateSigningKey, testMongoKind, type Jwk } from '@obip/testing';
import {
  serveClientRegistry,
  startDcrHarness,
  type DcrHarness,
  type ServedClientRegistry,
} from '../testing/dcr.harness';

const { CLIENT_STATUS_ACTIVE, CLIENT_STATUS_PENDING, CLIENT_STATUS_REJECTED, CLIENT_STATUS_SUSPENDED } =
  clientsV1.ClientStatus;

/** What an administrator client for config-api's admin API registers with. */
const ADMIN_CLIENT = {
  client_name: 'Bank operations console',
  redirect_uris: undefined,
  grant_types: ['client_credentials'],
  response_types: undefined,
  scope: 'obip:config:read obip:audit:read',
  id_token_signed_response_alg: undefined,
  request_object_signing_alg: undefined,
};

// Manual onboarding (issue 8): config-api's /v1/clients creates a client from metadata in
// pending state and moves it through its lifecycle, over dcr-service's ClientRegistry.
describe('clients.v1.ClientRegistry: manual onboarding and the client lifecycle', () => {
  let h: DcrHarness;
  let served: ServedClientRegistry | undefined;
  let client: GrpcClient<typeof clientsV1.ClientRegistryService>;
  let publicJwk: Jwk;

  before(async () => {
    h = await startDcrHarness({ name: 'lifecycle' });
    served = await serveClientRegistry(h);
    client = served.client;
    ({ publicJwk } = await generateSigningKey('PS256'));
  });
  after(async () => {
    await served?.stop();
    await h?.stop();
  });

  const metadata = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
    client_name: 'Manual TPP',
    redirect_uris: ['https://tpp.example/callback'],
    token_endpoint_auth_method: 'private_key_jwt',
    token_endpoint_auth_signing_alg: 'PS256',
    grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
    response_types: ['code id_token'],
    scope: 'openid accounts',
    id_token_signed_response_alg: 'PS256',
    request_object_signing_alg: 'PS256',
    jwks: { keys: [publicJwk] },
    ...overrides,
  });

  const create = (overrides: Record<string, unknown> = {}, request: Partial<clientsV1.CreateClientRequest> = {}) =>
    client.call('createClient', {
      metadataJson: JSON.stringify(metadata(overrides)),
      softwareId: 'manual-software-1',
      orgId: 'manual-org-1',
      actor: 'admin:alice',
      reason: 'contract 42 signed',
      fapiProfile: clientsV1.FapiProfile.FAPI_PROFILE_UNSPECIFIED,
      ...request,
    });

  const pendingClientId = async (): Promise<string> => {
    const { client: created } = await create();
    assert.ok(created);
    return created.clientId;
  };

  const setStatus = (clientId: string, status: clientsV1.ClientStatus, reason = 'test') =>
    client.call('setClientStatus', { clientId, status, reason, actor: 'admin:bob' });

  /** Asserts a gRPC refusal by kind (the status) and stable code, and returns its description. */
  const refusal = async (call: Promise<unknown>, kind: string, code: string): Promise<string> => {
    let description = '';
    await assert.rejects(call, (error: unknown) => {
      assert.ok(error instanceof DomainError, `expected a DomainError, got ${String(error)}`);
      assert.equal(error.kind, kind);
      assert.equal(error.code, code);
      description = error.description;
      return true;
    });
    return description;
  };

  describe('CreateClient', () => {
    test('stores the client pending with an issued client_id, and GetClient shows it', async () => {
      const { client: created } = await create({}, { fapiProfile: clientsV1.FapiProfile.FAPI_PROFILE_FAPI2_SECURITY });
      assert.ok(created);
      assert.match(created.clientId, /^[A-Za-z0-9_-]{32}$/);
      assert.equal(created.status, CLIENT_STATUS_PENDING);
      assert.equal(created.statusReason, 'contract 42 signed');

      const { client: found } = await client.call('getClient', { clientId: created.clientId });
      assert.ok(found);
      assert.equal(found.status, CLIENT_STATUS_PENDING);
      assert.equal(found.softwareId, 'manual-software-1');
      assert.equal(found.orgId, 'manual-org-1');
      assert.equal(found.fapiProfile, clientsV1.FapiProfile.FAPI_PROFILE_FAPI2_SECURITY);
      const stored = JSON.parse(found.metadataJson) as Record<string, unknown>;
      assert.equal(stored.client_id, created.clientId);
      assert.equal(stored.client_name, 'Manual TPP');
      assert.equal(stored.software_id, 'manual-software-1');
      assert.deepEqual(stored.redirect_uris, ['https://tpp.example/callback']);
      assert.deepEqual(JSON.parse(found.jwksJson), { keys: [publicJwk] });
    });

    test('records who onboarded the client and why', async () => {
      const clientId = await pendingClientId();
      const audit = await h.mongo.collection('client_audit').findOne({ clientId, action: 'create' });
      assert.equal(audit?.actor, 'admin:alice');
      assert.equal(audit?.note, 'contract 42 signed');
    });

    test('accepts tls_client_auth with a subject DN and a jwks_uri, and returns the DN', async () => {
      const dn = 'CN=manual-software-1,OU=manual-org-1,O=TPP Ltd,C=GB';
      const { client: created } = await create({
        token_endpoint_auth_method: 'tls_client_auth',
        token_endpoint_auth_signing_alg: undefined,
        tls_client_auth_subject_dn: dn,
        jwks: undefined,
        jwks_uri: 'https://keys.tpp.example/jwks.json',
      });
      assert.equal(created?.status, CLIENT_STATUS_PENDING);
      assert.equal(created?.tlsClientAuthSubjectDn, dn);
      assert.equal(
        (JSON.parse(created!.metadataJson) as Record<string, unknown>).jwks_uri,
        'https://keys.tpp.example/jwks.json',
      );
    });

    const invalidMetadata: Array<[string, Record<string, unknown>, string, string]> = [
      [
        'an http redirect URI',
        { redirect_uris: ['http://tpp.example/callback'] },
        'invalid_redirect_uri',
        'redirect_uris',
      ],
      ['metadata without jwks or jwks_uri', { jwks: undefined }, 'invalid_client_metadata', 'jwks'],
      [
        'an unknown token endpoint auth method',
        { token_endpoint_auth_method: 'client_secret_basic' },
        'invalid_client_metadata',
        'token_endpoint_auth_method',
      ],
      [
        'tls_client_auth without a subject DN',
        { token_endpoint_auth_method: 'tls_client_auth', token_endpoint_auth_signing_alg: undefined },
        'invalid_client_metadata',
        'tls_client_auth_subject_dn',
      ],
      [
        'a private key in jwks',
        { jwks: { keys: [{ kty: 'EC', crv: 'P-256', x: 'x', y: 'y', d: 'secret' }] } },
        'invalid_client_metadata',
        'jwks',
      ],
      ['an unsupported grant type', { grant_types: ['implicit'] }, 'invalid_client_metadata', 'grant_types'],
      ['response_types ["token"]', { response_types: ['token'] }, 'invalid_client_metadata', 'response_types'],
      [
        'an RS256 ID token algorithm',
        { id_token_signed_response_alg: 'RS256' },
        'invalid_client_metadata',
        'id_token_signed_response_alg',
      ],
      ['a scope no software role offers', { scope: 'openid admin' }, 'invalid_client_metadata', 'scope'],
      [
        'admin API scopes mixed with TPP scopes',
        { ...ADMIN_CLIENT, scope: 'obip:config:read accounts' },
        'invalid_client_metadata',
        'scope',
      ],
      [
        'admin API scopes with the authorization_code grant',
        {
          ...ADMIN_CLIENT,
          redirect_uris: ['https://ops.bank.example/callback'],
          id_token_signed_response_alg: 'PS256',
          request_object_signing_alg: 'PS256',
          grant_types: ['authorization_code', 'client_credentials'],
          response_types: ['code'],
        },
        'invalid_client_metadata',
        'grant_types',
      ],
    ];
    for (const [name, overrides, code, field] of invalidMetadata) {
      test(`refuses ${name} with INVALID_ARGUMENT naming ${field}`, async () => {
        const before = await h.mongo.collection('clients').countDocuments();
        const description = await refusal(create(overrides), 'bad_request', code);
        assert.ok(description.includes(field), `"${description}" names ${field}`);
        assert.equal(await h.mongo.collection('clients').countDocuments(), before, 'nothing was stored');
      });
    }

    test('onboards an administrator client: admin API scopes, client_credentials only, no redirect URIs', async () => {
      const { client: created } = await create(ADMIN_CLIENT);
      assert.equal(created?.status, CLIENT_STATUS_PENDING);
      const stored = JSON.parse(created!.metadataJson) as Record<string, unknown>;
      assert.equal(stored.scope, 'obip:config:read obip:audit:read');
      assert.deepEqual(stored.grant_types, ['client_credentials']);
      assert.deepEqual(stored.redirect_uris, []);
      assert.deepEqual(stored.response_types, []);
    });

    test('refuses metadata_json that is not a JSON object, and a missing software_id or org_id', async () => {
      const notJson = await refusal(create({}, { metadataJson: '[1]' }), 'bad_request', 'invalid_client_metadata');
      assert.match(notJson, /metadata_json/);
      const noSoftware = await refusal(create({}, { softwareId: '' }), 'bad_request', 'invalid_argument');
      assert.match(noSoftware, /software_id/);
      const noOrg = await refusal(create({}, { orgId: '' }), 'bad_request', 'invalid_argument');
      assert.match(noOrg, /org_id/);
    });
  });

  describe('SetClientStatus transitions', () => {
    test('approves a pending client (pending → active) and records who and why', async () => {
      const clientId = await pendingClientId();
      const { client: approved } = await setStatus(clientId, CLIENT_STATUS_ACTIVE, 'checked the contract');
      assert.equal(approved?.status, CLIENT_STATUS_ACTIVE);
      assert.equal(approved?.statusReason, 'checked the contract');
      const audit = await h.mongo.collection('client_audit').findOne({ clientId, action: 'set_status' });
      assert.equal(audit?.actor, 'admin:bob');
      assert.equal(audit?.note, 'checked the contract');
    });

    test('rejects a pending client (pending → rejected)', async () => {
      const clientId = await pendingClientId();
      const { client: rejected } = await setStatus(clientId, CLIENT_STATUS_REJECTED, 'no contract');
      assert.equal(rejected?.status, CLIENT_STATUS_REJECTED);
      const { client: found } = await client.call('getClient', { clientId });
      assert.equal(found?.status, CLIENT_STATUS_REJECTED);
    });

    test('suspends an active client and reinstates it (active → suspended → active)', async () => {
      const clientId = await pendingClientId();
      await setStatus(clientId, CLIENT_STATUS_ACTIVE);
      const { client: suspended } = await setStatus(clientId, CLIENT_STATUS_SUSPENDED, 'directory revoked');
      assert.equal(suspended?.status, CLIENT_STATUS_SUSPENDED);
      const { client: reinstated } = await setStatus(clientId, CLIENT_STATUS_ACTIVE, 'directory restored');
      assert.equal(reinstated?.status, CLIENT_STATUS_ACTIVE);
    });

    test('setting the status a client already has changes nothing', async () => {
      const clientId = await pendingClientId();
      const { client: same } = await setStatus(clientId, CLIENT_STATUS_PENDING, 'again');
      assert.equal(same?.status, CLIENT_STATUS_PENDING);
      assert.equal(same?.statusReason, 'contract 42 signed');
      assert.equal(await h.mongo.collection('client_audit').countDocuments({ clientId, action: 'set_status' }), 0);
    });

    const refused: Array<[string, clientsV1.ClientStatus[], clientsV1.ClientStatus]> = [
      ['pending → suspended', [], CLIENT_STATUS_SUSPENDED],
      ['rejected → active', [CLIENT_STATUS_REJECTED], CLIENT_STATUS_ACTIVE],
      ['rejected → pending', [CLIENT_STATUS_REJECTED], CLIENT_STATUS_PENDING],
      ['rejected → suspended', [CLIENT_STATUS_REJECTED], CLIENT_STATUS_SUSPENDED],
      ['active → pending', [CLIENT_STATUS_ACTIVE], CLIENT_STATUS_PENDING],
      ['active → rejected', [CLIENT_STATUS_ACTIVE], CLIENT_STATUS_REJECTED],
      ['suspended → pending', [CLIENT_STATUS_ACTIVE, CLIENT_STATUS_SUSPENDED], CLIENT_STATUS_PENDING],
      ['suspended → rejected', [CLIENT_STATUS_ACTIVE, CLIENT_STATUS_SUSPENDED], CLIENT_STATUS_REJECTED],
    ];
    for (const [name, path, target] of refused) {
      test(`refuses ${name} with FAILED_PRECONDITION (invalid_status_transition)`, async () => {
        const clientId = await pendingClientId();
        for (const step of path) await setStatus(clientId, step);
        const description = await refusal(
          setStatus(clientId, target),
          'precondition_failed',
          'invalid_status_transition',
        );
        const [from, to] = name.split(' → ');
        assert.ok(description.includes(`from ${from} to ${to}`), description);
        const { client: unchanged } = await client.call('getClient', { clientId });
        assert.equal(unchanged?.status, path.at(-1) ?? CLIENT_STATUS_PENDING);
      });
    }

    test('refuses REJECTED → ACTIVE naming both statuses and that a rejected client is final', async () => {
      const clientId = await pendingClientId();
      await setStatus(clientId, CLIENT_STATUS_REJECTED);
      const description = await refusal(
        setStatus(clientId, CLIENT_STATUS_ACTIVE),
        'precondition_failed',
        'invalid_status_transition',
      );
      assert.match(description, /rejected client is final/);
    });

    test('an unknown client is NOT_FOUND (client_not_found)', async () => {
      await refusal(setStatus('no-such-client', CLIENT_STATUS_ACTIVE), 'not_found', 'client_not_found');
    });

    test(
      'of two administrators deciding a pending client at once, exactly one transition applies',
      {
        skip:
          testMongoKind() === 'ferretdb' &&
          'FerretDB 1.x does not make racing conditional updates atomic (docs/testing.md)',
      },
      async () => {
        const clientId = await pendingClientId();
        const results = await Promise.allSettled([
          setStatus(clientId, CLIENT_STATUS_ACTIVE, 'approve'),
          setStatus(clientId, CLIENT_STATUS_REJECTED, 'reject'),
        ]);
        const applied = results.filter((result) => result.status === 'fulfilled');
        const refusedOnes = results.filter((result) => result.status === 'rejected');
        assert.equal(applied.length, 1);
        assert.equal(refusedOnes.length, 1);
        const reason = (refusedOnes[0] as PromiseRejectedResult).reason as DomainError;
        assert.equal(reason.code, 'invalid_status_transition');
        assert.equal(await h.mongo.collection('client_audit').countDocuments({ clientId, action: 'set_status' }), 1);
      },
    );
  });
});
