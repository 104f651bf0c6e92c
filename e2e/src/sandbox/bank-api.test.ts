// The bank's HTTP and gRPC edges with stand-in dependencies: gRPC servers on port 0 playing
// token-introspection and consent-service, so that what the real platform never does on cue
// (a consent spent elsewhere, a dependency down or slow, two submissions at once) can be shown.
// The journeys with the real platform are in e2e/src/flows/bank-api.test.ts.
import assert from 'node:assert/strict';
import { randomUUID, X509Certificate } from 'node:crypto';
import { after, before, beforeEach, describe, test } from 'node:test';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT } from 'jose';
import { Agent, fetch as undiciFetch } from 'undici';
import { consentsV1, introspectionV1 } from '@obip/contracts';
import { PreconditionFailedError } from '@obip/errors';
import { createGrpcServer, type GrpcLogger, type GrpcServer, type ServiceHandlers } from '@obip/grpc';
import { createTestPki, freePort, type TestPki } from '@obip/testing';
import { startBankApi, type BankApi } from './bank-api';
import { accessTokenHash, certificateThumbprintOf } from './bank-api.rules';

const ACCOUNTS = '/open-banking/v3.1/aisp/accounts';
const PAYMENTS = '/open-banking/v3.1/pisp/domestic-payments';
const INITIATION = {
  InstructionIdentification: 'I-1',
  EndToEndIdentification: 'E-1',
  InstructedAmount: { Amount: '10.00', Currency: 'GBP' },
  CreditorAccount: { SchemeName: 'UK.OBIE.SortCodeAccountNumber', Identification: '99020212345678', Name: 'Shop' },
};

const quiet: GrpcLogger = { info() {}, warn() {}, error() {}, child: () => quiet };

/** What the stand-ins answer; each test sets what it needs. */
const world = {
  tokens: new Map<string, Partial<introspectionV1.IntrospectResponse>>(),
  consents: new Map<string, consentsV1.Consent>(),
  consumeCalls: 0,
  consumeRefused: false,
  consentDelayMs: 0,
};

let pki: TestPki;
let grpc: GrpcServer;
let bank: BankApi;
let agent: Agent;
let certificateThumbprint: string;

function consent(overrides: Partial<consentsV1.Consent>): consentsV1.Consent {
  return {
    consentId: 'c-1',
    clientId: 'client-1',
    kind: consentsV1.ConsentKind.CONSENT_KIND_ACCOUNT_ACCESS,
    status: consentsV1.ConsentStatus.CONSENT_STATUS_AUTHORISED,
    subject: 'cust-1',
    permissions: ['ReadAccountsBasic'],
    accountIds: ['acc-1'],
    authorizationDetailsJson: '',
    createdAt: 0,
    updatedAt: 0,
    expiresAt: 0,
    identityReleaseJson: '',
    ...overrides,
  };
}

/** Every method of a service refuses, except those given. */
function handlersOf<S extends object>(service: S, given: Record<string, unknown>): ServiceHandlers<never> {
  const refuse = () => {
    throw new PreconditionFailedError('not played by this stand-in');
  };
  return Object.fromEntries(
    Object.keys(service).map((name) => [name, given[name] ?? refuse]),
  ) as ServiceHandlers<never>;
}

before(async () => {
  pki = await createTestPki();
  const tpp = await pki.issueTppCertificate({ orgId: 'org-1', softwareId: 'software-1' });
  certificateThumbprint = certificateThumbprintOf(new X509Certificate(tpp.certPem).raw);
  agent = new Agent({ connect: { ca: pki.caBundlePem, cert: tpp.chainPem, key: tpp.keyPem } });

  grpc = createGrpcServer({ serviceName: 'stand-ins', logger: quiet });
  grpc.addService(
    introspectionV1.IntrospectionService,
    handlersOf(introspectionV1.IntrospectionService, {
      introspect: (request: introspectionV1.IntrospectRequest) =>
        introspectionV1.IntrospectResponse.fromPartial(world.tokens.get(request.token) ?? { active: false }),
    }),
  );
  grpc.addService(
    consentsV1.ConsentsService,
    handlersOf(consentsV1.ConsentsService, {
      async getConsent(request: consentsV1.GetConsentRequest) {
        // Unref'd: a call the bank has given up on does not keep the test process alive.
        await new Promise((resolve) => setTimeout(resolve, world.consentDelayMs).unref());
        return { consent: world.consents.get(request.consentId) };
      },
      listCustomerAccounts: () => ({
        accounts: [
          {
            accountId: 'acc-1',
            nickname: 'Everyday',
            currency: 'GBP',
            accountType: 'Personal',
            accountSubType: 'CurrentAccount',
            schemeName: 'UK.OBIE.SortCodeAccountNumber',
            identification: '99010231845927',
          },
        ],
      }),
      async consumeConsent(request: consentsV1.ConsumeConsentRequest) {
        world.consumeCalls += 1;
        // Two submissions in flight overlap here, as they would at consent-service.
        await new Promise((resolve) => setTimeout(resolve, 50));
        if (world.consumeRefused) throw new PreconditionFailedError('a consent in status Consumed cannot be consumed');
        return { consent: world.consents.get(request.consentId) };
      },
    }),
  );
  const port = await grpc.listen('127.0.0.1', 0);
  bank = await startBankApi({
    pki,
    introspectionTarget: `127.0.0.1:${port}`,
    consentsTarget: `127.0.0.1:${port}`,
    log: () => {},
  });
});
after(async () => {
  await bank?.stop();
  await agent?.close();
  await grpc?.shutdown(0);
});
beforeEach(() => {
  world.tokens.clear();
  world.consents.clear();
  world.consumeCalls = 0;
  world.consumeRefused = false;
  world.consentDelayMs = 0;
});

/** A certificate-bound token of the test TPP under `consentId`. */
function certificateBoundToken(scope: string, consentId: string): string {
  const token = randomUUID();
  world.tokens.set(token, {
    active: true,
    scope,
    clientId: 'client-1',
    tokenType: 'Bearer',
    cnfX5tS256: certificateThumbprint,
    consentId,
  });
  return token;
}

function paymentToken(): string {
  world.consents.set(
    'pc-1',
    consent({
      consentId: 'pc-1',
      kind: consentsV1.ConsentKind.CONSENT_KIND_DOMESTIC_PAYMENT,
      permissions: [],
      authorizationDetailsJson: JSON.stringify(INITIATION),
    }),
  );
  return certificateBoundToken('payments', 'pc-1');
}

async function call(
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: string; bank?: BankApi } = {},
) {
  const response = await undiciFetch(`${(init.bank ?? bank).url}${path}`, {
    method: init.method ?? 'GET',
    headers: init.headers ?? {},
    ...(init.body !== undefined ? { body: init.body } : {}),
    dispatcher: agent,
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: (text ? JSON.parse(text) : undefined) as {
      Code?: string;
      Errors?: Array<{ ErrorCode: string }>;
      Data?: Record<string, unknown>;
    },
  };
}

/** POST /domestic-payments; a null `key` sends no x-idempotency-key. */
const pay = (token: string, body: unknown, key: string | null = randomUUID(), headers: Record<string, string> = {}) =>
  call(PAYMENTS, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      ...(key === null ? {} : { 'x-idempotency-key': key }),
      ...headers,
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

describe('the bank at its edges', () => {
  test('answers an unknown path 404 and a wrong method 405, before looking at any token', async () => {
    const unknown = await call('/open-banking/v3.1/aisp/offers');
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.Errors?.[0]?.ErrorCode, 'UK.OBIE.Resource.NotFound');
    const wrongMethod = await call(ACCOUNTS, { method: 'DELETE' });
    assert.equal(wrongMethod.status, 405);
    assert.equal(wrongMethod.headers.get('allow'), 'GET');
  });

  test('a call without a token is told both schemes, in the OBIE error envelope', async () => {
    const answer = await call(ACCOUNTS);
    assert.equal(answer.status, 401);
    assert.match(
      answer.headers.get('www-authenticate') ?? '',
      /^Bearer error="invalid_token".*, DPoP error="invalid_token".*algs="ES256 PS256"/,
    );
    assert.equal(answer.body.Code, '401');
    assert.match((answer.body as { Id?: string }).Id ?? '', /^[0-9a-f-]{36}$/);
    assert.equal(answer.body.Errors?.[0]?.ErrorCode, 'UK.OBIE.Header.Missing');
  });

  test('a DPoP proof must be for this URL and is good once', async () => {
    world.consents.set('c-1', consent({}));
    const keys = await generateKeyPair('ES256', { extractable: true });
    const jwk = await exportJWK(keys.publicKey);
    const token = randomUUID();
    world.tokens.set(token, {
      active: true,
      scope: 'accounts',
      clientId: 'client-1',
      tokenType: 'DPoP',
      cnfJkt: await calculateJwkThumbprint(jwk),
      consentId: 'c-1',
    });
    const proofFor = (htu: string) =>
      new SignJWT({
        jti: randomUUID(),
        htm: 'GET',
        htu,
        iat: Math.floor(Date.now() / 1000),
        ath: accessTokenHash(token),
      })
        .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk })
        .sign(keys.privateKey);
    const withProof = (proof: string) => call(ACCOUNTS, { headers: { authorization: `DPoP ${token}`, dpop: proof } });

    const proof = await proofFor(`${bank.url}${ACCOUNTS}`);
    assert.equal((await withProof(proof)).status, 200);
    const replayed = await withProof(proof);
    assert.equal(replayed.status, 401);
    assert.match(replayed.headers.get('www-authenticate') ?? '', /^DPoP error="invalid_dpop_proof"/);
    const elsewhere = await withProof(await proofFor(`${bank.url}${ACCOUNTS}/acc-1`));
    assert.equal(elsewhere.status, 401);
    assert.match(elsewhere.headers.get('www-authenticate') ?? '', /^DPoP error="invalid_dpop_proof"/);
  });

  test('malformed payment requests are 4xx, never 5xx, and spend nothing', async () => {
    const token = paymentToken();
    const cases: Array<[string, Promise<{ status: number }>, number]> = [
      ['not JSON', pay(token, '{"Data":'), 400],
      ['a JSON array', pay(token, []), 400],
      ['no Initiation', pay(token, { Data: { ConsentId: 'pc-1' }, Risk: {} }), 400],
      ['no Risk', pay(token, { Data: { ConsentId: 'pc-1', Initiation: INITIATION } }), 400],
      ['no idempotency key', pay(token, { Data: { ConsentId: 'pc-1', Initiation: INITIATION }, Risk: {} }, null), 400],
      [
        'a 41-character key',
        pay(token, { Data: { ConsentId: 'pc-1', Initiation: INITIATION }, Risk: {} }, 'k'.repeat(41)),
        400,
      ],
      ['text/plain', pay(token, '{}', randomUUID(), { 'content-type': 'text/plain' }), 415],
      [
        'a 70 KiB body',
        pay(token, { Data: { ConsentId: 'pc-1', Initiation: INITIATION, Pad: 'x'.repeat(70_000) }, Risk: {} }),
        413,
      ],
      [
        'another Initiation',
        pay(token, {
          Data: { ConsentId: 'pc-1', Initiation: { ...INITIATION, EndToEndIdentification: 'E-2' } },
          Risk: {},
        }),
        400,
      ],
    ];
    for (const [name, answer, status] of cases) assert.equal((await answer).status, status, name);
    assert.equal(world.consumeCalls, 0);
  });

  test('a consent that consent-service will not consume is 403 and records no payment', async () => {
    const token = paymentToken();
    const submission = { Data: { ConsentId: 'pc-1', Initiation: INITIATION }, Risk: {} };
    world.consumeRefused = true;
    const key = randomUUID();
    const refused = await pay(token, submission, key);
    assert.equal(refused.status, 403);
    assert.equal(refused.body.Errors?.[0]?.ErrorCode, 'UK.OBIE.Resource.InvalidConsentStatus');
    // Nothing was kept under the key: once the consent can be spent, the same key pays.
    world.consumeRefused = false;
    const paid = await pay(token, submission, key);
    assert.equal(paid.status, 201);
    assert.equal(world.consumeCalls, 2);
  });

  test('two submissions with one key at once consume once and return one payment', async () => {
    const token = paymentToken();
    const submission = { Data: { ConsentId: 'pc-1', Initiation: INITIATION }, Risk: {} };
    const key = randomUUID();
    const answers = await Promise.all([pay(token, submission, key), pay(token, submission, key)]);
    assert.deepEqual(
      answers.map((answer) => answer.status),
      [201, 201],
    );
    const [first, second] = answers.map(
      (answer) => (answer.body.Data as { DomesticPaymentId: string }).DomesticPaymentId,
    );
    assert.equal(first, second);
    assert.equal(world.consumeCalls, 1);
  });

  test('a dependency that is down or too slow is 503, within the 2 s deadline', async () => {
    const down = await startBankApi({
      pki,
      introspectionTarget: `127.0.0.1:${await freePort()}`,
      consentsTarget: `127.0.0.1:${await freePort()}`,
      log: () => {},
    });
    try {
      const answer = await call(ACCOUNTS, { headers: { authorization: 'Bearer some-token' }, bank: down });
      assert.equal(answer.status, 503);
      assert.equal(answer.body.Errors?.[0]?.ErrorCode, 'UK.OBIE.UnexpectedError');
    } finally {
      await down.stop();
    }

    world.consents.set('c-1', consent({}));
    world.consentDelayMs = 5_000;
    const startedAt = Date.now();
    const slow = await call(ACCOUNTS, {
      headers: { authorization: `Bearer ${certificateBoundToken('accounts', 'c-1')}` },
    });
    assert.equal(slow.status, 503);
    assert.ok(Date.now() - startedAt < 4_000, `answered after ${Date.now() - startedAt} ms`);
  });
});
