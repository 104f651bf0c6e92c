// The ConsentDirectory over gRPC against the real consent-service: its main.ts started as a
// child process on a database and key prefix of its own, intents created through its OBIE API
// as a TPP would, and the outcome read back over consents.v1.
import { randomBytes, X509Certificate } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { consentsV1 } from '@obip/contracts';
import { DependencyUnavailableError, DomainError } from '@obip/errors';
import { certificateThumbprintS256 } from '@obip/fapi';
import { createGrpcClient, type GrpcClient } from '@obip/grpc';
import { closeRedis, createRedis, type RedisClient } from '@obip/redis';
import {
  attachServerLogsOnFailure,
  createTestPki,
  dropTestDatabase,
  freePort,
  startServiceProcess,
  testMongoUrl,
  testRedisPrefix,
  testRedisUrl,
  type IssuedCertificate,
  type ServiceProcess,
} from '@obip/testing';
import { createTokenStore, type TokenStore } from '@obip/token-store';
import { accountDisplayName, createGrpcConsentDirectory } from './interactions.grpc';
import type { ConsentDirectory } from './interactions.ports';

const { ConsentKind, ConsentStatus } = consentsV1;
const AMELIA = { username: 'amelia.hart', password: 'Sandbox-Amelia-1', subject: 'cust-7f3a9c1e-amelia' };
const ACR = { pwd: 'urn:openbanking:psd2:sca' };
const AISP = '/open-banking/v3.1/aisp/account-access-consents';

/** Fails unless `call` rejects with a DomainError, which it returns. */
async function failure(call: Promise<unknown>): Promise<DomainError> {
  const error = await call.then(
    () => assert.fail('the call succeeded'),
    (thrown: unknown) => thrown,
  );
  assert.ok(error instanceof DomainError, `not a DomainError: ${String(error)}`);
  return error;
}

describe('ConsentDirectory over consents.v1 against a real consent-service', () => {
  const mongoUrl = testMongoUrl('consent');
  const redisPrefix = testRedisPrefix('consent');
  let consentService: ServiceProcess;
  let directory: ConsentDirectory & { close(): void };
  let peer: GrpcClient<typeof consentsV1.ConsentsService>;
  let redis: RedisClient;
  let tokens: TokenStore;
  let certificate: IssuedCertificate;

  attachServerLogsOnFailure({ sources: [{ name: 'consent-service', logs: () => consentService?.output() ?? '' }] });

  before(async () => {
    consentService = await startServiceProcess({
      entry: 'services/consent-service/src/main.ts',
      env: {
        HTTP_PORT: '0',
        GRPC_PORT: '0',
        OPS_PORT: '0',
        MONGO_URL: mongoUrl,
        // bootstrapService opens MONGO_DB, not the URL's database: name this test's database.
        MONGO_DB: new URL(mongoUrl).pathname.slice(1),
        REDIS_URL: testRedisUrl(),
        REDIS_KEY_PREFIX: redisPrefix,
        // Revocation cascades are not under test: point them at a port nobody serves.
        TOKENS_GRPC_TARGET: `127.0.0.1:${await freePort()}`,
        SHUTDOWN_GRACE_MS: '1000',
      },
    });
    const target = `127.0.0.1:${consentService.ports.grpc}`;
    // A password check is a real scrypt check in the real consent-service: on two CI cores shared
    // with other suites it has taken over 5 s. These tests are about answers; the deadline's own
    // behaviour is tested below with a peer that never answers.
    directory = createGrpcConsentDirectory({ target, deadlineMs: 20_000, acrByAuthenticationMethod: ACR });
    peer = createGrpcClient(consentsV1.ConsentsClient, { target, defaultDeadlineMs: 20_000 });
    redis = createRedis({ url: testRedisUrl(), keyPrefix: redisPrefix });
    tokens = createTokenStore(redis);
    const pki = await createTestPki();
    certificate = await pki.issueTppCertificate({ orgId: '0015800001041REAAY', softwareId: 'SwDirectory' });
  });

  after(async () => {
    directory?.close();
    peer?.close();
    consentService?.kill();
    if (redis) await closeRedis(redis);
    await dropTestDatabase(mongoUrl);
  });

  /** An account-access intent of `clientId`, created through consent-service's OBIE API. */
  async function createIntent(clientId: string): Promise<string> {
    const token = randomBytes(32).toString('base64url');
    const issuedAt = Math.floor(Date.now() / 1000);
    await tokens.save(token, {
      v: 1,
      tokenType: 'access_token',
      grantType: 'client_credentials',
      clientId,
      scope: 'accounts',
      issuer: 'https://as.bank.example',
      audience: ['https://mtls.bank.example'],
      issuedAt,
      expiresAt: issuedAt + 300,
      cnf: { 'x5t#S256': certificateThumbprintS256(new X509Certificate(certificate.certPem)) },
    });
    const response = await fetch(`http://127.0.0.1:${consentService.ports.http}${AISP}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        'x-fapi-financial-id': 'obip',
        'ssl-client-cert': encodeURIComponent(certificate.certPem),
        'ssl-client-verify': 'SUCCESS',
      },
      body: JSON.stringify({
        Data: { Permissions: ['ReadAccountsDetail', 'ReadBalances'], ExpirationDateTime: '2999-01-01T00:00:00+00:00' },
        Risk: {},
      }),
    });
    const body = (await response.json()) as { Data?: { ConsentId?: string } };
    assert.equal(response.status, 201, JSON.stringify(body));
    assert.ok(body.Data?.ConsentId);
    return body.Data.ConsentId;
  }

  const consentOf = async (consentId: string) => {
    const { consent } = await peer.call('getConsent', { consentId });
    assert.ok(consent);
    return consent;
  };

  test('a wrong password is undefined, the same answer as an unknown customer', async () => {
    assert.equal(await directory.verifyCustomer(AMELIA.username, 'Sandbox-Amelia-2'), undefined);
    assert.equal(await directory.verifyCustomer('nobody', AMELIA.password), undefined);
  });

  test('the right password returns the sandbox customer, with the SCA acr and the pwd method', async () => {
    assert.deepEqual(await directory.verifyCustomer(AMELIA.username, AMELIA.password), {
      customerId: AMELIA.subject,
      acr: 'urn:openbanking:psd2:sca',
      amr: ['pwd'],
    });
  });

  test('lists the customer’s accounts under names they recognise', async () => {
    assert.deepEqual(await directory.listAccounts(AMELIA.subject), [
      { accountId: 'acc-22289-current', displayName: 'Everyday ••5927' },
      { accountId: 'acc-22290-savings', displayName: 'Rainy day ••1166' },
    ]);
    assert.deepEqual(await directory.listAccounts('cust-unknown'), []);
  });

  test('approving with an intent authorises it with the chosen accounts', async () => {
    const intentId = await createIntent('tpp-directory');
    const recorded = await directory.approve({
      clientId: 'tpp-directory',
      customerId: AMELIA.subject,
      scope: 'openid accounts',
      accountIds: ['acc-22289-current', 'acc-22290-savings'],
      intentId,
    });
    assert.deepEqual(recorded, { consentId: intentId, openbankingIntentId: intentId });
    const consent = await consentOf(intentId);
    assert.equal(consent.status, ConsentStatus.CONSENT_STATUS_AUTHORISED);
    assert.equal(consent.subject, AMELIA.subject);
    assert.deepEqual(consent.accountIds, ['acc-22289-current', 'acc-22290-savings']);
  });

  test('checks an intent before login: the client’s own awaiting intent passes; foreign, unknown and authorised ones do not', async () => {
    const intentId = await createIntent('tpp-directory');
    await directory.checkIntent({ clientId: 'tpp-directory', intentId });
    for (const [clientId, id] of [
      ['tpp-other', intentId],
      ['tpp-directory', 'aac-unknown'],
    ] as const) {
      const error = await failure(directory.checkIntent({ clientId, intentId: id }));
      assert.equal(error.code, 'invalid_request');
    }
    await directory.approve({
      clientId: 'tpp-directory',
      customerId: AMELIA.subject,
      scope: 'openid accounts',
      accountIds: ['acc-22289-current'],
      intentId,
    });
    const used = await failure(directory.checkIntent({ clientId: 'tpp-directory', intentId }));
    assert.equal(used.code, 'invalid_request', 'an intent already authorised cannot be authorised again');
  });

  test('approving another client’s intent is refused as invalid_request and leaves it awaiting', async () => {
    const intentId = await createIntent('tpp-other');
    const request = {
      clientId: 'tpp-directory',
      customerId: AMELIA.subject,
      scope: 'openid accounts',
      accountIds: ['acc-22289-current'],
    };
    const foreign = await failure(directory.approve({ ...request, intentId }));
    assert.equal(foreign.kind, 'bad_request');
    assert.equal(foreign.code, 'invalid_request');
    const unknown = await failure(directory.approve({ ...request, intentId: 'aac-unknown' }));
    assert.equal(unknown.code, foreign.code, 'an unknown intent gets the same answer');
    assert.equal((await consentOf(intentId)).status, ConsentStatus.CONSENT_STATUS_AWAITING_AUTHORISATION);
  });

  test('approving an intent with an account the customer does not hold is refused by consent-service', async () => {
    const intentId = await createIntent('tpp-directory');
    const error = await failure(
      directory.approve({
        clientId: 'tpp-directory',
        customerId: AMELIA.subject,
        scope: 'openid accounts',
        accountIds: ['acc-31754-current'],
        intentId,
      }),
    );
    assert.equal(error.kind, 'bad_request');
    assert.equal(error.code, 'invalid_account_selection');
  });

  test('approving without an intent creates an authorised generic consent', async () => {
    const recorded = await directory.approve({
      clientId: 'tpp-generic',
      customerId: AMELIA.subject,
      scope: 'openid accounts',
      accountIds: ['acc-22290-savings'],
    });
    assert.equal(recorded.openbankingIntentId, undefined);
    const consent = await consentOf(recorded.consentId);
    assert.equal(consent.kind, ConsentKind.CONSENT_KIND_GENERIC);
    assert.equal(consent.status, ConsentStatus.CONSENT_STATUS_AUTHORISED);
    assert.equal(consent.clientId, 'tpp-generic');
    assert.equal(consent.subject, AMELIA.subject);
    assert.deepEqual(consent.accountIds, ['acc-22290-savings']);
  });

  test('approving a request with authorization_details records them in the generic consent', async () => {
    const details = [
      { type: 'account_information', actions: ['list_accounts', 'read_balances'] },
      {
        type: 'payment_initiation',
        instructedAmount: { currency: 'GBP', amount: '25.00' },
        creditorName: 'Corner Shop Ltd',
      },
    ];
    const recorded = await directory.approve({
      clientId: 'tpp-generic',
      customerId: AMELIA.subject,
      scope: 'openid',
      accountIds: [],
      authorizationDetails: details,
    });
    const consent = await consentOf(recorded.consentId);
    assert.equal(consent.kind, ConsentKind.CONSENT_KIND_GENERIC);
    assert.equal(consent.status, ConsentStatus.CONSENT_STATUS_AUTHORISED);
    assert.deepEqual(JSON.parse(consent.authorizationDetailsJson), details);
  });

  test("the customer's verified identity comes from the directory; an unknown customer has none", async () => {
    const held = await directory.verifiedIdentity(AMELIA.subject);
    assert.deepEqual(
      held.map((entry) => entry.verification.trust_framework),
      ['uk_tfida'],
    );
    assert.equal(typeof held[0]?.claims.birthdate, 'string');
    assert.deepEqual(await directory.verifiedIdentity('cust-nobody'), []);
  });

  test('an approval that released identity data records the names at consent-service', async () => {
    const identityRelease = [{ trustFramework: 'uk_tfida', claims: ['given_name', 'birthdate'] }];
    const recorded = await directory.approve({
      clientId: 'tpp-generic',
      customerId: AMELIA.subject,
      scope: 'openid',
      accountIds: [],
      identityRelease,
    });
    const consent = await consentOf(recorded.consentId);
    assert.deepEqual(JSON.parse(consent.identityReleaseJson), [
      { trust_framework: 'uk_tfida', claims: ['given_name', 'birthdate'] },
    ]);
  });

  test('rejecting with an intent rejects it', async () => {
    const intentId = await createIntent('tpp-directory');
    await directory.reject({
      clientId: 'tpp-directory',
      customerId: AMELIA.subject,
      scope: 'openid accounts',
      accountIds: [],
      intentId,
    });
    const consent = await consentOf(intentId);
    assert.equal(consent.status, ConsentStatus.CONSENT_STATUS_REJECTED);
    assert.equal(consent.subject, AMELIA.subject);
  });

  test('rejecting without an intent, or another client’s intent, records nothing', async () => {
    const foreignIntent = await createIntent('tpp-other');
    const request = { clientId: 'tpp-reject', customerId: AMELIA.subject, scope: 'openid', accountIds: [] };
    await directory.reject(request);
    await directory.reject({ ...request, intentId: foreignIntent });
    const { consents } = await peer.call('listConsents', {
      clientId: 'tpp-reject',
      pageSize: 0,
      pageToken: '',
      status: 0,
    });
    assert.deepEqual(consents, []);
    assert.equal((await consentOf(foreignIntent)).status, ConsentStatus.CONSENT_STATUS_AWAITING_AUTHORISATION);
  });

  test('CIBA: a login_hint names a customer by username or subject; an unknown one is undefined', async () => {
    assert.equal(await directory.findCustomer(AMELIA.username), AMELIA.subject);
    assert.equal(await directory.findCustomer(AMELIA.subject), AMELIA.subject);
    assert.equal(await directory.findCustomer('nobody.here'), undefined);
  });

  test('CIBA: a started authentication is pending for the customer, once however often it is sent', async () => {
    const request = {
      authenticationId: randomBytes(16).toString('hex'),
      clientId: 'tpp-ciba',
      clientName: 'CIBA TPP',
      customerId: AMELIA.subject,
      scope: 'openid accounts',
      bindingMessage: 'Code 4711',
      expiresAt: Math.floor(Date.now() / 1000) + 300,
    };
    await directory.startAuthentication(request);
    await directory.startAuthentication(request);
    const { authentications } = await peer.call('listPendingAuthentications', { subject: AMELIA.subject });
    const started = authentications.filter((entry) => entry.authenticationId === request.authenticationId);
    assert.equal(started.length, 1);
    assert.equal(started[0]?.clientName, 'CIBA TPP');
    assert.equal(started[0]?.bindingMessage, 'Code 4711');
    assert.equal(started[0]?.status, consentsV1.AuthenticationStatus.AUTHENTICATION_STATUS_PENDING);
  });

  // Last: it stops consent-service.
  test('a stopped consent-service makes every step a 503, never a wrong password', async () => {
    consentService.child.kill('SIGTERM');
    await consentService.exited;
    const request = { clientId: 'tpp-directory', customerId: AMELIA.subject, scope: 'openid', accountIds: [] };
    for (const step of [
      () => directory.verifyCustomer(AMELIA.username, AMELIA.password),
      () => directory.verifyCustomer(AMELIA.username, 'wrong'),
      () => directory.listAccounts(AMELIA.subject),
      () => directory.approve(request),
      () => directory.approve({ ...request, intentId: 'aac-any' }),
      () => directory.reject({ ...request, intentId: 'aac-any' }),
      () => directory.findCustomer(AMELIA.username),
      () =>
        directory.startAuthentication({
          authenticationId: 'auth-any',
          clientId: 'tpp-directory',
          clientName: 'TPP',
          customerId: AMELIA.subject,
          scope: 'openid',
          expiresAt: Math.floor(Date.now() / 1000) + 300,
        }),
    ]) {
      const error = await failure(step());
      assert.ok(error instanceof DependencyUnavailableError);
      assert.equal(error.kind, 'unavailable');
    }
  });
});

describe('ConsentDirectory over consents.v1 with a consent-service that does not answer', () => {
  let silent: Server;
  const sockets = new Set<Socket>();

  before(async () => {
    // Accepts connections and never speaks: the call can only end at its deadline.
    silent = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  });
  after(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
  });

  test('a login is a 503 once the deadline passes', async () => {
    const { port } = silent.address() as AddressInfo;
    const directory = createGrpcConsentDirectory({
      target: `127.0.0.1:${port}`,
      deadlineMs: 300,
      acrByAuthenticationMethod: ACR,
    });
    try {
      const startedAt = Date.now();
      const error = await failure(directory.verifyCustomer(AMELIA.username, AMELIA.password));
      assert.ok(error instanceof DependencyUnavailableError);
      assert.ok(Date.now() - startedAt < 3_000, 'ended by the deadline');
    } finally {
      directory.close();
    }
  });
});

describe('the consent page’s account names', () => {
  const account = (overrides: Partial<consentsV1.CustomerAccount>): consentsV1.CustomerAccount => ({
    accountId: 'acc-1',
    nickname: '',
    currency: 'GBP',
    accountType: 'Personal',
    accountSubType: 'CurrentAccount',
    schemeName: 'UK.OBIE.IBAN',
    identification: 'GB29NWBK60161331926819',
    ...overrides,
  });

  test('show the nickname and the last four characters of the account identification', () => {
    assert.equal(accountDisplayName(account({ nickname: 'Bills' })), 'Bills ••6819');
  });

  test('fall back to the account type without a nickname, and to the account id without an identification', () => {
    assert.equal(accountDisplayName(account({ identification: '', accountId: 'acc-0042' })), 'CurrentAccount ••0042');
  });
});

test('a directory without an acr for the password login is refused when it is built', () => {
  assert.throws(
    () => createGrpcConsentDirectory({ target: '127.0.0.1:1', deadlineMs: 100, acrByAuthenticationMethod: {} }),
    TypeError,
  );
});
