// The sandbox's demo bank against the real platform: openid-client is the TPP (DCR, PAR + PKCE,
// certificate- and DPoP-bound tokens), the customer consents on auth-server's pages, and the bank
// checks every call with token-introspection and consent-service over gRPC. Account access shows
// only what the consent grants; a token is refused over another TPP's certificate and under
// another DPoP key; a payment spends its consent exactly once and debits the balance; a consent
// the customer revokes in the portal stops the bank within a second.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import * as oidc from 'openid-client';
import { Agent, fetch as undiciFetch } from 'undici';
import { clientsV1, introspectionV1 } from '@obip/contracts';
import { createGrpcClient } from '@obip/grpc';
import { attachServerLogsOnFailure, type TestSoftware } from '@obip/testing';
import { startBankApi, type BankApi } from '../sandbox/bank-api';
import { platformLogSources, intentApi, loginAndConsent, startPlatform, type Platform } from '../platform/platform';
import {
  ACCOUNT_ACCESS_CONSENTS,
  DOMESTIC_PAYMENT_CONSENTS,
  authorizationUrlWithPar,
  createDomesticPaymentConsent,
  domesticPaymentInitiation,
  revokeInPortal,
} from './obie';

const CUSTOMER = { username: 'amelia.hart', password: 'Sandbox-Amelia-1' };
const EVERYDAY = 'acc-22289-current';
const RAINY_DAY = 'acc-22290-savings';
const AISP = '/open-banking/v3.1/aisp';
const PAYMENTS = '/open-banking/v3.1/pisp/domestic-payments';
/** FAPI 2.0 (the platform's default profile) allows response_type `code` only; an AISP and PISP. */
const FAPI2_METADATA = { response_types: ['code'], scope: 'openid accounts payments' };

let platform: Platform;
let bank: BankApi;
const bankLog: string[] = [];

attachServerLogsOnFailure({
  sources: [platformLogSources(() => platform), { name: 'bank', logs: () => bankLog.join('\n') }],
});

before(async () => {
  platform = await startPlatform({ name: 'bank_api', startLate: [] });
  bank = await startBankApi({
    pki: platform.pki,
    introspectionTarget: platform.grpcAddress('token-introspection'),
    consentsTarget: platform.grpcAddress('consent-service'),
    log: (line) => void bankLog.push(line),
  });
});
after(async () => {
  await bank?.stop();
  await platform?.stop();
});

interface BankAnswer {
  status: number;
  challenge: string | null;
  body: {
    Data?: Record<string, unknown> & {
      Account?: Array<{ AccountId: string; Account?: Array<{ Identification: string }> }>;
      Balance?: Array<{ Type: string; Amount: { Amount: string; Currency: string }; CreditDebitIndicator: string }>;
      Transaction?: Array<{ TransactionId: string; Amount: { Amount: string }; CreditDebitIndicator: string }>;
    };
    Code?: string;
    Errors?: Array<{ ErrorCode: string }>;
  };
}

/** A call to the bank as a TPP makes it: over `agent` (its transport certificate), Bearer token. */
async function callBank(
  agent: Agent,
  token: string | undefined,
  method: 'GET' | 'POST',
  path: string,
  options: { body?: unknown; idempotencyKey?: string } = {},
): Promise<BankAnswer> {
  const response = await undiciFetch(`${bank.url}${path}`, {
    method,
    headers: {
      accept: 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(options.body ? { 'content-type': 'application/json' } : {}),
      ...(options.idempotencyKey ? { 'x-idempotency-key': options.idempotencyKey } : {}),
    },
    ...(options.body ? { body: JSON.stringify(options.body) } : {}),
    dispatcher: agent,
  });
  return {
    status: response.status,
    challenge: response.headers.get('www-authenticate'),
    body: (await response.json()) as BankAnswer['body'],
  };
}

/** A registered AISP+PISP TPP: its openid-client configuration and an agent with its certificate. */
async function registeredTpp(clientName: string) {
  const software = await platform.directory.registerSoftware({ clientName });
  const { client_id: clientId } = await platform.register(software, FAPI2_METADATA);
  return {
    software,
    clientId,
    config: await platform.relyingParty(software, clientId),
    agent: platform.tppAgent(software),
  };
}

/** The customer authorises an account-access intent with these permissions for these accounts. */
async function accountAccessToken(
  tpp: { software: TestSoftware; config: oidc.Configuration },
  permissions: string[],
  accounts: string[],
): Promise<{ consentId: string; accessToken: string }> {
  const { access_token: ccToken } = await oidc.clientCredentialsGrant(tpp.config, { scope: 'accounts' });
  const created = await intentApi(platform, tpp.software, ccToken, 'POST', ACCOUNT_ACCESS_CONSENTS, {
    Data: { Permissions: permissions, ExpirationDateTime: '2999-01-01T00:00:00+00:00' },
    Risk: {},
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const consentId = created.body!.Data.ConsentId;
  const { url, verifier, state } = await authorizationUrlWithPar(tpp.config, {
    redirectUri: tpp.software.redirectUris[0]!,
    scope: 'openid accounts',
    consentId,
  });
  const callback = await loginAndConsent(platform.browser(), url, CUSTOMER, { accounts });
  const tokens = await oidc.authorizationCodeGrant(tpp.config, callback, {
    pkceCodeVerifier: verifier,
    expectedState: state,
  });
  return { consentId, accessToken: tokens.access_token };
}

function assertRefusal(answer: BankAnswer, status: number, errorCode?: string) {
  assert.equal(answer.status, status, JSON.stringify(answer.body));
  assert.equal(answer.body.Data, undefined, 'a refusal carries no data');
  assert.equal(answer.body.Code, String(status));
  if (errorCode) assert.equal(answer.body.Errors?.[0]?.ErrorCode, errorCode);
}

describe('the sandbox bank API', () => {
  test('account access: only the selected account, only the granted permissions', async () => {
    const tpp = await registeredTpp('Budget Buddy');
    const { accessToken } = await accountAccessToken(tpp, ['ReadAccountsDetail', 'ReadBalances'], [EVERYDAY]);

    const accounts = await callBank(tpp.agent, accessToken, 'GET', `${AISP}/accounts`);
    assert.equal(accounts.status, 200, JSON.stringify(accounts.body));
    assert.deepEqual(
      accounts.body.Data!.Account!.map((account) => account.AccountId),
      [EVERYDAY],
    );
    assert.equal(accounts.body.Data!.Account![0]!.Account![0]!.Identification, '99010231845927', 'ReadAccountsDetail');

    assertRefusal(
      await callBank(tpp.agent, accessToken, 'GET', `${AISP}/accounts/${RAINY_DAY}`),
      403,
      'UK.OBIE.Resource.ConsentMismatch',
    );
    assertRefusal(await callBank(tpp.agent, accessToken, 'GET', `${AISP}/accounts/${RAINY_DAY}/balances`), 403);
    assertRefusal(await callBank(tpp.agent, accessToken, 'GET', `${AISP}/accounts/${EVERYDAY}/transactions`), 403);

    const balances = await callBank(tpp.agent, accessToken, 'GET', `${AISP}/accounts/${EVERYDAY}/balances`);
    assert.equal(balances.status, 200, JSON.stringify(balances.body));
    const available = balances.body.Data!.Balance!.find((balance) => balance.Type === 'InterimAvailable');
    assert.equal(available?.Amount.Currency, 'GBP');
    assert.match(available!.Amount.Amount, /^\d+\.\d{2}$/);

    // No token, an unknown path, a token the platform never issued.
    const anonymous = await callBank(tpp.agent, undefined, 'GET', `${AISP}/accounts`);
    assertRefusal(anonymous, 401);
    assert.match(anonymous.challenge ?? '', /Bearer error="invalid_token"/);
    assertRefusal(await callBank(tpp.agent, accessToken, 'GET', `${AISP}/standing-orders`), 404);
    assertRefusal(await callBank(tpp.agent, 'not-a-token', 'GET', `${AISP}/accounts`), 401);

    // One log line per request, with the client and never the token.
    const lines = bankLog.filter((line) => line.includes(tpp.clientId));
    assert.ok(lines.length >= 5, `${lines.length} log lines name the client`);
    assert.ok(
      bankLog.every((line) => !line.includes(accessToken)),
      'no log line carries the token',
    );
    assert.deepEqual(Object.keys(JSON.parse(lines[0]!) as object).slice(0, 6), [
      'time',
      'service',
      'method',
      'path',
      'status',
      'client_id',
    ]);
  });

  test("a token presented over another TPP's certificate is refused and shows nothing", async () => {
    const owner = await registeredTpp('Owner');
    const { accessToken } = await accountAccessToken(owner, ['ReadAccountsBasic', 'ReadBalances'], [EVERYDAY]);
    assert.equal((await callBank(owner.agent, accessToken, 'GET', `${AISP}/accounts`)).status, 200);

    const thief = await platform.directory.registerSoftware({ clientName: 'Thief' });
    for (const path of [`${AISP}/accounts`, `${AISP}/accounts/${EVERYDAY}/balances`]) {
      const stolen = await callBank(platform.tppAgent(thief), accessToken, 'GET', path);
      assertRefusal(stolen, 401, 'UK.OBIE.Header.Invalid');
      assert.match(stolen.challenge ?? '', /^Bearer error="invalid_token"/);
      assert.doesNotMatch(JSON.stringify(stolen.body), /acc-|Balance|Amount/);
    }
    // Nor without any certificate.
    const bare = new Agent({ connect: { ca: platform.pki.caBundlePem } });
    try {
      assertRefusal(await callBank(bare, accessToken, 'GET', `${AISP}/accounts`), 401);
    } finally {
      await bare.close();
    }
  });

  test('a DPoP-bound token works with a proof of its key and is refused with a proof of another', async () => {
    // dcr-service's DCR keeps no dpop_bound_access_tokens: a DPoP client is onboarded by an
    // administrator (clients.v1 CreateClient), as the bank's own portal is.
    const software = await platform.directory.registerSoftware({ clientName: 'DPoP Budget', alg: 'ES256' });
    const registry = createGrpcClient(clientsV1.ClientRegistryClient, { target: platform.grpcAddress('dcr-service') });
    let clientId: string;
    try {
      const { client } = await registry.call('createClient', {
        metadataJson: JSON.stringify({
          client_name: 'DPoP Budget',
          redirect_uris: software.redirectUris,
          grant_types: ['authorization_code'],
          response_types: ['code'],
          scope: 'openid accounts',
          token_endpoint_auth_method: 'private_key_jwt',
          token_endpoint_auth_signing_alg: software.signingKey.alg,
          id_token_signed_response_alg: 'PS256',
          request_object_signing_alg: software.signingKey.alg,
          dpop_bound_access_tokens: true,
          jwks: { keys: [software.signingKey.publicJwk] },
        }),
        softwareId: software.softwareId,
        orgId: software.orgId,
        actor: 'e2e',
        reason: 'a DPoP-bound TPP',
        fapiProfile: clientsV1.FapiProfile.FAPI_PROFILE_FAPI2_SECURITY,
      });
      clientId = client!.clientId;
      await registry.call('setClientStatus', {
        clientId,
        status: clientsV1.ClientStatus.CLIENT_STATUS_ACTIVE,
        reason: 'approved',
        actor: 'e2e',
      });
    } finally {
      registry.close();
    }
    const config = await platform.relyingParty(software, clientId);
    const newDpopKey = async () =>
      (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as Parameters<
        typeof oidc.getDPoPHandle
      >[1];
    const DPoP = oidc.getDPoPHandle(config, await newDpopKey());

    // The consent is the customer's approval of RAR account_information (no intent: a DPoP client
    // holds no certificate-bound token for the intent API).
    const { url, verifier, state } = await authorizationUrlWithPar(config, {
      redirectUri: software.redirectUris[0]!,
      scope: 'openid accounts',
      authorizationDetails: [{ type: 'account_information', actions: ['list_accounts', 'read_balances'] }],
      DPoP,
    });
    const callback = await loginAndConsent(platform.browser(), url, CUSTOMER, { accounts: [EVERYDAY] });
    const tokens = await oidc.authorizationCodeGrant(
      config,
      callback,
      { pkceCodeVerifier: verifier, expectedState: state },
      undefined,
      { DPoP },
    );
    assert.equal(tokens.token_type.toLowerCase(), 'dpop');

    const accountsUrl = new URL(`${bank.url}${AISP}/accounts`);
    const response = await oidc.fetchProtectedResource(
      config,
      tokens.access_token,
      accountsUrl,
      'GET',
      undefined,
      undefined,
      {
        DPoP,
      },
    );
    assert.equal(response.status, 200);
    const listed = (await response.json()) as BankAnswer['body'];
    assert.deepEqual(
      listed.Data!.Account!.map((account) => account.AccountId),
      [EVERYDAY],
    );
    assert.equal(listed.Data!.Account![0]!.Account, undefined, 'list_accounts grants the basic view only');

    const otherKey = oidc.getDPoPHandle(config, await newDpopKey());
    await assert.rejects(
      oidc.fetchProtectedResource(config, tokens.access_token, accountsUrl, 'GET', undefined, undefined, {
        DPoP: otherKey,
      }),
      (error: oidc.WWWAuthenticateChallengeError) => {
        assert.equal(error.status, 401);
        assert.equal(error.cause[0]?.scheme, 'dpop');
        assert.equal(error.cause[0]?.parameters.error, 'invalid_token');
        return true;
      },
    );
    // The DPoP token as a Bearer token, even over a TPP certificate: refused.
    assertRefusal(await callBank(platform.tppAgent(software), tokens.access_token, 'GET', `${AISP}/accounts`), 401);
  });

  test('a payment spends its consent once, settles, and debits the balance', async () => {
    const tpp = await registeredTpp('Pay Buddy');
    const otherTpp = await registeredTpp('Other Pay');
    const { accessToken: aispToken } = await accountAccessToken(
      tpp,
      [
        'ReadAccountsBasic',
        'ReadBalances',
        'ReadTransactionsDetail',
        'ReadTransactionsCredits',
        'ReadTransactionsDebits',
      ],
      [EVERYDAY],
    );
    const balance = async () => {
      const answer = await callBank(tpp.agent, aispToken, 'GET', `${AISP}/accounts/${EVERYDAY}/balances`);
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      const available = answer.body.Data!.Balance!.find((entry) => entry.Type === 'InterimAvailable')!;
      const pence = Math.round(Number(available.Amount.Amount) * 100);
      return available.CreditDebitIndicator === 'Debit' ? -pence : pence;
    };
    const before = await balance();

    // 1. The payment consent, authorised by the customer from the Everyday account.
    const { access_token: ccToken } = await oidc.clientCredentialsGrant(tpp.config, { scope: 'payments' });
    const initiation = domesticPaymentInitiation('12.34');
    const created = await createDomesticPaymentConsent(platform, tpp.software, ccToken, initiation);
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const consentId = created.body.Data.ConsentId;
    const { url, verifier, state } = await authorizationUrlWithPar(tpp.config, {
      redirectUri: tpp.software.redirectUris[0]!,
      scope: 'openid payments',
      consentId,
    });
    const callback = await loginAndConsent(platform.browser(), url, CUSTOMER, { accounts: [EVERYDAY] });
    const { access_token: paymentToken } = await oidc.authorizationCodeGrant(tpp.config, callback, {
      pkceCodeVerifier: verifier,
      expectedState: state,
    });
    const submission = { Data: { ConsentId: consentId, Initiation: initiation }, Risk: {} };

    // 2. What the consent does not cover is refused and spends nothing.
    const altered = { ...submission, Data: { ...submission.Data, Initiation: domesticPaymentInitiation('1234.00') } };
    assertRefusal(
      await callBank(tpp.agent, paymentToken, 'POST', PAYMENTS, { body: altered, idempotencyKey: randomUUID() }),
      400,
      'UK.OBIE.Resource.ConsentMismatch',
    );
    assertRefusal(
      await callBank(tpp.agent, paymentToken, 'POST', PAYMENTS, { body: submission }),
      400,
      'UK.OBIE.Header.Missing',
    );
    assertRefusal(
      await callBank(tpp.agent, aispToken, 'POST', PAYMENTS, { body: submission, idempotencyKey: randomUUID() }),
      403,
    );
    assert.equal(
      (await intentApi(platform, tpp.software, ccToken, 'GET', `${DOMESTIC_PAYMENT_CONSENTS}/${consentId}`)).body!.Data
        .Status,
      'Authorised',
    );

    // 3. The payment.
    const key = randomUUID();
    const paid = await callBank(tpp.agent, paymentToken, 'POST', PAYMENTS, { body: submission, idempotencyKey: key });
    assert.equal(paid.status, 201, JSON.stringify(paid.body));
    const payment = paid.body.Data as {
      DomesticPaymentId: string;
      ConsentId: string;
      Status: string;
      Initiation: unknown;
    };
    assert.equal(payment.Status, 'AcceptedSettlementCompleted');
    assert.equal(payment.ConsentId, consentId);
    assert.deepEqual(payment.Initiation, initiation);
    assert.equal(
      (await intentApi(platform, tpp.software, ccToken, 'GET', `${DOMESTIC_PAYMENT_CONSENTS}/${consentId}`)).body!.Data
        .Status,
      'Consumed',
    );

    const lostResponse = await callBank(tpp.agent, paymentToken, 'POST', PAYMENTS, {
      body: submission,
      idempotencyKey: key,
    });
    assert.equal(lostResponse.status, 201, JSON.stringify(lostResponse.body));
    assert.equal(
      (lostResponse.body.Data as { DomesticPaymentId: string }).DomesticPaymentId,
      payment.DomesticPaymentId,
    );

    // 4. token-introspection now answers the payment token inactive (its consent status cache
    // holds for at most a second).
    const introspection = createGrpcClient(introspectionV1.IntrospectionClient, {
      target: platform.grpcAddress('token-introspection'),
    });
    try {
      const deadline = Date.now() + 3_000;
      const isActive = async () =>
        (
          await introspection.call('introspect', {
            token: paymentToken,
            tokenTypeHint: '',
            presentedCertificateThumbprint: '',
            presentedDpopJkt: '',
          })
        ).active;
      while ((await isActive()) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(await isActive(), false, 'the consumed consent made the token inactive');
    } finally {
      introspection.close();
    }

    // 5. A retry of the same submission by the token's holder gets the same payment; the key with
    // another body, the token over another certificate, and a second payment do not.
    const retried = await callBank(tpp.agent, paymentToken, 'POST', PAYMENTS, {
      body: submission,
      idempotencyKey: key,
    });
    assert.equal(retried.status, 201, JSON.stringify(retried.body));
    assert.equal((retried.body.Data as { DomesticPaymentId: string }).DomesticPaymentId, payment.DomesticPaymentId);
    assertRefusal(
      await callBank(tpp.agent, paymentToken, 'POST', PAYMENTS, {
        body: { ...submission, Risk: { PaymentContextCode: 'Other' } },
        idempotencyKey: key,
      }),
      400,
      'UK.OBIE.Header.Invalid',
    );
    assertRefusal(
      await callBank(otherTpp.agent, paymentToken, 'POST', PAYMENTS, { body: submission, idempotencyKey: key }),
      401,
    );
    const second = await callBank(tpp.agent, paymentToken, 'POST', PAYMENTS, {
      body: submission,
      idempotencyKey: randomUUID(),
    });
    assertRefusal(second, 401);
    assert.match(second.challenge ?? '', /error="invalid_token"/);

    // 6. One debit of the amount, shown as the newest transaction.
    assert.equal(before - (await balance()), 1234);
    const transactions = await callBank(tpp.agent, aispToken, 'GET', `${AISP}/accounts/${EVERYDAY}/transactions`);
    assert.equal(transactions.status, 200, JSON.stringify(transactions.body));
    const ours = transactions.body.Data!.Transaction!.filter(
      (entry) => entry.TransactionId === payment.DomesticPaymentId,
    );
    assert.equal(ours.length, 1);
    assert.deepEqual([ours[0]!.Amount.Amount, ours[0]!.CreditDebitIndicator], ['12.34', 'Debit']);

    // 7. The payment's status, to its TPP only: with a client_credentials token (as OBIE PIS reads
    // it) or with the spent payment token by its holder.
    const paymentPath = `${PAYMENTS}/${payment.DomesticPaymentId}`;
    const { access_token: statusToken } = await oidc.clientCredentialsGrant(tpp.config, { scope: 'payments' });
    for (const token of [statusToken, paymentToken]) {
      const status = await callBank(tpp.agent, token, 'GET', paymentPath);
      assert.equal(status.status, 200, JSON.stringify(status.body));
      assert.equal((status.body.Data as { DomesticPaymentId: string }).DomesticPaymentId, payment.DomesticPaymentId);
    }
    const { access_token: otherToken } = await oidc.clientCredentialsGrant(otherTpp.config, { scope: 'payments' });
    assertRefusal(await callBank(otherTpp.agent, otherToken, 'GET', paymentPath), 404);
    assertRefusal(await callBank(otherTpp.agent, paymentToken, 'GET', paymentPath), 401);
  });

  test('a consent the customer revokes in the portal stops the bank within a second', async (t) => {
    const tpp = await registeredTpp('Revoked Buddy');
    const { consentId, accessToken } = await accountAccessToken(tpp, ['ReadAccountsBasic'], [EVERYDAY]);
    assert.equal((await callBank(tpp.agent, accessToken, 'GET', `${AISP}/accounts`)).status, 200);

    await revokeInPortal(platform.browser(), `${platform.twin.publicUrl}/portal`, CUSTOMER, consentId);
    const revokedAt = Date.now();
    let refused: BankAnswer | undefined;
    while (!refused && Date.now() - revokedAt < 3_000) {
      const answer = await callBank(tpp.agent, accessToken, 'GET', `${AISP}/accounts`);
      if (answer.status === 401) refused = answer;
      else {
        assert.equal(answer.status, 200, JSON.stringify(answer.body));
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    const refusedAfterMs = Date.now() - revokedAt;
    assert.ok(refused, 'the bank refused the token');
    assertRefusal(refused, 401);
    assert.ok(refusedAfterMs < 1_000, `refused ${refusedAfterMs} ms after the revocation`);
    t.diagnostic(`the bank refused the revoked consent's token after ${refusedAfterMs} ms`);
  });
});
