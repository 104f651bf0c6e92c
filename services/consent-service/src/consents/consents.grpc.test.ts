import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { consentsV1 } from '@obip/contracts';
import type { GrpcClient } from '@obip/grpc';
import { attachServerLogsOnFailure } from '@obip/testing';
import {
  grpcFailure,
  serveConsentsOverGrpc,
  startConsentFixture,
  type ConsentFixture,
  type ServedConsents,
} from '../test-fixtures/consent-fixture';

const { ConsentStatus, ConsentKind } = consentsV1;
const AMELIA = 'cust-7f3a9c1e-amelia';

describe('consents.v1.Consents over a real gRPC connection', () => {
  let fixture: ConsentFixture;
  let served: ServedConsents;
  let client: GrpcClient<typeof consentsV1.ConsentsService>;

  before(async () => {
    fixture = await startConsentFixture('grpc');
    served = await serveConsentsOverGrpc(fixture);
    client = served.client;
  });
  after(async () => {
    await served.close();
    await fixture.close();
  });
  attachServerLogsOnFailure();

  const failure = grpcFailure;

  const newAccessConsent = () =>
    fixture.consents.createAccountAccessConsent({
      clientId: 'tpp-grpc',
      permissions: ['ReadAccountsBasic', 'ReadBalances'],
      request: { Permissions: ['ReadAccountsBasic', 'ReadBalances'] },
      risk: {},
      expiresAt: new Date('2999-01-01T00:00:00Z'),
    });

  test('GetConsent returns the consent in the contract’s terms', async () => {
    const created = await newAccessConsent();
    const { consent } = await client.call('getConsent', { consentId: created.id });
    assert.equal(consent?.consentId, created.id);
    assert.equal(consent?.kind, ConsentKind.CONSENT_KIND_ACCOUNT_ACCESS);
    assert.equal(consent?.status, ConsentStatus.CONSENT_STATUS_AWAITING_AUTHORISATION);
    assert.deepEqual(consent?.permissions, ['ReadAccountsBasic', 'ReadBalances']);
    assert.equal(consent?.expiresAt, Math.floor(new Date('2999-01-01T00:00:00Z').getTime() / 1000));
  });

  test('GetConsent of an unknown consent is NOT_FOUND with code consent_not_found', async () => {
    const error = await failure(client.call('getConsent', { consentId: 'aac-unknown' }));
    assert.equal(error.kind, 'not_found');
    assert.equal(error.code, 'consent_not_found');
  });

  test('AuthorizeConsent, then RevokeConsent, and GetConsentStatus follows', async () => {
    const created = await newAccessConsent();
    const authorised = await client.call('authorizeConsent', {
      consentId: created.id,
      subject: AMELIA,
      accountIds: ['acc-22289-current'],
      actor: 'auth-server',
    });
    assert.equal(authorised.consent?.status, ConsentStatus.CONSENT_STATUS_AUTHORISED);
    assert.equal(authorised.consent?.subject, AMELIA);
    assert.deepEqual(authorised.consent?.accountIds, ['acc-22289-current']);
    const revoked = await client.call('revokeConsent', {
      consentId: created.id,
      actor: `customer:${AMELIA}`,
      reason: 'portal',
    });
    assert.equal(revoked.consent?.status, ConsentStatus.CONSENT_STATUS_REVOKED);
    const status = await client.call('getConsentStatus', { consentId: created.id });
    assert.deepEqual(status, {
      status: ConsentStatus.CONSENT_STATUS_REVOKED,
      clientId: 'tpp-grpc',
      expiresAt: authorised.consent!.expiresAt,
    });
  });

  test('an invalid transition is FAILED_PRECONDITION and changes nothing', async () => {
    const created = await newAccessConsent();
    await client.call('rejectConsent', {
      consentId: created.id,
      subject: AMELIA,
      actor: 'auth-server',
      reason: 'declined',
    });
    const error = await failure(client.call('revokeConsent', { consentId: created.id, actor: 'admin', reason: '' }));
    assert.equal(error.kind, 'precondition_failed');
    assert.equal(error.code, 'consent_status_invalid');
    assert.equal(
      (await client.call('getConsentStatus', { consentId: created.id })).status,
      ConsentStatus.CONSENT_STATUS_REJECTED,
    );
  });

  test('ConsumeConsent spends a payment consent once', async () => {
    const { consent } = await fixture.consents.createDomesticPaymentConsent({
      clientId: 'tpp-grpc',
      request: { Initiation: { InstructedAmount: { Amount: '3.00', Currency: 'GBP' } } },
      risk: {},
      expiresAt: undefined,
    });
    await client.call('authorizeConsent', {
      consentId: consent.id,
      subject: AMELIA,
      accountIds: ['acc-22289-current'],
      actor: 'a',
    });
    const consumed = await client.call('consumeConsent', { consentId: consent.id, actor: 'auth-server' });
    assert.equal(consumed.consent?.status, ConsentStatus.CONSENT_STATUS_CONSUMED);
    assert.equal(JSON.parse(consumed.consent!.authorizationDetailsJson).InstructedAmount.Amount, '3.00');
    const again = await failure(client.call('consumeConsent', { consentId: consent.id, actor: 'auth-server' }));
    assert.equal(again.code, 'consent_already_consumed');
  });

  test('AuthorizeConsent with another customer’s account is INVALID_ARGUMENT', async () => {
    const created = await newAccessConsent();
    const error = await failure(
      client.call('authorizeConsent', {
        consentId: created.id,
        subject: AMELIA,
        accountIds: ['acc-31754-current'],
        actor: 'a',
      }),
    );
    assert.equal(error.kind, 'bad_request');
    assert.equal(error.code, 'invalid_account_selection');
  });

  test('ListConsents pages through a client’s consents and filters by status', async () => {
    const ids = [];
    for (let i = 0; i < 3; i += 1) {
      const consent = await fixture.consents.createAccountAccessConsent({
        clientId: 'tpp-grpc-list',
        permissions: ['ReadBalances'],
        request: {},
        risk: {},
        expiresAt: undefined,
      });
      ids.push(consent.id);
      fixture.clock.now = new Date(fixture.clock.now.getTime() + 1_000);
    }
    fixture.clock.now = new Date();
    const seen: string[] = [];
    let pageToken = '';
    do {
      const page = await client.call('listConsents', { clientId: 'tpp-grpc-list', pageSize: 2, pageToken, status: 0 });
      assert.ok(page.consents.length <= 2);
      seen.push(...page.consents.map((consent) => consent.consentId));
      pageToken = page.nextPageToken;
    } while (pageToken);
    assert.deepEqual(seen, ids.reverse());
    const authorised = await client.call('listConsents', {
      clientId: 'tpp-grpc-list',
      pageSize: 0,
      pageToken: '',
      status: ConsentStatus.CONSENT_STATUS_AUTHORISED,
    });
    assert.deepEqual(authorised.consents, []);
  });

  test('ListConsents without exactly one owner is INVALID_ARGUMENT', async () => {
    const neither = await failure(client.call('listConsents', { pageSize: 0, pageToken: '', status: 0 }));
    assert.equal(neither.kind, 'bad_request');
    const both = await failure(
      client.call('listConsents', { subject: AMELIA, clientId: 'x', pageSize: 0, pageToken: '', status: 0 }),
    );
    assert.equal(both.kind, 'bad_request');
  });

  test('VerifyCustomerCredentials accepts the sandbox password and gives one answer for every failure', async () => {
    assert.deepEqual(
      await client.call('verifyCustomerCredentials', { username: 'amelia.hart', password: 'Sandbox-Amelia-1' }),
      {
        verified: true,
        subject: AMELIA,
      },
    );
    const wrongPassword = await client.call('verifyCustomerCredentials', {
      username: 'amelia.hart',
      password: 'wrong',
    });
    const unknownUser = await client.call('verifyCustomerCredentials', {
      username: 'nobody',
      password: 'Sandbox-Amelia-1',
    });
    assert.deepEqual(wrongPassword, { verified: false, subject: '' });
    assert.deepEqual(unknownUser, wrongPassword);
  });

  test('ListCustomerAccounts returns the customer’s accounts and nothing for an unknown one', async () => {
    const { accounts } = await client.call('listCustomerAccounts', { subject: 'cust-0b81d4a2-rahul' });
    assert.deepEqual(
      accounts.map((account) => account.accountId),
      ['acc-31754-current', 'acc-31755-business', 'acc-31756-eur'],
    );
    assert.equal(accounts[2]?.schemeName, 'UK.OBIE.IBAN');
    assert.deepEqual((await client.call('listCustomerAccounts', { subject: 'cust-unknown' })).accounts, []);
  });

  describe('CreateGenericConsent', () => {
    const PAYMENT_DETAILS = [{ type: 'payment_initiation', instructedAmount: { currency: 'EUR', amount: '12.00' } }];
    const request = (overrides: Partial<consentsV1.CreateGenericConsentRequest> = {}) => ({
      clientId: 'tpp-grpc-generic',
      subject: AMELIA,
      scope: 'openid accounts',
      accountIds: ['acc-22289-current'],
      authorizationDetailsJson: JSON.stringify(PAYMENT_DETAILS),
      actor: 'auth-server',
      ...overrides,
    });

    test('creates a generic consent already authorised, with the history entry of the approval', async () => {
      const created = await client.call('createGenericConsent', request());
      const { consent, historyEntry } = created;
      assert.ok(consent);
      assert.ok(consent.consentId.startsWith('gc-'));
      assert.equal(consent.kind, ConsentKind.CONSENT_KIND_GENERIC);
      assert.equal(consent.status, ConsentStatus.CONSENT_STATUS_AUTHORISED);
      assert.equal(consent.clientId, 'tpp-grpc-generic');
      assert.equal(consent.subject, AMELIA);
      assert.deepEqual(consent.accountIds, ['acc-22289-current']);
      assert.deepEqual(JSON.parse(consent.authorizationDetailsJson), PAYMENT_DETAILS);
      assert.equal(consent.expiresAt, 0);
      assert.deepEqual(historyEntry, {
        fromStatus: ConsentStatus.CONSENT_STATUS_UNSPECIFIED,
        toStatus: ConsentStatus.CONSENT_STATUS_AUTHORISED,
        at: consent.createdAt,
        actor: 'auth-server',
        reason: 'approved by the customer',
      });
      assert.deepEqual((await client.call('getConsent', { consentId: consent.consentId })).consent, consent);
      const stored = await fixture.consents.get(consent.consentId);
      assert.deepEqual(stored.scopes, ['openid', 'accounts']);
      assert.equal(stored.history.length, 1, 'written by one insert: no AwaitingAuthorisation step');
    });

    test('records the customer as the actor when none is named, and allows scopes alone', async () => {
      const { consent, historyEntry } = await client.call(
        'createGenericConsent',
        request({ actor: '', accountIds: [], authorizationDetailsJson: '' }),
      );
      assert.equal(historyEntry?.actor, `customer:${AMELIA}`);
      assert.equal(consent?.authorizationDetailsJson, '');
      assert.deepEqual(consent?.accountIds, []);
    });

    test('a created generic consent follows the lifecycle: it can be revoked', async () => {
      const { consent } = await client.call('createGenericConsent', request());
      const revoked = await client.call('revokeConsent', {
        consentId: consent!.consentId,
        actor: `customer:${AMELIA}`,
        reason: 'portal',
      });
      assert.equal(revoked.consent?.status, ConsentStatus.CONSENT_STATUS_REVOKED);
    });

    test('refuses another customer’s account as INVALID_ARGUMENT and stores nothing', async () => {
      const error = await failure(
        client.call(
          'createGenericConsent',
          request({ clientId: 'tpp-grpc-foreign', accountIds: ['acc-31754-current'] }),
        ),
      );
      assert.equal(error.kind, 'bad_request');
      assert.equal(error.code, 'invalid_account_selection');
      const listed = await client.call('listConsents', {
        clientId: 'tpp-grpc-foreign',
        pageSize: 0,
        pageToken: '',
        status: 0,
      });
      assert.deepEqual(listed.consents, []);
    });

    const invalid: Array<[string, Partial<consentsV1.CreateGenericConsentRequest>]> = [
      ['without a client_id', { clientId: '' }],
      ['without a subject', { subject: '' }],
      ['whose authorization_details are not JSON', { authorizationDetailsJson: '[{' }],
      ['whose authorization_details are not an array', { authorizationDetailsJson: '{"type":"x"}' }],
      ['with an authorization_details entry without a type', { authorizationDetailsJson: '[{"amount":"1"}]' }],
      ['that grants nothing', { scope: '', authorizationDetailsJson: '' }],
      ['with an account selected twice', { accountIds: ['acc-22289-current', 'acc-22289-current'] }],
    ];
    for (const [name, overrides] of invalid) {
      test(`refuses a request ${name} as INVALID_ARGUMENT`, async () => {
        const error = await failure(client.call('createGenericConsent', request(overrides)));
        assert.equal(error.kind, 'bad_request');
      });
    }
  });
});
