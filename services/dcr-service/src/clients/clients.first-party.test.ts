// First-party clients (issue 5, the customer portal): the bank's own application is onboarded
// with clients.v1 CreateClient first_party and auth-server shows it no consent page. Only that
// administrator path can set the mark; a TPP registering through DCR never gets it.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { clientsV1 } from '@obip/contracts';
import { DomainError } from '@obip/errors';
import type { GrpcClient } from '@obip/grpc';
import { generateSigningKey, type Jwk } from '@obip/testing';
import {
  serveClientRegistry,
  startDcrHarness,
  type DcrHarness,
  type ServedClientRegistry,
} from '../testing/dcr.harness';

describe('first-party clients', () => {
  let h: DcrHarness;
  let served: ServedClientRegistry | undefined;
  let registry: GrpcClient<typeof clientsV1.ClientRegistryService>;
  let publicJwk: Jwk;

  before(async () => {
    h = await startDcrHarness({ name: 'first_party' });
    served = await serveClientRegistry(h);
    registry = served.client;
    ({ publicJwk } = await generateSigningKey('ES256'));
  });
  after(async () => {
    await served?.stop();
    await h?.stop();
  });

  /** What consent-service's portal registers: FAPI 2.0, private_key_jwt, DPoP-bound tokens. */
  const portalMetadata = (overrides: Record<string, unknown> = {}) =>
    JSON.stringify({
      client_name: 'Connected apps',
      redirect_uris: ['https://bank.example/portal/callback'],
      token_endpoint_auth_method: 'private_key_jwt',
      token_endpoint_auth_signing_alg: 'ES256',
      grant_types: ['authorization_code'],
      response_types: ['code'],
      scope: 'openid',
      id_token_signed_response_alg: 'ES256',
      request_object_signing_alg: 'ES256',
      dpop_bound_access_tokens: true,
      jwks: { keys: [publicJwk] },
      ...overrides,
    });

  const onboard = (request: Partial<clientsV1.CreateClientRequest>) =>
    registry.call('createClient', {
      metadataJson: portalMetadata(),
      softwareId: 'obip-customer-portal',
      orgId: 'obip',
      actor: 'consent-service',
      reason: 'the customer portal',
      fapiProfile: clientsV1.FapiProfile.FAPI_PROFILE_FAPI2_SECURITY,
      ...request,
    });

  test('CreateClient with first_party stores the mark and GetClient returns it, with DPoP-bound tokens', async () => {
    const { client: created } = await onboard({ firstParty: true });
    assert.equal(created?.firstParty, true);
    const { client: found } = await registry.call('getClient', { clientId: created!.clientId });
    assert.equal(found?.firstParty, true);
    const metadata = JSON.parse(found!.metadataJson) as Record<string, unknown>;
    assert.equal(metadata.dpop_bound_access_tokens, true);
    assert.equal(metadata.first_party, undefined, 'the mark is not client metadata');
  });

  test('CreateClient without first_party onboards an ordinary client', async () => {
    const { client: created } = await onboard({});
    const { client: found } = await registry.call('getClient', { clientId: created!.clientId });
    assert.notEqual(found?.firstParty, true);
  });

  test('CreateClient refuses a dpop_bound_access_tokens that is not a boolean', async () => {
    await assert.rejects(
      onboard({ metadataJson: portalMetadata({ dpop_bound_access_tokens: 'yes' }) }),
      (error: unknown) =>
        error instanceof DomainError && error.kind === 'bad_request' && error.code === 'invalid_client_metadata',
    );
  });

  test('a TPP registering through DCR is never first-party, whatever its request claims', async () => {
    const software = await h.newSoftware();
    const { client: registered } = await h.dcr.registration.register({
      body: {
        format: 'jws',
        jws: h.request(software, { claims: { first_party: true, firstParty: true, obip_first_party: true } }),
      },
      certificate: h.presented(software),
    });
    const { client: found } = await registry.call('getClient', { clientId: registered.clientId });
    assert.ok(found);
    assert.notEqual(found.firstParty, true);
    const metadata = JSON.parse(found.metadataJson) as Record<string, unknown>;
    for (const name of ['first_party', 'firstParty', 'obip_first_party']) assert.equal(metadata[name], undefined, name);
  });
});
