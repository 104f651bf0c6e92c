// Property-based tests of the OBIE intent endpoints over HTTP, with the real MongoDB-compatible
// server and Redis: generated valid consent requests are created and read back as sent; single
// mutations and arbitrary bodies are answered 400 with OBIE error codes, never 5xx. Every
// response is also checked against the OpenAPI document (obieRequest does that).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { attachServerLogsOnFailure, createTestPki } from '@obip/testing';
import {
  type ConsentFixture,
  nginxCertificateHeaders,
  obieErrorCodes,
  obieRequest,
  seedAccessToken,
  startConsentFixture,
  thumbprintOf,
} from '../test-fixtures/consent-fixture';
import {
  ACCOUNT_ACCESS_MUTATIONS,
  DOMESTIC_PAYMENT_MUTATIONS,
  PROPERTY_NOW,
  accountAccessArbitrary,
  domesticPaymentArbitrary,
} from '../test-fixtures/intents-arbitraries';

const AISP = '/open-banking/v3.1/aisp/account-access-consents';
const PISP = '/open-banking/v3.1/pisp/domestic-payment-consents';
/** Each run is a few HTTP calls and database writes: enough runs to vary every field, few enough for CI. */
const RUNS = 25;

let fixture: ConsentFixture;
let headers: (scope: string) => Promise<Record<string, string>>;

before(async () => {
  fixture = await startConsentFixture('intents-property');
  assert.ok(fixture.clock.now >= PROPERTY_NOW, 'the generated past dates must be past for the service too');
  const certificate = await (
    await createTestPki({ name: 'intents-property' })
  ).issueTppCertificate({ orgId: '0015800001041REAAY', softwareId: 'SwProperty' });
  headers = async (scope) => ({
    authorization: `Bearer ${await seedAccessToken(fixture.tokens, { clientId: 'tpp-property', scope, thumbprint: thumbprintOf(certificate.certPem) })}`,
    ...nginxCertificateHeaders(certificate.certPem),
  });
});
after(() => fixture.close());
attachServerLogsOnFailure();

/** What the TPP sent, as the service parsed it: JSON round-tripped (fast-check makes null-prototype objects). */
const asSent = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

describe('account-access consents over HTTP', () => {
  it('creates every generated valid request and reads it back as sent', async () => {
    await fc.assert(
      fc.asyncProperty(accountAccessArbitrary(new Date(Date.now() + 60_000)), async ({ body }) => {
        const created = await obieRequest(fixture.url, 'POST', AISP, { headers: await headers('accounts'), body });
        assert.equal(created.status, 201, JSON.stringify(created.body));
        const { Data, Risk } = created.body as { Data: Record<string, unknown>; Risk: unknown };
        const sent = asSent(body) as { Data: Record<string, unknown>; Risk: unknown };
        assert.equal(Data.Status, 'AwaitingAuthorisation');
        for (const name of ['Permissions', 'ExpirationDateTime', 'TransactionFromDateTime', 'TransactionToDateTime']) {
          assert.deepEqual(Data[name], sent.Data[name], name);
        }
        assert.deepEqual(Risk, sent.Risk);
        const read = await obieRequest(fixture.url, 'GET', `${AISP}/${String(Data.ConsentId)}`, {
          headers: await headers('accounts'),
        });
        assert.equal(read.status, 200);
        assert.deepEqual(read.body, created.body);
      }),
      { numRuns: RUNS },
    );
  });

  it('refuses each single mutation with 400 and the OBIE code of the broken field', async () => {
    await fc.assert(
      fc.asyncProperty(
        accountAccessArbitrary(new Date(Date.now() + 60_000)),
        fc.constantFrom(...ACCOUNT_ACCESS_MUTATIONS),
        fc.nat(),
        async ({ body }, mutation, pick) => {
          const reply = await obieRequest(fixture.url, 'POST', AISP, {
            headers: await headers('accounts'),
            body: mutation.apply(body, pick),
          });
          assert.equal(reply.status, 400, `${mutation.name}: ${JSON.stringify(reply.body)}`);
          assert.deepEqual(new Set(obieErrorCodes(reply.body)), new Set([mutation.errorCode]), mutation.name);
        },
      ),
      { numRuns: RUNS * 2 },
    );
  });
});

describe('domestic-payment consents over HTTP', () => {
  it('creates every generated valid request and reads it back as sent', async () => {
    await fc.assert(
      fc.asyncProperty(domesticPaymentArbitrary(['GBP']), async ({ body }) => {
        const created = await obieRequest(fixture.url, 'POST', PISP, {
          headers: { ...(await headers('payments')), 'x-idempotency-key': randomUUID() },
          body,
        });
        assert.equal(created.status, 201, JSON.stringify(created.body));
        const { Data, Risk } = created.body as { Data: Record<string, unknown>; Risk: unknown };
        const sent = asSent(body) as { Data: Record<string, unknown>; Risk: unknown };
        for (const name of ['Initiation', 'Authorisation', 'SCASupportData'])
          assert.deepEqual(Data[name], sent.Data[name], name);
        assert.deepEqual(Risk, sent.Risk);
        const read = await obieRequest(fixture.url, 'GET', `${PISP}/${String(Data.ConsentId)}`, {
          headers: await headers('payments'),
        });
        assert.equal(read.status, 200);
        assert.deepEqual(read.body, created.body);
      }),
      { numRuns: RUNS },
    );
  });

  it('refuses each single mutation with 400 and the OBIE code of the broken field', async () => {
    await fc.assert(
      fc.asyncProperty(
        domesticPaymentArbitrary(['GBP']),
        fc.constantFrom(...DOMESTIC_PAYMENT_MUTATIONS),
        fc.nat(),
        async ({ body }, mutation, pick) => {
          const reply = await obieRequest(fixture.url, 'POST', PISP, {
            headers: { ...(await headers('payments')), 'x-idempotency-key': randomUUID() },
            body: mutation.apply(body, pick),
          });
          assert.equal(reply.status, 400, `${mutation.name}: ${JSON.stringify(reply.body)}`);
          assert.deepEqual(new Set(obieErrorCodes(reply.body)), new Set([mutation.errorCode]), mutation.name);
        },
      ),
      { numRuns: RUNS * 3 },
    );
  });
});

describe('arbitrary bodies over HTTP', () => {
  it('are answered 400 with an OBIE error, never 5xx', async () => {
    const bodies = fc.oneof(
      fc.jsonValue({ maxDepth: 3, depthSize: 'small' }).map((value) => ({ raw: JSON.stringify(value) })),
      fc.string({ maxLength: 200 }).map((raw) => ({ raw })),
      fc.jsonValue({ maxDepth: 2 }).map((value) => ({ raw: JSON.stringify({ Data: value, Risk: {} }) })),
    );
    await fc.assert(
      fc.asyncProperty(bodies, fc.constantFrom(AISP, PISP), async ({ raw }, path) => {
        const scope = path === AISP ? 'accounts' : 'payments';
        const reply = await obieRequest(fixture.url, 'POST', path, {
          headers: {
            ...(await headers(scope)),
            'content-type': 'application/json',
            'x-idempotency-key': randomUUID(),
          },
          rawBody: raw,
        });
        assert.equal(reply.status, 400, `${raw} → ${JSON.stringify(reply.body)}`);
        assert.ok(obieErrorCodes(reply.body).length > 0);
      }),
      { numRuns: RUNS * 2 },
    );
  });
});
