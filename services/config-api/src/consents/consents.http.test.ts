import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { consentsV1 } from '@obip/contracts';
import { NotFoundError, PreconditionFailedError } from '@obip/errors';
import { createGrpcServer, type GrpcServer, type ServiceHandlers } from '@obip/grpc';
import { createLogger } from '@obip/observability';
import { checkOpenApiResponse, type OpenApiDocument } from '@obip/testing';
import { startConfigApiHarness, type ConfigApiHarness } from '../testing/config-api.harness';
import { createGrpcConsents } from './consents.grpc';
import { createConsentsRouter } from './consents.http';
import { consentsOpenApiPaths } from './consents.openapi';
import { createConsentAdministration } from './consents.service';

const { ConsentStatus, ConsentKind } = consentsV1;

// A stand-in for consent-service over real gRPC, keeping its revocation rule (Authorised →
// Revoked, a repeat unchanged, any other status FAILED_PRECONDITION consent_status_invalid).
// consent-service's own tests cover the real state machine; e2e covers the two together.
const stored = new Map<string, consentsV1.Consent>();
const revocations: consentsV1.RevokeConsentRequest[] = [];
let peer: GrpcServer;
let harness: ConfigApiHarness;
let openApi: OpenApiDocument;
let closeClient: () => void;

const STATUS_NAMES: Partial<Record<consentsV1.ConsentStatus, string>> = {
  [ConsentStatus.CONSENT_STATUS_AWAITING_AUTHORISATION]: 'AwaitingAuthorisation',
  [ConsentStatus.CONSENT_STATUS_AUTHORISED]: 'Authorised',
  [ConsentStatus.CONSENT_STATUS_REJECTED]: 'Rejected',
};

function unimplemented(): never {
  throw new Error('not used by config-api');
}

function seed(consentId: string, status: consentsV1.ConsentStatus, overrides: Partial<consentsV1.Consent> = {}) {
  stored.set(
    consentId,
    consentsV1.Consent.fromPartial({
      consentId,
      clientId: 'tpp-1',
      kind: ConsentKind.CONSENT_KIND_ACCOUNT_ACCESS,
      status,
      subject: status === ConsentStatus.CONSENT_STATUS_AWAITING_AUTHORISATION ? '' : 'cust-amelia',
      permissions: ['ReadAccountsDetail'],
      accountIds: status === ConsentStatus.CONSENT_STATUS_AUTHORISED ? ['acc-1'] : [],
      authorizationDetailsJson: '',
      createdAt: 1_795_000_000,
      updatedAt: 1_795_000_100,
      expiresAt: 0,
      ...overrides,
    }),
  );
}

before(async () => {
  peer = createGrpcServer({
    serviceName: 'consent-service',
    logger: createLogger({ service: 'test', level: 'silent' }),
  });
  const handlers = Object.fromEntries(
    Object.keys(consentsV1.ConsentsService).map((method) => [method, unimplemented]),
  ) as unknown as ServiceHandlers<typeof consentsV1.ConsentsService>;
  peer.addService(consentsV1.ConsentsService, {
    ...handlers,
    async getConsent({ consentId }) {
      const consent = stored.get(consentId);
      if (!consent) throw new NotFoundError('no consent with this id exists', { code: 'consent_not_found' });
      return { consent };
    },
    async revokeConsent(request) {
      revocations.push(request);
      const consent = stored.get(request.consentId);
      if (!consent) throw new NotFoundError('no consent with this id exists', { code: 'consent_not_found' });
      if (consent.status === ConsentStatus.CONSENT_STATUS_REVOKED) return { consent };
      if (consent.status !== ConsentStatus.CONSENT_STATUS_AUTHORISED) {
        throw new PreconditionFailedError(`a consent in status ${STATUS_NAMES[consent.status]} cannot be revoked`, {
          code: 'consent_status_invalid',
        });
      }
      const revoked = { ...consent, status: ConsentStatus.CONSENT_STATUS_REVOKED, updatedAt: 1_795_000_200 };
      stored.set(consent.consentId, revoked);
      return { consent: revoked };
    },
  });
  const port = await peer.listen('127.0.0.1', 0);
  const consents = createGrpcConsents(`127.0.0.1:${port}`, 1_000);
  closeClient = () => consents.close();
  harness = await startConfigApiHarness({
    name: 'config-consents',
    extraRouters: (guard, audit) => ({
      routers: [createConsentsRouter(createConsentAdministration({ consents: consents.port, audit }), guard)],
      openApiPaths: consentsOpenApiPaths(),
    }),
  });
  openApi = (await (await fetch(`${harness.url}/openapi.json`)).json()) as OpenApiDocument;
});
after(async () => {
  await harness.stop();
  closeClient();
  await peer.shutdown(0);
});

async function call(
  method: string,
  path: string,
  options: { body?: unknown; scopes?: string[]; anonymous?: boolean } = {},
) {
  const { body, scopes, anonymous } = options;
  const init = {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  };
  const response = anonymous
    ? await fetch(harness.url + path, init)
    : await harness.call(path, { ...init, ...(scopes ? { scopes } : {}) });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are read field by field and checked against the OpenAPI document
  const parsed = (await response.json()) as any;
  assert.deepEqual(
    checkOpenApiResponse(openApi, {
      method,
      path,
      status: response.status,
      contentType: response.headers.get('content-type'),
      body: parsed,
    }),
    [],
  );
  return { status: response.status, headers: response.headers, body: parsed };
}

async function auditOf(consentId: string) {
  const response = await harness.call(`/v1/audit?resource=consent&resourceId=${consentId}`);
  return (
    (await response.json()) as { entries: Array<{ action: string; actor: { subject: string }; changes: unknown }> }
  ).entries;
}

describe('/v1/consents', () => {
  it('reads one consent as consent-service holds it (obip:consents:read)', async () => {
    seed('pdc-read', ConsentStatus.CONSENT_STATUS_AUTHORISED, {
      kind: ConsentKind.CONSENT_KIND_DOMESTIC_PAYMENT,
      permissions: [],
      authorizationDetailsJson: JSON.stringify({ InstructedAmount: { Amount: '10.00', Currency: 'GBP' } }),
      expiresAt: 1_795_086_400,
    });
    const read = await call('GET', '/v1/consents/pdc-read', { scopes: ['obip:consents:read'] });
    assert.equal(read.status, 200);
    assert.deepEqual(read.body, {
      consentId: 'pdc-read',
      clientId: 'tpp-1',
      kind: 'domestic-payment',
      status: 'Authorised',
      subject: 'cust-amelia',
      permissions: [],
      accountIds: ['acc-1'],
      authorizationDetails: { InstructedAmount: { Amount: '10.00', Currency: 'GBP' } },
      createdAt: '2026-11-18T11:06:40.000Z',
      updatedAt: '2026-11-18T11:08:20.000Z',
      expiresAt: '2026-11-19T11:06:40.000Z',
    });
  });

  it('revokes an authorised consent in the admin’s name with the reason, and audits it', async () => {
    seed('aac-revoke', ConsentStatus.CONSENT_STATUS_AUTHORISED);
    const revoked = await call('POST', '/v1/consents/aac-revoke/revoke', {
      body: { reason: 'fraud reported by the customer' },
      scopes: ['obip:consents:write'],
    });
    assert.equal(revoked.status, 200);
    assert.equal(revoked.body.status, 'Revoked');
    assert.deepEqual(revocations.at(-1), {
      consentId: 'aac-revoke',
      actor: 'admin:admin@bank.example',
      reason: 'fraud reported by the customer',
    });

    const entries = await auditOf('aac-revoke');
    assert.equal(entries.length, 1);
    assert.equal(entries[0]!.action, 'consent.revoke');
    assert.equal(entries[0]!.actor.subject, 'admin@bank.example');
    assert.deepEqual(entries[0]!.changes, [
      { path: 'reason', after: 'fraud reported by the customer' },
      { path: 'status', before: 'Authorised', after: 'Revoked' },
    ]);
  });

  it('returns a consent revoked before unchanged, and audits nothing more', async () => {
    seed('aac-twice', ConsentStatus.CONSENT_STATUS_AUTHORISED);
    await call('POST', '/v1/consents/aac-twice/revoke', { body: { reason: 'first' } });
    const again = await call('POST', '/v1/consents/aac-twice/revoke', { body: { reason: 'second' } });
    assert.equal(again.status, 200);
    assert.equal(again.body.status, 'Revoked');
    assert.equal((await auditOf('aac-twice')).length, 1);
  });

  it('answers 409 consent_status_invalid for a consent that is not Authorised, and changes and audits nothing', async () => {
    for (const [consentId, status] of [
      ['aac-awaiting', ConsentStatus.CONSENT_STATUS_AWAITING_AUTHORISATION],
      ['aac-rejected', ConsentStatus.CONSENT_STATUS_REJECTED],
    ] as const) {
      seed(consentId, status);
      const refused = await call('POST', `/v1/consents/${consentId}/revoke`, { body: { reason: 'x' } });
      assert.equal(refused.status, 409, consentId);
      assert.equal(refused.body.code, 'consent_status_invalid');
      assert.match(refused.body.detail, new RegExp(`status ${STATUS_NAMES[status]}.*only an Authorised consent`));
      assert.equal(stored.get(consentId)!.status, status);
      assert.deepEqual(await auditOf(consentId), []);
    }
  });

  it('answers 404 consent_not_found for an unknown consent', async () => {
    for (const [method, path] of [
      ['GET', '/v1/consents/aac-unknown'],
      ['POST', '/v1/consents/aac-unknown/revoke'],
      ['GET', `/v1/consents/${'a'.repeat(129)}`],
    ] as const) {
      const missing = await call(method, path, method === 'POST' ? { body: { reason: 'x' } } : {});
      assert.equal(missing.status, 404, path);
      assert.equal(missing.body.code, 'consent_not_found');
    }
  });

  it('answers 400 to a revocation without a reason', async () => {
    seed('aac-no-reason', ConsentStatus.CONSENT_STATUS_AUTHORISED);
    for (const body of [{}, { reason: '' }, { reason: 'x', extra: true }]) {
      assert.equal((await call('POST', '/v1/consents/aac-no-reason/revoke', { body })).status, 400);
    }
    assert.equal(stored.get('aac-no-reason')!.status, ConsentStatus.CONSENT_STATUS_AUTHORISED);
  });

  it('needs a token (401), obip:consents:read to read and obip:consents:write to revoke (403)', async () => {
    seed('aac-scopes', ConsentStatus.CONSENT_STATUS_AUTHORISED);
    const anonymous = await call('GET', '/v1/consents/aac-scopes', { anonymous: true });
    assert.equal(anonymous.status, 401);
    assert.match(anonymous.headers.get('www-authenticate') ?? '', /^Bearer realm=/);
    const unauthenticated = await call('POST', '/v1/consents/aac-scopes/revoke', {
      body: { reason: 'x' },
      anonymous: true,
    });
    assert.equal(unauthenticated.status, 401);

    const configReader = await call('GET', '/v1/consents/aac-scopes', { scopes: ['obip:config:read'] });
    assert.equal(configReader.status, 403);
    assert.match(configReader.headers.get('www-authenticate') ?? '', /scope="obip:consents:read"/);
    const reader = await call('POST', '/v1/consents/aac-scopes/revoke', {
      body: { reason: 'x' },
      scopes: ['obip:consents:read', 'obip:clients:write'],
    });
    assert.equal(reader.status, 403);
    assert.match(reader.headers.get('www-authenticate') ?? '', /scope="obip:consents:write"/);
    assert.equal(stored.get('aac-scopes')!.status, ConsentStatus.CONSENT_STATUS_AUTHORISED, 'nothing revoked');
  });

  // Last: it stops the stand-in.
  it('answers 503 while consent-service is unreachable, never 404, and audits nothing', async () => {
    seed('aac-down', ConsentStatus.CONSENT_STATUS_AUTHORISED);
    await peer.shutdown(0);
    const read = await call('GET', '/v1/consents/aac-down');
    assert.equal(read.status, 503);
    const revoke = await call('POST', '/v1/consents/aac-down/revoke', { body: { reason: 'x' } });
    assert.equal(revoke.status, 503);
    assert.equal(stored.get('aac-down')!.status, ConsentStatus.CONSENT_STATUS_AUTHORISED);
    assert.deepEqual(await auditOf('aac-down'), []);
  });
});
