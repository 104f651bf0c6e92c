// A TPP's whole registration lifecycle at dcr-service, every service real and every call through
// the edge's mTLS host (OBIE DCR 3.3 with RFC 7591/7592):
//
// - registration with PS256 and with ES256 software; reading (GET /register/{id}) and updating
//   (PUT, a signed JWS with every claim) both with the RFC 7592 registration access token and with
//   an OBIE client_credentials access token auth-server issued to the client (dcr-service accepts
//   both); an update keeps the client's tokens (OBIE DCR: PUT must not invalidate them);
// - the OBIE DCR conformance tool's negative scenarios (DCR-004, DCR-011), each 400 with the
//   RFC 7591 error code dcr-service documents (`invalid_client_metadata`, the rule named in
//   `error_description`) and no client created;
// - deletion: 204, then read and update 401 (DCR-003/009/010), the client's earlier access token
//   inactive at token-introspection and a new client_credentials grant refused (invalid_client).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { decodeProtectedHeader } from 'jose';
import * as oidc from 'openid-client';
import { fetch as undiciFetch } from 'undici';
import { clientsV1 } from '@obip/contracts';
import { createGrpcClient, type GrpcClient } from '@obip/grpc';
import {
  attachServerLogsOnFailure,
  randomBase62,
  type MintRequestOptions,
  type SigningAlg,
  type TestSoftware,
} from '@obip/testing';
import { platformLogSources, BANK, startPlatformWithGateway, type Platform } from '../platform/platform';

let platform: Platform;
/** The bank's API gateway: the resource server that introspects tokens at token-introspection. */
let gateway: oidc.Configuration;
/** dcr-service's clients.v1 registry, to see which clients exist (what config-api lists). */
let registry: GrpcClient<typeof clientsV1.ClientRegistryService>;

attachServerLogsOnFailure({
  sources: [platformLogSources(() => platform)],
});

before(async () => {
  ({ platform, gateway } = await startPlatformWithGateway({
    name: 'dcr_lifecycle',
  }));
  registry = createGrpcClient(clientsV1.ClientRegistryClient, {
    target: platform.grpcAddress('dcr-service'),
    defaultDeadlineMs: 5_000,
  });
});
after(async () => {
  registry?.close();
  await platform?.stop();
});

interface Reply {
  status: number;
  headers: Headers;
  body: Record<string, unknown> | undefined;
}

/** One call to `/register[/{clientId}]` on the edge's mTLS host, presenting the software's certificate. */
async function registration(
  software: TestSoftware,
  method: 'POST' | 'GET' | 'PUT' | 'DELETE',
  options: { clientId?: string; token?: string; jws?: string } = {},
): Promise<Reply> {
  const response = await undiciFetch(
    `${platform.twin.mtlsUrl}/register${options.clientId ? `/${options.clientId}` : ''}`,
    {
      method,
      headers: {
        accept: 'application/json',
        ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
        ...(options.jws ? { 'content-type': 'application/jose' } : {}),
      },
      ...(options.jws ? { body: options.jws } : {}),
      dispatcher: platform.tppAgent(software),
    },
  );
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers as unknown as Headers,
    body: text === '' ? undefined : (JSON.parse(text) as Record<string, unknown>),
  };
}

/** A registration request (OBIE conformance metadata) with a fresh software statement. */
function mint(software: TestSoftware, options: Partial<Omit<MintRequestOptions, 'ssa' | 'aud'>> = {}): string {
  return platform.directory.mintRegistrationRequest(software, {
    ssa: platform.directory.issueSsa(software),
    aud: BANK,
    ...options,
  });
}

/** The metadata algorithms matching the software's own key (FAPI: PS256 or ES256). */
function algorithmClaims(alg: SigningAlg): Record<string, string> {
  return {
    token_endpoint_auth_signing_alg: alg,
    id_token_signed_response_alg: alg,
    request_object_signing_alg: alg,
  };
}

/** The clients dcr-service holds for a software (any status). */
async function clientsOf(software: TestSoftware): Promise<string[]> {
  const { clients } = await registry.call('listClients', {
    pageSize: 100,
    pageToken: '',
    orgId: '',
    softwareId: software.softwareId,
    status: clientsV1.ClientStatus.CLIENT_STATUS_UNSPECIFIED,
  });
  return clients.map((client) => client.clientId);
}

/** The `error` of a failed openid-client call (ResponseBodyError). */
const oauthError = (code: string) => (error: unknown) => {
  assert.equal((error as { error?: string }).error, code, String(error));
  return true;
};

/** RFC 6750 §3: a 401 from the registration API challenges for a Bearer token. */
function assertUnauthorized(reply: Reply, what: string): void {
  assert.equal(reply.status, 401, `${what}: ${JSON.stringify(reply.body)}`);
  assert.match(reply.headers.get('www-authenticate') ?? '', /^Bearer/, what);
  assert.equal(reply.body?.error, 'invalid_token', what);
}

describe('DCR lifecycle through the edge', () => {
  for (const alg of ['PS256', 'ES256'] as const) {
    test(`${alg} software: registers, then reads and updates with the registration access token and with a client_credentials token`, async () => {
      const software = await platform.directory.registerSoftware({ alg });
      const request = mint(software, { claims: algorithmClaims(alg) });
      assert.equal(decodeProtectedHeader(request).alg, alg, 'the request is signed with the software key');

      // POST /register: 201 with the registration and its RFC 7592 management credentials.
      const registered = await registration(software, 'POST', { jws: request });
      assert.equal(registered.status, 201, JSON.stringify(registered.body));
      assert.equal(registered.headers.get('cache-control'), 'no-store');
      const clientId = String(registered.body!.client_id);
      const registrationToken = String(registered.body!.registration_access_token);
      assert.ok(clientId.length > 0 && clientId.length <= 36, 'OBIE: client_id at most 36 characters');
      assert.ok(registrationToken.length >= 32);
      assert.equal(registered.body!.registration_client_uri, `${platform.twin.mtlsUrl}/register/${clientId}`);
      assert.equal(registered.body!.software_id, software.softwareId);
      assert.equal(registered.body!.org_id, software.orgId);
      assert.equal(registered.body!.token_endpoint_auth_method, 'private_key_jwt');
      assert.equal(registered.body!.token_endpoint_auth_signing_alg, alg);
      assert.equal(registered.body!.jwks_uri, software.jwksUri);
      assert.equal(registered.body!.scope, 'accounts openid');
      assert.deepEqual(await clientsOf(software), [clientId]);

      // RFC 7592 §2.1: read with the registration access token; the token is not sent back.
      const read = await registration(software, 'GET', { clientId, token: registrationToken });
      assert.equal(read.status, 200, JSON.stringify(read.body));
      assert.equal(read.body!.client_id, clientId);
      assert.equal(read.body!.registration_access_token, undefined);
      assert.equal(read.body!.scope, 'accounts openid');

      // RFC 7592 §2.2 / OBIE PUT: every claim again, signed; the change is kept.
      const updated = await registration(software, 'PUT', {
        clientId,
        token: registrationToken,
        jws: mint(software, { claims: { ...algorithmClaims(alg), scope: 'openid accounts payments' } }),
      });
      assert.equal(updated.status, 200, JSON.stringify(updated.body));
      assert.equal(updated.body!.client_id, clientId);
      assert.equal(updated.body!.scope, 'openid accounts payments');
      // DCR_ROTATE_REGISTRATION_ACCESS_TOKEN is off by default: no new token, the old one still works.
      assert.equal(updated.body!.registration_access_token, undefined);

      // OBIE DCR 3.3: a client_credentials token auth-server issued to this client (with the
      // software's own key, private_key_jwt) reads and updates the registration too.
      const tpp = await platform.relyingParty(software, clientId);
      const { access_token: ccToken } = await oidc.clientCredentialsGrant(tpp, { scope: 'payments' });
      const readWithToken = await registration(software, 'GET', { clientId, token: ccToken });
      assert.equal(readWithToken.status, 200, JSON.stringify(readWithToken.body));
      assert.equal(readWithToken.body!.scope, 'openid accounts payments');
      const updatedWithToken = await registration(software, 'PUT', {
        clientId,
        token: ccToken,
        jws: mint(software, { claims: { ...algorithmClaims(alg), scope: 'openid accounts' } }),
      });
      assert.equal(updatedWithToken.status, 200, JSON.stringify(updatedWithToken.body));
      assert.equal(updatedWithToken.body!.scope, 'openid accounts');

      // OBIE DCR PUT must not invalidate the client's tokens; both credentials still read it.
      const introspected = await oidc.tokenIntrospection(gateway, ccToken);
      assert.equal(introspected.active, true);
      assert.equal(introspected.client_id, clientId);
      const again = await registration(software, 'GET', { clientId, token: ccToken });
      assert.equal(again.status, 200);
      assert.equal(again.body!.scope, 'openid accounts');
      assert.equal((await registration(software, 'GET', { clientId, token: registrationToken })).status, 200);
      assert.deepEqual(await clientsOf(software), [clientId], 'updates create no client');
    });
  }

  test('a token of another client reads nothing, and a client_credentials token so presented is revoked', async () => {
    const owner = await platform.directory.registerSoftware();
    const ownerClient = String((await registration(owner, 'POST', { jws: mint(owner) })).body!.client_id);
    const other = await platform.directory.registerSoftware();
    const otherClient = String((await registration(other, 'POST', { jws: mint(other) })).body!.client_id);
    const otherConfig = await platform.relyingParty(other, otherClient);
    const { access_token: otherToken } = await oidc.clientCredentialsGrant(otherConfig, { scope: 'accounts' });

    // DCR-007: a token that is no token.
    assertUnauthorized(
      await registration(owner, 'GET', { clientId: ownerClient, token: 'not-a-token' }),
      'not a token',
    );
    assertUnauthorized(
      await registration(other, 'GET', { clientId: ownerClient, token: otherToken }),
      "another client's token",
    );
    // OBIE DCR 3.3: a client_credentials token presented for a client it was not issued to is revoked.
    assert.deepEqual(await oidc.tokenIntrospection(gateway, otherToken), { active: false });
  });

  describe('OBIE DCR conformance negatives: 400, the documented error code, no client created', () => {
    const now = () => Math.floor(Date.now() / 1000);
    const cases: Array<{
      name: string;
      options: () => Partial<Omit<MintRequestOptions, 'ssa' | 'aud'>>;
      error: string;
      rule: RegExp;
    }> = [
      {
        name: 'an expired request: iat and exp in the past (DCR-004)',
        options: () => ({ iat: now() - 900, lifetimeSeconds: 300 }),
        error: 'invalid_client_metadata',
        rule: /^rule 3 exp\/iat: the request has expired/,
      },
      {
        name: 'a wrong iss: another software id (DCR-004)',
        options: () => ({ claims: { iss: randomBase62(22) } }),
        error: 'invalid_client_metadata',
        rule: /^rule 3 iss: iss must equal the software statement software_id/,
      },
      {
        name: 'an empty iss (DCR-004)',
        options: () => ({ claims: { iss: '' } }),
        error: 'invalid_client_metadata',
        rule: /^rule 3 iss: iss is required/,
      },
      {
        name: 'a request JWS signed with RS256 (FAPI 1.0 Advanced 8.6)',
        options: () => ({ alg: 'RS256' }),
        error: 'invalid_client_metadata',
        rule: /^rule 2 request JWS: alg ["']RS256["'] is not allowed/,
      },
      {
        name: 'token_endpoint_auth_signing_alg RS256 (DCR-004)',
        options: () => ({ claims: { token_endpoint_auth_signing_alg: 'RS256' } }),
        error: 'invalid_client_metadata',
        rule: /^rule 6 token_endpoint_auth_signing_alg:/,
      },
      {
        name: "response_types ['token']",
        options: () => ({ claims: { response_types: ['token'] } }),
        error: 'invalid_client_metadata',
        rule: /^rule 7 response_types: response type ["']token["'] is not supported/,
      },
      {
        name: "response_types ['id_token', 'token'] (DCR-011)",
        options: () => ({ claims: { response_types: ['id_token', 'token'] } }),
        error: 'invalid_client_metadata',
        rule: /^rule 7 response_types: response type ["']id_token["'] is not supported/,
      },
    ];
    for (const { name, options, error, rule } of cases) {
      test(`refuses ${name}`, async () => {
        const software = await platform.directory.registerSoftware();
        const refused = await registration(software, 'POST', { jws: mint(software, options()) });
        assert.equal(refused.status, 400, JSON.stringify(refused.body));
        assert.equal(refused.body!.error, error);
        const description = String(refused.body!.error_description);
        assert.match(description, rule);
        assert.ok(description.length <= 500, 'OBIE RegistrationError: error_description at most 500 characters');
        assert.equal(refused.body!.client_id, undefined);
        assert.deepEqual(await clientsOf(software), [], 'no client was created');

        // The same software with a correct request registers: only the broken claim was refused.
        const accepted = await registration(software, 'POST', { jws: mint(software) });
        assert.equal(accepted.status, 201, JSON.stringify(accepted.body));
        assert.deepEqual(await clientsOf(software), [accepted.body!.client_id]);
      });
    }
  });

  test('DELETE: 204, then read and update are 401, the earlier access token is inactive and the client gets no new token', async () => {
    const software = await platform.directory.registerSoftware();
    const registered = await registration(software, 'POST', { jws: mint(software) });
    assert.equal(registered.status, 201);
    const clientId = String(registered.body!.client_id);
    const registrationToken = String(registered.body!.registration_access_token);
    const tpp = await platform.relyingParty(software, clientId);
    const { access_token: earlier } = await oidc.clientCredentialsGrant(tpp, { scope: 'accounts' });
    assert.equal((await oidc.tokenIntrospection(gateway, earlier)).active, true);

    const deleted = await registration(software, 'DELETE', { clientId, token: registrationToken });
    assert.equal(deleted.status, 204);
    assert.equal(deleted.body, undefined);
    assert.deepEqual(await clientsOf(software), [], 'the client is gone');

    // DCR-010 and DCR-009: read and update of a deleted client are 401, with either credential.
    assertUnauthorized(await registration(software, 'GET', { clientId, token: registrationToken }), 'GET (RAT)');
    assertUnauthorized(
      await registration(software, 'PUT', { clientId, token: registrationToken, jws: mint(software) }),
      'PUT (RAT)',
    );
    assertUnauthorized(await registration(software, 'DELETE', { clientId, token: registrationToken }), 'DELETE (RAT)');

    // OBIE DCR: deleting the client invalidates its tokens (dcr-service's outbox → auth-server
    // tokens.v1 RevokeByClient → the shared token store token-introspection reads).
    const deadline = Date.now() + 10_000;
    let introspected = await oidc.tokenIntrospection(gateway, earlier);
    while (introspected.active && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      introspected = await oidc.tokenIntrospection(gateway, earlier);
    }
    assert.deepEqual(introspected, { active: false });
    assertUnauthorized(await registration(software, 'GET', { clientId, token: earlier }), 'GET (client_credentials)');
    assertUnauthorized(
      await registration(software, 'PUT', { clientId, token: earlier, jws: mint(software) }),
      'PUT (client_credentials)',
    );

    // auth-server no longer knows the client.
    await assert.rejects(oidc.clientCredentialsGrant(tpp, { scope: 'accounts' }), oauthError('invalid_client'));
  });
});
