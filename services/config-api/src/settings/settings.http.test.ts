import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { defaultPlatformSettings, type PlatformSettings } from '@obip/platform-config';
import { checkOpenApiResponse, type OpenApiDocument } from '@obip/testing';
import { startConfigApiHarness, type ConfigApiHarness } from '../testing/config-api.harness';

let harness: ConfigApiHarness;
let openApi: OpenApiDocument;
before(async () => {
  harness = await startConfigApiHarness({ name: 'config-settings' });
  openApi = (await (await fetch(`${harness.url}/openapi.json`)).json()) as OpenApiDocument;
});
after(() => harness.stop());

/** Calls the API and checks the response against the served OpenAPI document. */
async function call(method: string, path: string, init: { body?: unknown; headers?: Record<string, string> } = {}) {
  const response = await harness.call(path, {
    method,
    headers: { ...(init.body === undefined ? {} : { 'content-type': 'application/json' }), ...init.headers },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  const text = await response.text();
  const body = text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
  assert.deepEqual(
    checkOpenApiResponse(openApi, {
      method,
      path,
      status: response.status,
      contentType: response.headers.get('content-type'),
      body,
    }),
    [],
    `${method} ${path} → ${response.status} conforms to /openapi.json`,
  );
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are read field by field and checked against the OpenAPI document
  return { status: response.status, etag: response.headers.get('etag'), body: body as any };
}

describe('/v1/settings', () => {
  it('starts with the defaults and an ETag', async () => {
    const response = await call('GET', '/v1/settings');
    assert.equal(response.status, 200);
    assert.deepEqual(response.body, defaultPlatformSettings(harness.settings.PLATFORM_ISSUER));
    assert.equal(response.etag, '"1"');
  });

  it('replaces the settings when If-Match names the current ETag, and records who changed what', async () => {
    const current = await call('GET', '/v1/settings');
    const changed: PlatformSettings = {
      ...current.body,
      lifetimes: { ...current.body.lifetimes, accessTokenSeconds: 600 },
    };
    const put = await call('PUT', '/v1/settings', { body: changed, headers: { 'if-match': current.etag! } });
    assert.equal(put.status, 200);
    assert.equal(put.body.lifetimes.accessTokenSeconds, 600);
    assert.notEqual(put.etag, current.etag);
    assert.deepEqual((await call('GET', '/v1/settings')).body, changed);

    const audit = await call('GET', '/v1/audit?resource=settings');
    const [entry] = audit.body.entries;
    assert.equal(entry.action, 'settings.update');
    assert.equal(entry.actor.subject, 'admin@bank.example');
    assert.equal(entry.actor.clientId, 'admin-console');
    assert.deepEqual(entry.changes, [{ path: 'lifetimes.accessTokenSeconds', before: 300, after: 600 }]);
  });

  it('refuses a write without If-Match with 428, and a stale one with 412, changing nothing', async () => {
    const current = await call('GET', '/v1/settings');
    const changed = { ...current.body, defaultFapiProfile: 'fapi1-advanced' };
    const missing = await call('PUT', '/v1/settings', { body: changed });
    assert.equal(missing.status, 428);
    assert.equal(missing.body.code, 'precondition_required');
    const stale = await call('PUT', '/v1/settings', { body: changed, headers: { 'if-match': '"0"' } });
    assert.equal(stale.status, 412);
    assert.equal(stale.body.code, 'precondition_failed');
    const wildcard = await call('PUT', '/v1/settings', { body: changed, headers: { 'if-match': '*' } });
    assert.equal(wildcard.status, 412);
    const after = await call('GET', '/v1/settings');
    assert.deepEqual(after.body, current.body);
    assert.equal(after.etag, current.etag);
  });

  it('refuses invalid settings naming each member, unknown fields included', async () => {
    const current = await call('GET', '/v1/settings');
    const invalid = {
      ...current.body,
      lifetimes: { ...current.body.lifetimes, authorizationCodeSeconds: 600 },
      signingAlgorithms: ['RS256'],
      issuer: 'http://plain.example',
      surprise: true,
    };
    const response = await call('PUT', '/v1/settings', { body: invalid, headers: { 'if-match': current.etag! } });
    assert.equal(response.status, 400);
    const pointers = (response.body.errors as Array<{ pointer: string }>).map((error) => error.pointer).sort();
    assert.deepEqual(pointers, ['/issuer', '/lifetimes/authorizationCodeSeconds', '/signingAlgorithms/0', '/surprise']);
    assert.deepEqual((await call('GET', '/v1/settings')).body, current.body);
  });

  it('refuses a body that is not JSON', async () => {
    const current = await call('GET', '/v1/settings');
    const response = await harness.call('/v1/settings', {
      method: 'PUT',
      headers: { 'content-type': 'application/json', 'if-match': current.etag! },
      body: '{"issuer":',
    });
    assert.equal(response.status, 400);
  });
});

describe('/v1/directories', () => {
  const input = {
    name: 'OBIE sandbox',
    issuer: 'OpenBanking Ltd',
    jwksUri: 'https://keystore.openbankingtest.org.uk/keystore/openbanking.jwks',
    environment: 'sandbox',
  };

  it('creates, reads, replaces and deletes a directory, each change audited', async () => {
    const created = await call('POST', '/v1/directories', { body: input });
    assert.equal(created.status, 201);
    assert.equal(created.body.status, 'active');
    const id = created.body.id as string;
    const read = await call('GET', `/v1/directories/${id}`);
    assert.equal(read.body.issuer, 'OpenBanking Ltd');

    const replaced = await call('PUT', `/v1/directories/${id}`, {
      body: { ...input, status: 'disabled' },
      headers: { 'if-match': read.etag! },
    });
    assert.equal(replaced.status, 200);
    assert.equal(replaced.body.status, 'disabled');
    const stale = await call('PUT', `/v1/directories/${id}`, { body: input, headers: { 'if-match': read.etag! } });
    assert.equal(stale.status, 412);

    assert.equal((await call('DELETE', `/v1/directories/${id}`)).status, 204);
    assert.equal((await call('GET', `/v1/directories/${id}`)).status, 404);

    const audit = await call('GET', `/v1/audit?resource=directory&resourceId=${id}`);
    assert.deepEqual(
      audit.body.entries.map((entry: { action: string }) => entry.action),
      ['directory.delete', 'directory.update', 'directory.create'],
    );
  });

  it('refuses a second directory with the same issuer (409) and an invalid one (400)', async () => {
    const first = await call('POST', '/v1/directories', { body: { ...input, issuer: 'Unique issuer' } });
    assert.equal(first.status, 201);
    const duplicate = await call('POST', '/v1/directories', { body: { ...input, issuer: 'Unique issuer' } });
    assert.equal(duplicate.status, 409);
    const invalid = await call('POST', '/v1/directories', {
      body: { ...input, jwksUri: 'http://plain.example/jwks', environment: 'staging', id: 'chosen' },
    });
    assert.equal(invalid.status, 400);
    assert.deepEqual((invalid.body.errors as Array<{ pointer: string }>).map((error) => error.pointer).sort(), [
      '/environment',
      '/id',
      '/jwksUri',
    ]);
  });
});

describe('/v1/audit', () => {
  it('pages newest first with a cursor and refuses a forged cursor', async () => {
    const first = await call('GET', '/v1/audit?limit=2');
    assert.equal(first.body.entries.length, 2);
    assert.ok(first.body.nextCursor);
    const second = await call('GET', `/v1/audit?limit=2&cursor=${first.body.nextCursor}`);
    const firstIds = first.body.entries.map((entry: { id: string }) => entry.id);
    for (const entry of second.body.entries) assert.ok(!firstIds.includes(entry.id));
    assert.ok(Date.parse(second.body.entries[0].at) <= Date.parse(first.body.entries[1].at));
    const forged = await call('GET', '/v1/audit?cursor=garbage');
    assert.equal(forged.status, 400);
  });

  it('needs obip:audit:read', async () => {
    const response = await harness.call('/v1/audit', { scopes: ['obip:config:read'] });
    assert.equal(response.status, 403);
  });
});
