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
      identityReleaseJson: '',
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
      identityReleaseJson: '',
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
        identityReleaseJson: '',
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
      identityReleaseJson: '',
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

  describe('verified identity (OIDC4IDA verified_claims)', () => {
    const RAHUL = 'cust-0b81d4a2-rahul';
    const GRACE = 'cust-5c2e6f90-grace';
    const RELEASE = [{ trust_framework: 'uk_tfida', claims: ['given_name', 'family_name', 'birthdate'] }];

    test('GetVerifiedIdentity returns everything the bank verified about the customer, as verified_claims', async () => {
      const { verifiedClaimsJson } = await client.call('getVerifiedIdentity', { subject: AMELIA });
      const verified = JSON.parse(verifiedClaimsJson);
      assert.equal(verified.length, 1);
      const [{ verification, claims }] = verified;
      assert.equal(verification.trust_framework, 'uk_tfida');
      assert.equal(verification.assurance_level, 'medium');
      assert.equal(verification.time, '2025-06-03T09:41:00Z');
      assert.equal(verification.evidence[0].type, 'document');
      assert.equal(verification.evidence[0].document_details.type, 'passport');
      assert.deepEqual(Object.keys(claims).sort(), [
        'address',
        'birthdate',
        'family_name',
        'given_name',
        'nationalities',
        'place_of_birth',
      ]);
      assert.deepEqual(verified, await fixture.customers.verifiedIdentity(AMELIA), 'the directory’s data, unfiltered');

      const rahul = JSON.parse((await client.call('getVerifiedIdentity', { subject: RAHUL })).verifiedClaimsJson);
      assert.deepEqual(
        rahul.map((element: { verification: { trust_framework: string } }) => element.verification.trust_framework),
        ['uk_tfida', 'eidas'],
      );
    });

    test('GetVerifiedIdentity of a customer with nothing verified is an empty array', async () => {
      assert.deepEqual(await client.call('getVerifiedIdentity', { subject: GRACE }), { verifiedClaimsJson: '[]' });
    });

    test('GetVerifiedIdentity of an unknown subject is NOT_FOUND customer_not_found; without one INVALID_ARGUMENT', async () => {
      for (const subject of ['cust-unknown', 'amelia.hart', 'x'.repeat(300)]) {
        const unknown = await failure(client.call('getVerifiedIdentity', { subject }));
        assert.equal(unknown.kind, 'not_found', subject);
        assert.equal(unknown.code, 'customer_not_found');
      }
      const empty = await failure(client.call('getVerifiedIdentity', { subject: '' }));
      assert.equal(empty.kind, 'bad_request');
    });

    test('AuthorizeConsent records the identity release on the consent and names it in the history entry', async () => {
      const created = await newAccessConsent();
      const { consent } = await client.call('authorizeConsent', {
        consentId: created.id,
        subject: AMELIA,
        accountIds: ['acc-22289-current'],
        actor: 'auth-server',
        identityReleaseJson: JSON.stringify(RELEASE),
      });
      assert.deepEqual(JSON.parse(consent!.identityReleaseJson), RELEASE);
      assert.deepEqual((await client.call('getConsent', { consentId: created.id })).consent, consent);
      const listed = await client.call('listConsents', { subject: AMELIA, pageSize: 100, pageToken: '', status: 0 });
      assert.deepEqual(
        JSON.parse(listed.consents.find((item) => item.consentId === created.id)!.identityReleaseJson),
        RELEASE,
      );
      const stored = await fixture.consents.get(created.id);
      assert.deepEqual(stored.identityRelease, [
        { trustFramework: 'uk_tfida', claims: ['given_name', 'family_name', 'birthdate'] },
      ]);
      const entry = stored.history.at(-1)!;
      assert.deepEqual([entry.from, entry.to, entry.actor], ['AwaitingAuthorisation', 'Authorised', 'auth-server']);
      assert.equal(
        entry.reason,
        'approved by the customer; verified identity released: given_name, family_name, birthdate (uk_tfida)',
      );
    });

    test('a consent authorised without an identity release says nothing was released', async () => {
      const created = await newAccessConsent();
      const { consent } = await client.call('authorizeConsent', {
        consentId: created.id,
        subject: AMELIA,
        accountIds: ['acc-22289-current'],
        actor: 'auth-server',
        identityReleaseJson: '',
      });
      assert.equal(consent?.identityReleaseJson, '');
      assert.equal((await fixture.consents.get(created.id)).history.at(-1)?.reason, 'approved by the customer');
    });

    test('CreateGenericConsent records the identity release of every verification released', async () => {
      const release = [
        { trust_framework: 'uk_tfida', claims: ['address'] },
        { trust_framework: 'eidas', claims: ['given_name', 'nationalities'] },
      ];
      const { consent, historyEntry } = await client.call('createGenericConsent', {
        clientId: 'tpp-grpc-identity',
        subject: RAHUL,
        scope: 'openid',
        accountIds: [],
        authorizationDetailsJson: '',
        actor: 'auth-server',
        identityReleaseJson: JSON.stringify(release),
      });
      assert.deepEqual(JSON.parse(consent!.identityReleaseJson), release);
      assert.equal(
        historyEntry?.reason,
        'approved by the customer; verified identity released: address (uk_tfida); given_name, nationalities (eidas)',
      );
      assert.deepEqual((await client.call('getConsent', { consentId: consent!.consentId })).consent, consent);
      assert.deepEqual((await fixture.consents.get(consent!.consentId)).history.at(-1)?.reason, historyEntry?.reason);
    });

    const claims32 = Array.from({ length: 32 }, (_, index) => `claim_${index}`);
    const malformed: Array<[string, string]> = [
      ['is not JSON', '[{'],
      ['is not an array', JSON.stringify(RELEASE[0])],
      ['has more than 8 entries', JSON.stringify(Array.from({ length: 9 }, () => RELEASE[0]))],
      ['has an entry that is not an object', '["given_name"]'],
      ['has an empty trust_framework', JSON.stringify([{ trust_framework: '', claims: ['given_name'] }])],
      [
        'has a trust_framework of 65 characters',
        JSON.stringify([{ trust_framework: 'x'.repeat(65), claims: ['given_name'] }]),
      ],
      ['has a trust_framework that is not a string', JSON.stringify([{ trust_framework: 7, claims: ['given_name'] }])],
      ['has no claims', JSON.stringify([{ trust_framework: 'uk_tfida', claims: [] }])],
      [
        'has claim values instead of names',
        JSON.stringify([{ trust_framework: 'uk_tfida', claims: { given_name: 'Amelia' } }]),
      ],
      ['has more than 32 claims', JSON.stringify([{ trust_framework: 'uk_tfida', claims: [...claims32, 'one_more'] }])],
      ['names a claim twice', JSON.stringify([{ trust_framework: 'uk_tfida', claims: ['given_name', 'given_name'] }])],
      ['has a claim name that is not one', JSON.stringify([{ trust_framework: 'uk_tfida', claims: ['Given Name'] }])],
      ['names a nested member', JSON.stringify([{ trust_framework: 'uk_tfida', claims: ['address.locality'] }])],
      [
        'carries a value beside the names',
        JSON.stringify([{ trust_framework: 'uk_tfida', claims: ['given_name'], values: { given_name: 'Amelia' } }]),
      ],
      ['is longer than 20 000 characters', `[${' '.repeat(20_000)}]`],
    ];
    for (const [why, identityReleaseJson] of malformed) {
      test(`an identity release that ${why} is INVALID_ARGUMENT invalid_identity_release and stores nothing`, async () => {
        const created = await newAccessConsent();
        const refused = await failure(
          client.call('authorizeConsent', {
            consentId: created.id,
            subject: AMELIA,
            accountIds: ['acc-22289-current'],
            actor: 'auth-server',
            identityReleaseJson,
          }),
        );
        assert.equal(refused.kind, 'bad_request');
        assert.equal(refused.code, 'invalid_identity_release');
        const unchanged = await fixture.consents.get(created.id);
        assert.equal(unchanged.status, 'AwaitingAuthorisation');
        assert.deepEqual(unchanged.identityRelease, []);
        assert.equal(unchanged.history.length, 1);

        const clientId = `tpp-grpc-identity-refused-${malformed.findIndex(([name]) => name === why)}`;
        const generic = await failure(
          client.call('createGenericConsent', {
            clientId,
            subject: AMELIA,
            scope: 'openid',
            accountIds: [],
            authorizationDetailsJson: '',
            actor: 'auth-server',
            identityReleaseJson,
          }),
        );
        assert.equal(generic.kind, 'bad_request');
        assert.equal(generic.code, 'invalid_identity_release');
        const listed = await client.call('listConsents', { clientId, pageSize: 0, pageToken: '', status: 0 });
        assert.deepEqual(listed.consents, []);
      });
    }

    test('the largest identity release allowed is accepted: 8 entries of 32 claims, every name at its longest', async () => {
      const largest = Array.from({ length: 8 }, (_, index) => ({
        trust_framework: `${'f'.repeat(63)}${index}`,
        claims: claims32.map((name) => `${name}_`.padEnd(64, 'x')),
      }));
      const created = await newAccessConsent();
      const { consent } = await client.call('authorizeConsent', {
        consentId: created.id,
        subject: AMELIA,
        accountIds: ['acc-22289-current'],
        actor: 'auth-server',
        identityReleaseJson: JSON.stringify(largest),
      });
      assert.deepEqual(JSON.parse(consent!.identityReleaseJson), largest);
    });
  });
});
