import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { attachServerLogsOnFailure, createTestPki, type IssuedCertificate } from '@obip/testing';
import {
  nginxCertificateHeaders,
  obieErrorCodes,
  obieRequest,
  seedAccessToken,
  startConsentFixture,
  thumbprintOf,
  type ConsentFixture,
} from '../test-fixtures/consent-fixture';
import { ConsentStatusError } from '../consents/consents.errors';

const AISP = '/open-banking/v3.1/aisp/account-access-consents';
const PISP = '/open-banking/v3.1/pisp/domestic-payment-consents';
const AMELIA = 'cust-7f3a9c1e-amelia';

const accountAccessBody = {
  Data: {
    Permissions: ['ReadAccountsDetail', 'ReadBalances', 'ReadTransactionsDetail', 'ReadTransactionsCredits'],
    ExpirationDateTime: '2999-01-01T00:00:00+00:00',
    TransactionFromDateTime: '2025-01-01T00:00:00+00:00',
    TransactionToDateTime: '2025-12-31T23:59:59+00:00',
  },
  Risk: {},
};

const paymentBody = (amount = '165.88') => ({
  Data: {
    Initiation: {
      InstructionIdentification: 'ACME412',
      EndToEndIdentification: 'FRESCO.21302.GFX.20',
      InstructedAmount: { Amount: amount, Currency: 'GBP' },
      CreditorAccount: {
        SchemeName: 'UK.OBIE.SortCodeAccountNumber',
        Identification: '08080021325698',
        Name: 'ACME Inc',
      },
      RemittanceInformation: { Reference: 'FRESCO-101', Unstructured: 'Internal ops code 5120101' },
    },
  },
  Risk: { PaymentContextCode: 'EcommerceGoods', MerchantCategoryCode: '5967' },
});

interface Tpp {
  clientId: string;
  certificate: IssuedCertificate;
  /** Headers with a client_credentials token of `scope` and the TPP's certificate. */
  headers(scope: string, extra?: Record<string, string>): Promise<Record<string, string>>;
}

describe('OBIE intent APIs over HTTP', () => {
  let fixture: ConsentFixture;
  let tppA: Tpp;
  let tppB: Tpp;

  before(async () => {
    // A one-minute idempotency window, so a test can step past it.
    fixture = await startConsentFixture('intents', { idempotencyKeyTtlSeconds: 60 });
    const pki = await createTestPki();
    const makeTpp = async (clientId: string, softwareId: string): Promise<Tpp> => {
      const certificate = await pki.issueTppCertificate({ orgId: '0015800001041REAAY', softwareId });
      return {
        clientId,
        certificate,
        headers: async (scope, extra = {}) => ({
          authorization: `Bearer ${await seedAccessToken(fixture.tokens, { clientId, scope, thumbprint: thumbprintOf(certificate.certPem) })}`,
          ...nginxCertificateHeaders(certificate.certPem),
          ...extra,
        }),
      };
    };
    [tppA, tppB] = await Promise.all([makeTpp('tpp-a', 'SwTppA'), makeTpp('tpp-b', 'SwTppB')]);
  });
  after(() => fixture.close());
  attachServerLogsOnFailure();

  const createAccessConsent = async (tpp = tppA) => {
    const reply = await obieRequest(fixture.url, 'POST', AISP, {
      headers: await tpp.headers('accounts'),
      body: accountAccessBody,
    });
    assert.equal(reply.status, 201);
    return (reply.body as { Data: { ConsentId: string } }).Data.ConsentId;
  };

  describe('account-access consents', () => {
    test('creates a consent awaiting authorisation and echoes the request', async () => {
      const interactionId = '93bac548-d2de-4546-b106-880a5018460d';
      const reply = await obieRequest(fixture.url, 'POST', AISP, {
        headers: await tppA.headers('accounts', { 'x-fapi-interaction-id': interactionId }),
        body: accountAccessBody,
      });
      assert.equal(reply.status, 201);
      assert.equal(reply.headers.get('x-fapi-interaction-id'), interactionId);
      const { Data, Links } = reply.body as { Data: Record<string, unknown>; Links: { Self: string } };
      assert.equal(Data.Status, 'AwaitingAuthorisation');
      assert.deepEqual(Data.Permissions, accountAccessBody.Data.Permissions);
      assert.equal(Data.ExpirationDateTime, accountAccessBody.Data.ExpirationDateTime);
      assert.equal(Links.Self, `https://mtls.bank.example${AISP}/${String(Data.ConsentId)}`);
    });

    test('generates an x-fapi-interaction-id when the TPP sends none', async () => {
      const reply = await obieRequest(fixture.url, 'POST', AISP, {
        headers: await tppA.headers('accounts'),
        body: accountAccessBody,
      });
      assert.match(reply.headers.get('x-fapi-interaction-id') ?? '', /^[0-9a-f-]{36}$/);
    });

    test('refuses an x-fapi-interaction-id that is not a UUID', async () => {
      const reply = await obieRequest(fixture.url, 'POST', AISP, {
        headers: await tppA.headers('accounts', { 'x-fapi-interaction-id': 'hello' }),
        body: accountAccessBody,
      });
      assert.equal(reply.status, 400);
      assert.deepEqual(obieErrorCodes(reply.body), ['UK.OBIE.Header.Invalid']);
    });

    test('reads back the TPP’s own consent', async () => {
      const consentId = await createAccessConsent();
      const reply = await obieRequest(fixture.url, 'GET', `${AISP}/${consentId}`, {
        headers: await tppA.headers('accounts'),
      });
      assert.equal(reply.status, 200);
      assert.equal((reply.body as { Data: { ConsentId: string } }).Data.ConsentId, consentId);
    });

    test('another TPP’s consent is answered exactly like an unknown one', async () => {
      const consentId = await createAccessConsent(tppA);
      const foreign = await obieRequest(fixture.url, 'GET', `${AISP}/${consentId}`, {
        headers: await tppB.headers('accounts'),
      });
      const unknown = await obieRequest(fixture.url, 'GET', `${AISP}/aac-does-not-exist`, {
        headers: await tppB.headers('accounts'),
      });
      assert.equal(foreign.status, 404);
      assert.equal(unknown.status, 404);
      assert.deepEqual(obieErrorCodes(foreign.body), obieErrorCodes(unknown.body));
      const deleted = await obieRequest(fixture.url, 'DELETE', `${AISP}/${consentId}`, {
        headers: await tppB.headers('accounts'),
      });
      assert.equal(deleted.status, 404);
      assert.equal((await fixture.consents.get(consentId)).status, 'AwaitingAuthorisation');
    });

    test('DELETE revokes an authorised consent, which then reads as Revoked', async () => {
      const consentId = await createAccessConsent();
      await fixture.consents.authorise({
        consentId,
        subject: AMELIA,
        accountIds: ['acc-22289-current'],
        actor: 'auth-server',
      });
      const deleted = await obieRequest(fixture.url, 'DELETE', `${AISP}/${consentId}`, {
        headers: await tppA.headers('accounts'),
      });
      assert.equal(deleted.status, 204);
      const reply = await obieRequest(fixture.url, 'GET', `${AISP}/${consentId}`, {
        headers: await tppA.headers('accounts'),
      });
      assert.equal((reply.body as { Data: { Status: string } }).Data.Status, 'Revoked');
      assert.equal((await fixture.consents.get(consentId)).cascade?.state, 'pending');
    });

    test('DELETE of a consent awaiting authorisation rejects it, so it can no longer be authorised', async () => {
      const consentId = await createAccessConsent();
      const deleted = await obieRequest(fixture.url, 'DELETE', `${AISP}/${consentId}`, {
        headers: await tppA.headers('accounts'),
      });
      assert.equal(deleted.status, 204);
      const consent = await fixture.consents.get(consentId);
      assert.equal(consent.status, 'Rejected');
      assert.equal(consent.history.at(-1)?.actor, `client:${tppA.clientId}`);
      await assert.rejects(
        fixture.consents.authorise({ consentId, subject: AMELIA, accountIds: [], actor: 'auth-server' }),
        ConsentStatusError,
      );
    });

    test('DELETE of a consent already final answers 204 and changes nothing', async () => {
      const consentId = await createAccessConsent();
      await fixture.consents.reject({ consentId, actor: 'auth-server' });
      const before = await fixture.consents.get(consentId);
      const reply = await obieRequest(fixture.url, 'DELETE', `${AISP}/${consentId}`, {
        headers: await tppA.headers('accounts'),
      });
      assert.equal(reply.status, 204);
      assert.deepEqual(await fixture.consents.get(consentId), before);
    });

    test('refuses invalid permissions and dates with the OBIE codes and paths', async () => {
      const reply = await obieRequest(fixture.url, 'POST', AISP, {
        headers: await tppA.headers('accounts'),
        body: {
          Data: { Permissions: ['ReadTransactionsBasic'], ExpirationDateTime: '2001-01-01T00:00:00Z' },
          Risk: {},
        },
      });
      assert.equal(reply.status, 400);
      const errors = (reply.body as { Errors: Array<{ ErrorCode: string; Path: string }> }).Errors;
      assert.deepEqual(errors.map((item) => [item.ErrorCode, item.Path]).sort(), [
        ['UK.OBIE.Field.Invalid', 'Data.Permissions'],
        ['UK.OBIE.Field.InvalidDate', 'Data.ExpirationDateTime'],
      ]);
    });

    test('refuses a body that is not JSON with 415', async () => {
      const reply = await obieRequest(fixture.url, 'POST', AISP, {
        headers: await tppA.headers('accounts', { 'content-type': 'text/plain' }),
        rawBody: 'hello',
      });
      assert.equal(reply.status, 415);
    });
  });

  describe('authentication', () => {
    test('refuses a request without an access token with 401 and a Bearer challenge', async () => {
      const reply = await obieRequest(fixture.url, 'POST', AISP, {
        headers: nginxCertificateHeaders(tppA.certificate.certPem),
        body: accountAccessBody,
      });
      assert.equal(reply.status, 401);
      assert.match(reply.headers.get('www-authenticate') ?? '', /^Bearer /);
      assert.deepEqual(obieErrorCodes(reply.body), ['UK.OBIE.Header.Missing']);
    });

    test('refuses an unknown token with 401', async () => {
      const reply = await obieRequest(fixture.url, 'GET', `${AISP}/x`, {
        headers: { authorization: 'Bearer not-a-token', ...nginxCertificateHeaders(tppA.certificate.certPem) },
      });
      assert.equal(reply.status, 401);
    });

    test('refuses a token presented with another certificate than the one it is bound to', async () => {
      const headers = await tppA.headers('accounts');
      const reply = await obieRequest(fixture.url, 'POST', AISP, {
        headers: { ...headers, ...nginxCertificateHeaders(tppB.certificate.certPem) },
        body: accountAccessBody,
      });
      assert.equal(reply.status, 401);
    });

    test('refuses a request without a client certificate', async () => {
      const { authorization } = await tppA.headers('accounts');
      const reply = await obieRequest(fixture.url, 'POST', AISP, {
        headers: { authorization: authorization! },
        body: accountAccessBody,
      });
      assert.equal(reply.status, 401);
    });

    test('refuses a token without the scope the API needs with 403', async () => {
      const reply = await obieRequest(fixture.url, 'POST', AISP, {
        headers: await tppA.headers('payments'),
        body: accountAccessBody,
      });
      assert.equal(reply.status, 403);
      assert.match(reply.headers.get('www-authenticate') ?? '', /insufficient_scope/);
    });

    test('refuses a customer token where a client_credentials token is required', async () => {
      const token = await seedAccessToken(fixture.tokens, {
        clientId: tppA.clientId,
        scope: 'openid accounts',
        grantType: 'authorization_code',
        thumbprint: thumbprintOf(tppA.certificate.certPem),
      });
      const reply = await obieRequest(fixture.url, 'POST', AISP, {
        headers: { authorization: `Bearer ${token}`, ...nginxCertificateHeaders(tppA.certificate.certPem) },
        body: accountAccessBody,
      });
      assert.equal(reply.status, 403);
    });
  });

  describe('domestic payment consents', () => {
    test('the same x-idempotency-key and body give back the same consent', async () => {
      const key = `idem-${Date.now()}`;
      const first = await obieRequest(fixture.url, 'POST', PISP, {
        headers: await tppA.headers('payments', { 'x-idempotency-key': key }),
        body: paymentBody(),
      });
      assert.equal(first.status, 201);
      const reordered = JSON.parse(JSON.stringify({ Risk: paymentBody().Risk, Data: paymentBody().Data })) as unknown;
      const second = await obieRequest(fixture.url, 'POST', PISP, {
        headers: await tppA.headers('payments', { 'x-idempotency-key': key }),
        body: reordered,
      });
      assert.equal(second.status, 201);
      const id = (reply: { body: unknown }) => (reply.body as { Data: { ConsentId: string } }).Data.ConsentId;
      assert.equal(id(second), id(first));
      const foreign = await obieRequest(fixture.url, 'POST', PISP, {
        headers: await tppB.headers('payments', { 'x-idempotency-key': key }),
        body: paymentBody(),
      });
      assert.notEqual(id(foreign), id(first), 'keys are per TPP');
    });

    test('the same x-idempotency-key with another body is refused', async () => {
      const key = `idem-${Date.now()}-2`;
      await obieRequest(fixture.url, 'POST', PISP, {
        headers: await tppA.headers('payments', { 'x-idempotency-key': key }),
        body: paymentBody(),
      });
      const reply = await obieRequest(fixture.url, 'POST', PISP, {
        headers: await tppA.headers('payments', { 'x-idempotency-key': key }),
        body: paymentBody('1.00'),
      });
      assert.equal(reply.status, 400);
      assert.deepEqual(obieErrorCodes(reply.body), ['UK.OBIE.Header.Invalid']);
    });

    test('once the x-idempotency-key window has passed, the key is accepted again with another body', async () => {
      const key = `idem-${Date.now()}-3`;
      const id = (reply: { body: unknown }) => (reply.body as { Data: { ConsentId: string } }).Data.ConsentId;
      const first = await obieRequest(fixture.url, 'POST', PISP, {
        headers: await tppA.headers('payments', { 'x-idempotency-key': key }),
        body: paymentBody(),
      });
      assert.equal(first.status, 201);
      fixture.clock.now = new Date(Date.now() + 61_000);
      try {
        const renewed = await obieRequest(fixture.url, 'POST', PISP, {
          headers: await tppA.headers('payments', { 'x-idempotency-key': key }),
          body: paymentBody('1.00'),
        });
        assert.equal(renewed.status, 201);
        assert.notEqual(id(renewed), id(first));
        const read = await obieRequest(fixture.url, 'GET', `${PISP}/${id(renewed)}`, {
          headers: await tppA.headers('payments'),
        });
        assert.equal(
          (read.body as { Data: { Initiation: { InstructedAmount: { Amount: string } } } }).Data.Initiation
            .InstructedAmount.Amount,
          '1.00',
        );
      } finally {
        fixture.clock.now = new Date();
      }
    });

    test('refuses a payment consent without x-idempotency-key', async () => {
      const reply = await obieRequest(fixture.url, 'POST', PISP, {
        headers: await tppA.headers('payments'),
        body: paymentBody(),
      });
      assert.equal(reply.status, 400);
      assert.deepEqual(obieErrorCodes(reply.body), ['UK.OBIE.Header.Missing']);
    });

    test('refuses an unsupported currency with UK.OBIE.Unsupported.Currency', async () => {
      const body = paymentBody();
      body.Data.Initiation.InstructedAmount.Currency = 'USD';
      const reply = await obieRequest(fixture.url, 'POST', PISP, {
        headers: await tppA.headers('payments', { 'x-idempotency-key': `cur-${Date.now()}` }),
        body,
      });
      assert.equal(reply.status, 400);
      assert.deepEqual(obieErrorCodes(reply.body), ['UK.OBIE.Unsupported.Currency']);
    });

    const createPayment = async (amount: string) => {
      const reply = await obieRequest(fixture.url, 'POST', PISP, {
        headers: await tppA.headers('payments', { 'x-idempotency-key': `pay-${amount}-${Date.now()}` }),
        body: paymentBody(amount),
      });
      assert.equal(reply.status, 201);
      return (reply.body as { Data: { ConsentId: string } }).Data.ConsentId;
    };
    const customerHeaders = async (consentId: string) => ({
      authorization: `Bearer ${await seedAccessToken(fixture.tokens, {
        clientId: tppA.clientId,
        scope: 'openid payments',
        grantType: 'authorization_code',
        consentId,
        thumbprint: thumbprintOf(tppA.certificate.certPem),
      })}`,
      ...nginxCertificateHeaders(tppA.certificate.certPem),
    });

    test('confirms funds against the debtor account the customer chose', async () => {
      const affordable = await createPayment('100.00');
      const tooMuch = await createPayment('2417.54');
      for (const consentId of [affordable, tooMuch]) {
        await fixture.consents.authorise({
          consentId,
          subject: AMELIA,
          accountIds: ['acc-22289-current'],
          actor: 'auth-server',
        });
      }
      const available = async (consentId: string) => {
        const reply = await obieRequest(fixture.url, 'GET', `${PISP}/${consentId}/funds-confirmation`, {
          headers: await customerHeaders(consentId),
        });
        assert.equal(reply.status, 200);
        return (reply.body as { Data: { FundsAvailableResult: { FundsAvailable: boolean } } }).Data.FundsAvailableResult
          .FundsAvailable;
      };
      assert.equal(await available(affordable), true);
      assert.equal(await available(tooMuch), false);
    });

    test('refuses a funds check before authorisation and with a token of another consent', async () => {
      const consentId = await createPayment('10.00');
      const early = await obieRequest(fixture.url, 'GET', `${PISP}/${consentId}/funds-confirmation`, {
        headers: await customerHeaders(consentId),
      });
      assert.equal(early.status, 400);
      assert.deepEqual(obieErrorCodes(early.body), ['UK.OBIE.Resource.InvalidConsentStatus']);
      const other = await obieRequest(fixture.url, 'GET', `${PISP}/${consentId}/funds-confirmation`, {
        headers: await customerHeaders('pdc-other'),
      });
      assert.equal(other.status, 403);
      assert.deepEqual(obieErrorCodes(other.body), ['UK.OBIE.Resource.ConsentMismatch']);
    });

    test('a consumed payment consent reads as Consumed', async () => {
      const consentId = await createPayment('1.00');
      await fixture.consents.authorise({
        consentId,
        subject: AMELIA,
        accountIds: ['acc-22289-current'],
        actor: 'auth-server',
      });
      await fixture.consents.consume({ consentId, actor: 'auth-server' });
      const reply = await obieRequest(fixture.url, 'GET', `${PISP}/${consentId}`, {
        headers: await tppA.headers('payments'),
      });
      assert.equal((reply.body as { Data: { Status: string } }).Data.Status, 'Consumed');
    });

    test('an account-access consent id is not found under the payments API', async () => {
      const consentId = await createAccessConsent();
      const reply = await obieRequest(fixture.url, 'GET', `${PISP}/${consentId}`, {
        headers: await tppA.headers('payments'),
      });
      assert.equal(reply.status, 404);
    });
  });

  test('serves its OpenAPI 3.1 document at /openapi.json', async () => {
    const response = await fetch(`${fixture.url}/openapi.json`);
    assert.equal(response.status, 200);
    const document = (await response.json()) as { openapi: string; paths: Record<string, unknown> };
    assert.equal(document.openapi, '3.1.0');
    assert.ok(document.paths[`${PISP}/{ConsentId}/funds-confirmation`]);
  });
});
