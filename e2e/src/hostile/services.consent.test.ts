// Hostile input at consent-service and token-introspection, every service a real process:
//
// - consent transitions out of order over the consents.v1 gRPC contract (what auth-server and
//   the portal call): authorise a revoked, an expired or a rejected consent, consume one that
//   awaits authorisation, consume twice, consume an account-access consent, revoke twice, reject
//   an authorised one, accounts that are not the customer's — each the status code the proto
//   names (FAILED_PRECONDITION, INVALID_ARGUMENT, NOT_FOUND) with its obip-error-code, and the
//   stored consent unchanged;
// - the OBIE intent APIs through the edge: another TPP's consent read or deleted, a stolen
//   token, MongoDB operator objects in bodies, paths and query strings — each the OBIE error
//   envelope with the spec's status and ErrorCode, no 5xx, nothing stored; operator keys and
//   2 000-level nesting in the free-form Risk and SupplementaryData are the TPP's data: stored as
//   sent, with no effect on the consent;
// - RFC 7662 introspection by strangers: no client certificate, a registered TPP that is not a
//   resource server, an unknown client_id, malformed and repeated token parameters.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { status } from '@grpc/grpc-js';
import * as oidc from 'openid-client';
import { consentsV1 } from '@obip/contracts';
import { attachServerLogsOnFailure, type TestSoftware } from '@obip/testing';
import {
  ACCOUNT_ACCESS_CONSENTS,
  DOMESTIC_PAYMENT_CONSENTS,
  createDomesticPaymentConsent,
  domesticPaymentInitiation,
} from '../flows/obie';
import { intentApi, platformLogSources, startPlatformWithGateway, type Platform } from '../platform/platform';
import {
  assertCleanRefusal,
  databaseSnapshot,
  obieErrorCodes,
  rawUnaryCall,
  send,
  storedDocument,
  type Reply,
} from './services.harness';

const NAME = 'hostile_consent';
/** A sandbox customer (consent-service's sandbox-customers.json) and one of her GBP accounts. */
const CUSTOMER = { subject: 'cust-7f3a9c1e-amelia', account: 'acc-22289-current' };
const FAPI2_METADATA = { response_types: ['code'] };

let platform: Platform;
let gateway: oidc.Configuration;
/** A TPP with a client_credentials token for accounts and payments, and a second one. */
let tpp: { software: TestSoftware; clientId: string; config: oidc.Configuration; token: string };
let other: { software: TestSoftware; clientId: string; config: oidc.Configuration; token: string };

attachServerLogsOnFailure({ sources: [platformLogSources(() => platform)] });

before(async () => {
  ({ platform, gateway } = await startPlatformWithGateway({ name: NAME }));
  const connect = async () => {
    const software = await platform.directory.registerSoftware({ roles: ['AISP', 'PISP'] });
    const { client_id: clientId } = await platform.register(software, {
      ...FAPI2_METADATA,
      scope: 'openid accounts payments',
    });
    const config = await platform.relyingParty(software, clientId);
    const { access_token: token } = await oidc.clientCredentialsGrant(config, { scope: 'accounts payments' });
    return { software, clientId, config, token };
  };
  [tpp, other] = await Promise.all([connect(), connect()]);
});
after(() => platform?.stop());

// ---- helpers ----

const consents = consentsV1.ConsentsService;
const grpc = () => platform.grpcAddress('consent-service');

async function newAccountAccessConsent(owner = tpp, expiration = '2999-01-01T00:00:00+00:00'): Promise<string> {
  const created = await intentApi(platform, owner.software, owner.token, 'POST', ACCOUNT_ACCESS_CONSENTS, {
    Data: { Permissions: ['ReadAccountsBasic', 'ReadBalances'], ExpirationDateTime: expiration },
    Risk: {},
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  return created.body!.Data.ConsentId;
}

async function newPaymentConsent(): Promise<string> {
  const created = await createDomesticPaymentConsent(
    platform,
    tpp.software,
    tpp.token,
    domesticPaymentInitiation('10.00'),
  );
  assert.equal(created.status, 201, JSON.stringify(created.body));
  return created.body.Data.ConsentId;
}

function authorise(consentId: string, accountIds = [CUSTOMER.account]) {
  return rawUnaryCall(
    grpc(),
    consents.authorizeConsent,
    { consentId, subject: CUSTOMER.subject, accountIds, actor: 'hostile-test', identityReleaseJson: '' },
    { deadlineMs: 10_000 },
  );
}
const revoke = (consentId: string) =>
  rawUnaryCall(
    grpc(),
    consents.revokeConsent,
    { consentId, actor: 'hostile-test', reason: 'test' },
    { deadlineMs: 10_000 },
  );
const consume = (consentId: string) =>
  rawUnaryCall(grpc(), consents.consumeConsent, { consentId, actor: 'hostile-test' }, { deadlineMs: 10_000 });
const reject = (consentId: string) =>
  rawUnaryCall(
    grpc(),
    consents.rejectConsent,
    { consentId, subject: CUSTOMER.subject, actor: 'hostile-test', reason: 'test' },
    { deadlineMs: 10_000 },
  );

function assertOk(outcome: Awaited<ReturnType<typeof rawUnaryCall>>, what: string): void {
  assert.equal(outcome.code, status.OK, `${what}: ${outcome.code} ${outcome.errorCode} ${outcome.details}`);
}

/** The consent as consent-service stored it. */
const stored = (consentId: string) => storedDocument(NAME, 'consent', 'consents', consentId);

/**
 * The consent as stored, without its token-revocation outbox entry (`cascade`): the first
 * revocation's cascade is delivered to auth-server in the background, whatever the test does.
 */
async function storedDecision(consentId: string): Promise<Record<string, unknown> | null> {
  const document = await stored(consentId);
  if (!document) return null;
  const { cascade: _cascade, ...decision } = document;
  return decision;
}

/** Runs `act` and asserts that consent-service's database holds the same number of documents in every collection. */
async function nothingStored<T>(act: () => Promise<T>): Promise<T> {
  const before = await databaseSnapshot(NAME, 'consent');
  const result = await act();
  assert.deepEqual(await databaseSnapshot(NAME, 'consent'), before, 'nothing was stored');
  return result;
}

/** An OBIE API error: the status, the ErrorCode of its first item, no 5xx or stack trace. */
function assertObieError(reply: Reply, httpStatus: number, errorCode: string): void {
  assertCleanRefusal(reply, errorCode);
  assert.equal(reply.status, httpStatus, reply.text);
  assert.ok(reply.body?.Code, `an OBIE error envelope: ${reply.text}`);
  assert.ok(obieErrorCodes(reply).includes(errorCode), `${errorCode} in ${reply.text}`);
}

/** A call to the intent APIs through the edge, as `software` presenting `token`. */
function obie(
  software: TestSoftware,
  token: string,
  method: string,
  path: string,
  body?: string,
  headers: Record<string, string> = {},
): Promise<Reply> {
  return send(`${platform.twin.mtlsUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      accept: 'application/json',
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    ...(body === undefined ? {} : { body }),
    dispatcher: platform.tppAgent(software),
  });
}

// ---- consents.v1 transitions out of order ----

describe('consents.v1: transitions out of order are refused and change nothing', () => {
  const cases: Array<{
    name: string;
    prepare: () => Promise<string>;
    act: (consentId: string) => ReturnType<typeof rawUnaryCall>;
    code: status;
    errorCode: string;
  }> = [
    {
      name: 'authorise a revoked consent',
      prepare: async () => {
        const id = await newAccountAccessConsent();
        assertOk(await authorise(id), 'authorise');
        assertOk(await revoke(id), 'revoke');
        return id;
      },
      act: (id) => authorise(id),
      code: status.FAILED_PRECONDITION,
      errorCode: 'consent_status_invalid',
    },
    {
      name: 'authorise a rejected consent',
      prepare: async () => {
        const id = await newAccountAccessConsent();
        assertOk(await reject(id), 'reject');
        return id;
      },
      act: (id) => authorise(id),
      code: status.FAILED_PRECONDITION,
      errorCode: 'consent_status_invalid',
    },
    {
      name: 'reject an authorised consent',
      prepare: async () => {
        const id = await newAccountAccessConsent();
        assertOk(await authorise(id), 'authorise');
        return id;
      },
      act: (id) => reject(id),
      code: status.FAILED_PRECONDITION,
      errorCode: 'consent_status_invalid',
    },
    {
      name: 'consume a payment consent that awaits authorisation',
      prepare: newPaymentConsent,
      act: (id) => consume(id),
      code: status.FAILED_PRECONDITION,
      errorCode: 'consent_status_invalid',
    },
    {
      name: 'consume a payment consent twice',
      prepare: async () => {
        const id = await newPaymentConsent();
        assertOk(await authorise(id), 'authorise');
        assertOk(await consume(id), 'the first consumption');
        return id;
      },
      act: (id) => consume(id),
      code: status.FAILED_PRECONDITION,
      errorCode: 'consent_already_consumed',
    },
    {
      name: 'consume an account-access consent',
      prepare: async () => {
        const id = await newAccountAccessConsent();
        assertOk(await authorise(id), 'authorise');
        return id;
      },
      act: (id) => consume(id),
      code: status.FAILED_PRECONDITION,
      errorCode: 'consent_kind_mismatch',
    },
    {
      name: 'revoke a consent that awaits authorisation',
      prepare: () => newAccountAccessConsent(),
      act: (id) => revoke(id),
      code: status.FAILED_PRECONDITION,
      errorCode: 'consent_status_invalid',
    },
    {
      name: "authorise with an account that is not the customer's",
      prepare: () => newAccountAccessConsent(),
      act: (id) => authorise(id, ['acc-someone-elses']),
      code: status.INVALID_ARGUMENT,
      errorCode: 'invalid_account_selection',
    },
    {
      name: 'authorise a consent id that is an operator object',
      prepare: async () => JSON.stringify({ $ne: null }),
      act: (id) => authorise(id),
      code: status.NOT_FOUND,
      errorCode: 'consent_not_found',
    },
    {
      name: 'get a consent with an empty id',
      prepare: async () => '',
      act: (id) => rawUnaryCall(grpc(), consents.getConsent, { consentId: id }, { deadlineMs: 10_000 }),
      code: status.INVALID_ARGUMENT,
      errorCode: 'invalid_request',
    },
  ];
  for (const { name, prepare, act, code, errorCode } of cases) {
    test(`${name}: ${status[code]} ${errorCode}`, async () => {
      const consentId = await prepare();
      const before = consentId ? await storedDecision(consentId) : null;
      const outcome = await nothingStored(() => act(consentId));
      assert.equal(outcome.code, code, `${outcome.code} ${outcome.errorCode} ${outcome.details}`);
      assert.equal(outcome.errorCode, errorCode, outcome.details);
      if (consentId) assert.deepEqual(await storedDecision(consentId), before, 'the consent is unchanged');
    });
  }

  test('authorise an expired consent: FAILED_PRECONDITION, the consent stays Expired', async () => {
    const expiresAt = new Date(Date.now() + 2_000).toISOString().replace('Z', '+00:00');
    const consentId = await newAccountAccessConsent(tpp, expiresAt);
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    // Reading it records the expiry that fell due (consents.service load); then nothing may change.
    const read = await rawUnaryCall(grpc(), consents.getConsent, { consentId }, { deadlineMs: 10_000 });
    assertOk(read, 'read');
    assert.equal(
      (read.response as consentsV1.GetConsentResponse).consent?.status,
      consentsV1.ConsentStatus.CONSENT_STATUS_EXPIRED,
    );
    const before = await storedDecision(consentId);
    const outcome = await nothingStored(() => authorise(consentId));
    assert.equal(outcome.code, status.FAILED_PRECONDITION, outcome.details);
    assert.equal(outcome.errorCode, 'consent_status_invalid');
    assert.deepEqual(await storedDecision(consentId), before);
  });

  test('revoke twice: the second call returns the consent unchanged (idempotent, no second history entry)', async () => {
    const consentId = await newAccountAccessConsent();
    assertOk(await authorise(consentId), 'authorise');
    assertOk(await revoke(consentId), 'the first revocation');
    const before = await storedDecision(consentId);
    const again = await nothingStored(() => revoke(consentId));
    assertOk(again, 'the second revocation');
    assert.equal(
      (again.response as consentsV1.RevokeConsentResponse).consent?.status,
      consentsV1.ConsentStatus.CONSENT_STATUS_REVOKED,
    );
    assert.deepEqual(await storedDecision(consentId), before, 'the consent is unchanged');
    assert.equal((before?.history as unknown[]).length, 3, 'created, authorised, revoked once');
  });
});

// ---- OBIE intent APIs through the edge ----

describe("OBIE intent APIs: another TPP's consents, stolen tokens, operator injection", () => {
  test("GET another TPP's consent with one's own token: 404 UK.OBIE.Resource.NotFound", async () => {
    const consentId = await newAccountAccessConsent(other);
    const reply = await obie(tpp.software, tpp.token, 'GET', `${ACCOUNT_ACCESS_CONSENTS}/${consentId}`);
    assertObieError(reply, 404, 'UK.OBIE.Resource.NotFound');
    assert.doesNotMatch(reply.text, new RegExp(other.clientId), "nothing of the other TPP's consent is shown");
  });

  test("DELETE another TPP's consent: 404, the consent still Authorised", async () => {
    const consentId = await newAccountAccessConsent(other);
    assertOk(await authorise(consentId), 'authorise');
    const before = await stored(consentId);
    const reply = await nothingStored(() =>
      obie(tpp.software, tpp.token, 'DELETE', `${ACCOUNT_ACCESS_CONSENTS}/${consentId}`),
    );
    assertObieError(reply, 404, 'UK.OBIE.Resource.NotFound');
    assert.deepEqual(await stored(consentId), before);
    assert.equal(before?.status, 'Authorised');
  });

  test("another TPP's token presented with one's own certificate: 401 invalid_token (RFC 8705 binding)", async () => {
    const consentId = await newAccountAccessConsent(other);
    const reply = await obie(tpp.software, other.token, 'GET', `${ACCOUNT_ACCESS_CONSENTS}/${consentId}`);
    assertObieError(reply, 401, 'UK.OBIE.Header.Invalid');
    assert.match(reply.headers.get('www-authenticate') ?? '', /^Bearer error="invalid_token"/);
  });

  test('DELETE twice: 204 then 204, one revocation in the history', async () => {
    const consentId = await newAccountAccessConsent();
    assertOk(await authorise(consentId), 'authorise');
    const path = `${ACCOUNT_ACCESS_CONSENTS}/${consentId}`;
    assert.equal((await obie(tpp.software, tpp.token, 'DELETE', path)).status, 204);
    const before = await storedDecision(consentId);
    const again = await nothingStored(() => obie(tpp.software, tpp.token, 'DELETE', path));
    assert.equal(again.status, 204, again.text);
    assert.deepEqual(await storedDecision(consentId), before, 'no second revocation was recorded');
    assert.equal(before?.status, 'Revoked');
  });

  test('DELETE a consent that awaits authorisation: 204, Rejected, and it can no longer be authorised', async () => {
    const consentId = await newAccountAccessConsent();
    const reply = await obie(tpp.software, tpp.token, 'DELETE', `${ACCOUNT_ACCESS_CONSENTS}/${consentId}`);
    assert.equal(reply.status, 204, reply.text);
    const after = await stored(consentId);
    assert.equal(after?.status, 'Rejected');
    const outcome = await nothingStored(() => authorise(consentId));
    assert.equal(outcome.code, status.FAILED_PRECONDITION, outcome.details);
    assert.equal(outcome.errorCode, 'consent_status_invalid');
    assert.deepEqual(await stored(consentId), after);
  });

  const paths: Array<{ name: string; path: (own: string) => string; status: number; errorCode: string }> = [
    {
      name: 'a ConsentId that is an operator object',
      path: () => `${ACCOUNT_ACCESS_CONSENTS}/${encodeURIComponent('{"$ne":null}')}`,
      status: 404,
      errorCode: 'UK.OBIE.Resource.NotFound',
    },
    {
      name: 'a query string ConsentId[$ne]=x on another id',
      path: () => `${ACCOUNT_ACCESS_CONSENTS}/aac-${randomUUID()}?ConsentId[$ne]=x&clientId[$ne]=x`,
      status: 404,
      errorCode: 'UK.OBIE.Resource.NotFound',
    },
    {
      name: 'a ConsentId of 200 characters',
      path: () => `${ACCOUNT_ACCESS_CONSENTS}/${'a'.repeat(200)}`,
      status: 400,
      errorCode: 'UK.OBIE.Field.Invalid',
    },
  ];
  for (const { name, path, status: httpStatus, errorCode } of paths) {
    test(`GET with ${name}: ${httpStatus} ${errorCode}`, async () => {
      await newAccountAccessConsent(); // something that an injected filter could match
      const reply = await nothingStored(() => obie(tpp.software, tpp.token, 'GET', path('')));
      assertObieError(reply, httpStatus, errorCode);
    });
  }

  const deep = (depth: number): unknown => {
    let value: unknown = { PaymentContextCode: 'EcommerceGoods' };
    for (let level = 0; level < depth; level += 1) value = { Nested: value };
    return value;
  };
  const bodies: Array<{ name: string; path: string; body: () => unknown; status: number; errorCode: string }> = [
    {
      name: 'Permissions {"$in": [...]}',
      path: ACCOUNT_ACCESS_CONSENTS,
      body: () => ({ Data: { Permissions: { $in: ['ReadAccountsBasic'] } }, Risk: {} }),
      status: 400,
      errorCode: 'UK.OBIE.Field.Invalid',
    },
    {
      name: 'a Data field "$where"',
      path: ACCOUNT_ACCESS_CONSENTS,
      body: () => ({ Data: { Permissions: ['ReadAccountsBasic'], $where: 'sleep(1000)' }, Risk: {} }),
      status: 400,
      errorCode: 'UK.OBIE.Field.Unexpected',
    },
    {
      name: 'ExpirationDateTime {"$gt": ""}',
      path: ACCOUNT_ACCESS_CONSENTS,
      body: () => ({ Data: { Permissions: ['ReadAccountsBasic'], ExpirationDateTime: { $gt: '' } }, Risk: {} }),
      status: 400,
      errorCode: 'UK.OBIE.Field.InvalidDate',
    },
    {
      name: 'InstructedAmount.Amount {"$gt": "0"}',
      path: DOMESTIC_PAYMENT_CONSENTS,
      body: () => ({
        Data: {
          Initiation: {
            ...domesticPaymentInitiation('1.00'),
            InstructedAmount: { Amount: { $gt: '0' }, Currency: 'GBP' },
          },
        },
        Risk: {},
      }),
      status: 400,
      errorCode: 'UK.OBIE.Field.Invalid',
    },
  ];
  for (const { name, path, body, status: httpStatus, errorCode } of bodies) {
    test(`POST ${path.split('/').pop()} with ${name}: ${httpStatus} ${errorCode}, nothing stored`, async () => {
      const reply = await nothingStored(() =>
        obie(tpp.software, tpp.token, 'POST', path, JSON.stringify(body()), { 'x-idempotency-key': randomUUID() }),
      );
      assertObieError(reply, httpStatus, errorCode);
    });
  }

  // OBIE leaves Risk and SupplementaryData free-form: they are the TPP's data, stored as sent
  // (as JSON text), never read as query operators and never nested into the document.
  const inert: Array<{ name: string; path: string; body: () => Record<string, unknown>; field: 'risk' | 'request' }> = [
    {
      name: 'Risk with operator keys {"$set": {"status": "Authorised"}}',
      path: ACCOUNT_ACCESS_CONSENTS,
      body: () => ({ Data: { Permissions: ['ReadAccountsBasic'] }, Risk: { $set: { status: 'Authorised' } } }),
      field: 'risk',
    },
    {
      name: 'Risk nested 2 000 levels deep',
      path: ACCOUNT_ACCESS_CONSENTS,
      body: () => ({ Data: { Permissions: ['ReadAccountsBasic'] }, Risk: deep(2_000) }),
      field: 'risk',
    },
    {
      name: 'SupplementaryData nested 2 000 levels deep with "$where" keys',
      path: DOMESTIC_PAYMENT_CONSENTS,
      body: () => ({
        Data: {
          Initiation: {
            ...domesticPaymentInitiation('1.00'),
            SupplementaryData: { $where: 'sleep(1000)', Deep: deep(2_000) },
          },
        },
        Risk: {},
      }),
      field: 'request',
    },
  ];
  for (const { name, path, body, field } of inert) {
    test(`POST ${path.split('/').pop()} with ${name}: 201, stored as sent, status AwaitingAuthorisation`, async () => {
      const sent = body();
      const reply = await obie(tpp.software, tpp.token, 'POST', path, JSON.stringify(sent), {
        'x-idempotency-key': randomUUID(),
      });
      assert.equal(reply.status, 201, reply.text.slice(0, 300));
      const consentId = String((reply.body!.Data as { ConsentId: string }).ConsentId);
      const document = await stored(consentId);
      assert.equal(document?.status, 'AwaitingAuthorisation', 'no operator took effect');
      const storedValue = document?.[field];
      const expected = field === 'risk' ? sent.Risk : (sent.Data as Record<string, unknown>);
      // Compared as JSON text: assert.deepEqual recurses once per level and overflows at 2 000.
      const storedText = typeof storedValue === 'string' ? storedValue : JSON.stringify(storedValue);
      assert.equal(storedText, JSON.stringify(expected), 'stored exactly as sent');
    });
  }
});

// ---- RFC 7662 introspection by strangers ----

describe('RFC 7662 introspection by strangers', () => {
  const introspect = (
    form: Record<string, string> | string,
    options: { software?: TestSoftware; direct?: boolean } = {},
  ) =>
    send(
      options.direct ? `${platform.httpUrl('token-introspection')}/introspect` : `${platform.twin.mtlsUrl}/introspect`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: typeof form === 'string' ? form : new URLSearchParams(form).toString(),
        ...(options.software ? { dispatcher: platform.tppAgent(options.software) } : {}),
      },
    );

  /** RFC 6749 §5.2 / RFC 7662 §2.3: 401 invalid_client, and nothing about the token. */
  function assertInvalidClient(reply: Reply): void {
    assertCleanRefusal(reply, 'invalid_client');
    assert.equal(reply.status, 401, reply.text);
    assert.equal(reply.body?.error, 'invalid_client');
    assert.equal(reply.body?.active, undefined, 'nothing about the token');
  }

  test('no client certificate (straight to the service, no edge header): 401 invalid_client', async () => {
    assertInvalidClient(
      await introspect({ token: tpp.token, client_id: String(gateway.clientMetadata().client_id) }, { direct: true }),
    );
  });

  test('a registered TPP that is not a resource server, with its own key: 401 invalid_client', async () => {
    // openid-client reports the 401's Bearer challenge (RFC 6750 §3) rather than the body.
    await assert.rejects(oidc.tokenIntrospection(tpp.config, other.token), (error: unknown) => {
      assert.ok(error instanceof oidc.WWWAuthenticateChallengeError, String(error));
      assert.equal(error.status, 401);
      assert.equal(error.cause[0]?.parameters.error, 'invalid_client');
      return true;
    });
  });

  test("an unknown client_id with a registered TPP's certificate: 401 invalid_client", async () => {
    assertInvalidClient(
      await introspect({ token: other.token, client_id: `unknown-${randomUUID()}` }, { software: tpp.software }),
    );
  });

  test('the gateway asking about malformed tokens: active false, nothing else', async () => {
    for (const token of ['not-a-token', '{"$ne":null}', 'a'.repeat(4_000), `${other.token}x`]) {
      const answer = await oidc.tokenIntrospection(gateway, token);
      assert.deepEqual(answer, { active: false }, token.slice(0, 40));
    }
  });

  test('a token parameter given twice or as token[$ne]: 400 invalid_request', async () => {
    const clientId = String(gateway.clientMetadata().client_id);
    for (const form of [
      `token=${encodeURIComponent(tpp.token)}&token=x&client_id=${clientId}`,
      `token[$ne]=x&client_id=${clientId}`,
    ]) {
      const reply = await introspect(form, { direct: true });
      assertCleanRefusal(reply, form);
      assert.equal(reply.status, 400, reply.text);
      assert.equal(reply.body?.error, 'invalid_request', reply.text);
    }
  });
});
