import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { DomainError } from '@obip/errors';
import { attachServerLogsOnFailure, testMongoKind } from '@obip/testing';
import { startConsentFixture, type ConsentFixture } from '../test-fixtures/consent-fixture';
import type { Consent } from './consents.model';
import { newConsentId } from './consents.service';

// Sandbox customers (customers/sandbox-customers.json).
const AMELIA = 'cust-7f3a9c1e-amelia';
const AMELIA_CURRENT = 'acc-22289-current';
const RAHUL_CURRENT = 'acc-31754-current';

const withCode = (code: string) => (error: unknown) => {
  assert.equal((error as DomainError).code, code);
  return true;
};

describe('consent service on the real MongoDB-compatible server', () => {
  let fixture: ConsentFixture;
  let cascades = 0;
  before(async () => {
    fixture = await startConsentFixture('service', { onCascadePending: () => (cascades += 1) });
  });
  after(() => fixture.close());
  attachServerLogsOnFailure();

  const newAccessConsent = (expiresAt?: Date) =>
    fixture.consents.createAccountAccessConsent({
      clientId: 'tpp-1',
      permissions: ['ReadAccountsDetail'],
      request: { Permissions: ['ReadAccountsDetail'] },
      risk: {},
      expiresAt,
    });
  const newPaymentConsent = (
    request: Record<string, unknown> = { Initiation: { InstructedAmount: { Amount: '10.00', Currency: 'GBP' } } },
  ) => fixture.consents.createDomesticPaymentConsent({ clientId: 'tpp-1', request, risk: {}, expiresAt: undefined });
  const authorise = (consent: Consent, accountIds = [AMELIA_CURRENT]) =>
    fixture.consents.authorise({ consentId: consent.id, subject: AMELIA, accountIds, actor: 'auth-server' });

  test('an account-access consent is authorised then revoked, each step recorded in its history', async () => {
    const consent = await newAccessConsent();
    await authorise(consent);
    const revoked = await fixture.consents.revoke({
      consentId: consent.id,
      actor: `customer:${AMELIA}`,
      reason: 'changed my mind',
    });
    assert.equal(revoked.status, 'Revoked');
    assert.deepEqual(
      revoked.history.map((entry) => [entry.from, entry.to, entry.actor]),
      [
        [null, 'AwaitingAuthorisation', 'client:tpp-1'],
        ['AwaitingAuthorisation', 'Authorised', 'auth-server'],
        ['Authorised', 'Revoked', `customer:${AMELIA}`],
      ],
    );
    assert.equal(revoked.history.at(-1)!.reason, 'changed my mind');
    assert.equal(revoked.cascade?.state, 'pending', 'the token revocation is queued with the revocation');
  });

  test('revoking asks the relay to deliver the cascade at once', async () => {
    const consent = await newAccessConsent();
    await authorise(consent);
    const before = cascades;
    await fixture.consents.revoke({ consentId: consent.id, actor: 'admin' });
    assert.equal(cascades, before + 1);
  });

  test('a payment consent is authorised with one debtor account and consumed once', async () => {
    const { consent } = await newPaymentConsent();
    const authorised = await authorise(consent);
    assert.deepEqual(authorised.accountIds, [AMELIA_CURRENT]);
    const consumed = await fixture.consents.consume({ consentId: consent.id, actor: 'auth-server' });
    assert.equal(consumed.status, 'Consumed');
    await assert.rejects(
      fixture.consents.consume({ consentId: consent.id, actor: 'auth-server' }),
      withCode('consent_already_consumed'),
    );
  });

  test('refuses every invalid transition and changes nothing', async () => {
    const rejected = await newAccessConsent();
    await fixture.consents.reject({
      consentId: rejected.id,
      subject: AMELIA,
      actor: 'auth-server',
      reason: 'declined',
    });
    const stored = await fixture.repository.findById(rejected.id);
    const attempts: Array<[string, () => Promise<unknown>]> = [
      ['revoke', () => fixture.consents.revoke({ consentId: rejected.id, actor: 'admin' })],
      ['authorise', () => authorise(rejected)],
      ['consume', () => fixture.consents.consume({ consentId: rejected.id, actor: 'x' })],
    ];
    for (const [name, attempt] of attempts) {
      await assert.rejects(attempt(), (error: unknown) => {
        assert.equal((error as DomainError).kind, 'precondition_failed', name);
        return true;
      });
    }
    assert.deepEqual(await fixture.repository.findById(rejected.id), stored);
  });

  test('refuses to revoke a consent still awaiting authorisation', async () => {
    const consent = await newAccessConsent();
    await assert.rejects(
      fixture.consents.revoke({ consentId: consent.id, actor: 'admin' }),
      withCode('consent_status_invalid'),
    );
  });

  test('repeating a revocation returns the consent unchanged', async () => {
    const consent = await newAccessConsent();
    await authorise(consent);
    const first = await fixture.consents.revoke({ consentId: consent.id, actor: 'admin' });
    const second = await fixture.consents.revoke({ consentId: consent.id, actor: 'admin' });
    assert.deepEqual(second, first);
  });

  test('refuses an authorisation by another customer once authorised', async () => {
    const consent = await newAccessConsent();
    await authorise(consent);
    assert.equal((await authorise(consent)).status, 'Authorised', 'the same customer may repeat it');
    await assert.rejects(
      fixture.consents.authorise({
        consentId: consent.id,
        subject: 'cust-0b81d4a2-rahul',
        accountIds: [RAHUL_CURRENT],
        actor: 'a',
      }),
      withCode('consent_status_invalid'),
    );
  });

  test('refuses to authorise with an account the customer does not hold, leaving the consent awaiting', async () => {
    const consent = await newAccessConsent();
    await assert.rejects(authorise(consent, [RAHUL_CURRENT]), withCode('invalid_account_selection'));
    assert.equal((await fixture.consents.get(consent.id)).status, 'AwaitingAuthorisation');
  });

  test('refuses a payment debtor account other than the one the TPP named', async () => {
    const { consent } = await newPaymentConsent({
      Initiation: {
        InstructedAmount: { Amount: '10.00', Currency: 'GBP' },
        DebtorAccount: { SchemeName: 'UK.OBIE.SortCodeAccountNumber', Identification: '99010257301166' },
      },
    });
    await assert.rejects(authorise(consent, [AMELIA_CURRENT]), withCode('invalid_account_selection'));
    assert.equal((await authorise(consent, ['acc-22290-savings'])).status, 'Authorised');
  });

  test('an unknown consent is not found', async () => {
    await assert.rejects(fixture.consents.get('aac-nope'), withCode('consent_not_found'));
    await assert.rejects(fixture.consents.revoke({ consentId: 'aac-nope', actor: 'a' }), withCode('consent_not_found'));
  });

  test('another client’s consent is not found, the same as an unknown one', async () => {
    const consent = await newAccessConsent();
    await assert.rejects(
      fixture.consents.getForClient(consent.id, 'tpp-2', 'account-access'),
      withCode('consent_not_found'),
    );
    await assert.rejects(
      fixture.consents.getForClient(consent.id, 'tpp-1', 'domestic-payment'),
      withCode('consent_not_found'),
    );
  });

  describe('expiry', () => {
    test('a consent not authorised within the window expires, and can then not be authorised', async () => {
      const consent = await newAccessConsent();
      fixture.clock.now = new Date(Date.now() + 1_801_000);
      try {
        await assert.rejects(authorise(consent), withCode('consent_status_invalid'));
        const expired = await fixture.consents.get(consent.id);
        assert.equal(expired.status, 'Expired');
        assert.equal(expired.history.at(-1)!.actor, 'system:expiry');
      } finally {
        fixture.clock.now = new Date();
      }
    });

    test('an authorised consent expires at its ExpirationDateTime and its tokens are revoked', async () => {
      const consent = await newAccessConsent(new Date(Date.now() + 3_600_000));
      await authorise(consent);
      fixture.clock.now = new Date(Date.now() + 3_601_000);
      try {
        const expired = await fixture.consents.get(consent.id);
        assert.equal(expired.status, 'Expired');
        assert.equal(expired.cascade?.reason, 'consent_expired');
      } finally {
        fixture.clock.now = new Date();
      }
    });

    test('the sweeper expires consents nobody reads', async () => {
      const consent = await newAccessConsent(new Date(Date.now() + 60_000));
      fixture.clock.now = new Date(Date.now() + 61_000);
      try {
        assert.ok((await fixture.consents.expireDue(1_000)) >= 1);
        assert.equal((await fixture.repository.findById(consent.id))?.status, 'Expired');
      } finally {
        fixture.clock.now = new Date();
      }
    });
  });

  describe('idempotent payment consents', () => {
    const request = { Initiation: { InstructedAmount: { Amount: '5.00', Currency: 'GBP' } } };

    test('the same key and body give back the same consent', async () => {
      const key = `k-${Date.now()}-same`;
      const first = await fixture.consents.createDomesticPaymentConsent(
        { clientId: 'tpp-1', request, risk: {}, expiresAt: undefined },
        { key, bodyHash: 'h' },
      );
      const second = await fixture.consents.createDomesticPaymentConsent(
        { clientId: 'tpp-1', request, risk: {}, expiresAt: undefined },
        { key, bodyHash: 'h' },
      );
      assert.equal(second.consent.id, first.consent.id);
      assert.equal(second.created, false);
    });

    test('the same key with another body is refused', async () => {
      const key = `k-${Date.now()}-other`;
      await fixture.consents.createDomesticPaymentConsent(
        { clientId: 'tpp-1', request, risk: {}, expiresAt: undefined },
        { key, bodyHash: 'h1' },
      );
      await assert.rejects(
        fixture.consents.createDomesticPaymentConsent(
          { clientId: 'tpp-1', request, risk: {}, expiresAt: undefined },
          { key, bodyHash: 'h2' },
        ),
        withCode('idempotency_key_reused'),
      );
    });

    test('racing requests with one key create one consent', async () => {
      const key = `k-${Date.now()}-race`;
      const results = await Promise.all(
        Array.from({ length: 6 }, () =>
          fixture.consents.createDomesticPaymentConsent(
            { clientId: 'tpp-1', request, risk: {}, expiresAt: undefined },
            { key, bodyHash: 'h' },
          ),
        ),
      );
      assert.equal(new Set(results.map((result) => result.consent.id)).size, 1);
    });

    describe('after the 24-hour window (OBIE Read/Write API: Idempotency)', () => {
      const DAY_MS = 86_400_000;
      const create = (clientId: string, key: string, bodyHash: string) =>
        fixture.consents.createDomesticPaymentConsent(
          { clientId, request, risk: {}, expiresAt: undefined },
          { key, bodyHash },
        );
      /** Runs `work` with the service's clock moved `ms` past the real time. */
      const later = async <T>(ms: number, work: () => Promise<T>): Promise<T> => {
        fixture.clock.now = new Date(Date.now() + ms);
        try {
          return await work();
        } finally {
          fixture.clock.now = new Date();
        }
      };

      test('the same key and body still give back the same consent just before the window ends', async () => {
        const key = `k-${Date.now()}-within`;
        const first = await create('tpp-1', key, 'h');
        const second = await later(DAY_MS - 60_000, () => create('tpp-1', key, 'h'));
        assert.equal(second.consent.id, first.consent.id);
        assert.equal(second.created, false);
        await later(DAY_MS - 60_000, () =>
          assert.rejects(create('tpp-1', key, 'other'), withCode('idempotency_key_reused')),
        );
      });

      test('the same key creates a new consent, which the key then gives back', async () => {
        const key = `k-${Date.now()}-expired`;
        const first = await create('tpp-1', key, 'h');
        const renewed = await later(DAY_MS + 1_000, () => create('tpp-1', key, 'h'));
        assert.notEqual(renewed.consent.id, first.consent.id);
        assert.equal(renewed.created, true);
        assert.equal(renewed.consent.status, 'AwaitingAuthorisation');
        const again = await later(DAY_MS + 2_000, () => create('tpp-1', key, 'h'));
        assert.equal(again.consent.id, renewed.consent.id, 'the new consent holds the key for its own window');
        assert.equal((await fixture.repository.findById(first.consent.id))?.id, first.consent.id, 'the old one stays');
      });

      test('the same key with another body is accepted', async () => {
        const key = `k-${Date.now()}-newbody`;
        const first = await create('tpp-1', key, 'h1');
        const renewed = await later(DAY_MS + 1_000, () => create('tpp-1', key, 'h2'));
        assert.notEqual(renewed.consent.id, first.consent.id);
        assert.equal(renewed.created, true);
        await later(DAY_MS + 2_000, () =>
          assert.rejects(create('tpp-1', key, 'h1'), withCode('idempotency_key_reused'), 'now bound to the new body'),
        );
      });

      test('requests racing to reuse an expired key create exactly one new consent', async () => {
        const clientId = `tpp-race-${Date.now()}`;
        const key = 'k-race-expired';
        const first = await create(clientId, key, 'h');
        const results = await later(DAY_MS + 1_000, () =>
          Promise.all(Array.from({ length: 6 }, () => create(clientId, key, 'h'))),
        );
        const ids = new Set(results.map((result) => result.consent.id));
        assert.equal(ids.size, 1, 'every request is given the same consent');
        assert.ok(!ids.has(first.consent.id));
        const stored = await fixture.repository.list({ owner: { clientId }, limit: 100 });
        assert.deepEqual(stored.map((consent) => consent.id).sort(), [...ids, first.consent.id].sort());
      });

      test('the sweep removes keys whose window has passed and keeps the others', async () => {
        const keys = fixture.mongo.collection('idempotency_keys');
        const old = `k-${Date.now()}-old`;
        await create('tpp-sweep', old, 'h');
        const fresh = `k-${Date.now()}-fresh`;
        await later(DAY_MS + 1_000, async () => {
          await create('tpp-sweep', fresh, 'h');
          assert.ok((await fixture.consents.purgeExpiredIdempotencyKeys()) >= 1);
        });
        assert.equal(await keys.countDocuments({ clientId: 'tpp-sweep', key: old }), 0);
        assert.equal(await keys.countDocuments({ clientId: 'tpp-sweep', key: fresh }), 1);
      });
    });
  });

  describe('races', () => {
    test('of many racing consumers exactly one is told it consumed the payment', async () => {
      // Holds on FerretDB too: the consumption claim is a unique insert (docs/testing.md).
      const { consent } = await newPaymentConsent();
      await authorise(consent);
      const outcomes = await Promise.allSettled(
        Array.from({ length: 6 }, (_, i) => fixture.consents.consume({ consentId: consent.id, actor: `worker-${i}` })),
      );
      assert.equal(outcomes.filter((outcome) => outcome.status === 'fulfilled').length, 1);
      for (const outcome of outcomes) {
        if (outcome.status === 'rejected') assert.equal((outcome.reason as DomainError).kind, 'precondition_failed');
      }
    });

    test(
      'of a racing authorisation and two rejections exactly one transition is recorded',
      {
        skip:
          testMongoKind() === 'ferretdb' &&
          'FerretDB 1.x does not make racing conditional updates atomic (docs/testing.md)',
      },
      async () => {
        for (let round = 0; round < 10; round += 1) {
          const consent = await newAccessConsent();
          const outcomes = await Promise.allSettled([
            authorise(consent),
            fixture.consents.reject({ consentId: consent.id, actor: 'auth-server' }),
            fixture.consents.reject({ consentId: consent.id, actor: 'auth-server' }),
          ]);
          const stored = (await fixture.repository.findById(consent.id))!;
          assert.equal(stored.history.length, 2, 'one transition out of AwaitingAuthorisation');
          assert.equal(stored.revision, 1);
          assert.ok(outcomes.some((outcome) => outcome.status === 'fulfilled'));
        }
      },
    );
  });

  describe('listing', () => {
    test('pages through a customer’s consents newest first', async () => {
      const created: string[] = [];
      for (let i = 0; i < 3; i += 1) {
        const consent = await fixture.consents.createAccountAccessConsent({
          clientId: 'tpp-list',
          permissions: ['ReadBalances'],
          request: {},
          risk: {},
          expiresAt: undefined,
        });
        fixture.clock.now = new Date(fixture.clock.now.getTime() + 1_000);
        await fixture.consents.authorise({
          consentId: consent.id,
          subject: 'cust-5c2e6f90-grace',
          accountIds: ['acc-40812-current'],
          actor: 'a',
        });
        created.unshift(consent.id);
      }
      fixture.clock.now = new Date();
      const first = await fixture.consents.list({
        owner: { subject: 'cust-5c2e6f90-grace' },
        pageSize: 2,
        pageToken: '',
      });
      assert.equal(first.consents.length, 2);
      assert.notEqual(first.nextPageToken, '');
      const second = await fixture.consents.list({
        owner: { subject: 'cust-5c2e6f90-grace' },
        pageSize: 2,
        pageToken: first.nextPageToken,
      });
      assert.deepEqual(
        [...first.consents, ...second.consents].map((consent) => consent.id),
        created,
      );
      assert.equal(second.nextPageToken, '');
    });

    test('refuses a page token it did not issue', async () => {
      await assert.rejects(
        fixture.consents.list({ owner: { clientId: 'x' }, pageSize: 0, pageToken: '!!' }),
        withCode('invalid_page_token'),
      );
    });
  });

  test('a generic consent follows the same lifecycle', async () => {
    const consent = await fixture.consents.createGenericConsent({
      clientId: 'rar-client',
      scopes: ['openid', 'payments'],
      authorizationDetails: [{ type: 'payment_initiation', instructedAmount: { currency: 'EUR', amount: '12.00' } }],
      expiresAt: undefined,
    });
    assert.equal(consent.kind, 'generic');
    await fixture.consents.authorise({ consentId: consent.id, subject: AMELIA, accountIds: [], actor: 'auth-server' });
    assert.equal((await fixture.consents.revoke({ consentId: consent.id, actor: 'admin' })).status, 'Revoked');
  });

  test('an approved generic consent is stored authorised by one insert, with the approval as its history', async () => {
    const consent = await fixture.consents.createApprovedGenericConsent({
      clientId: 'rar-client',
      subject: AMELIA,
      scopes: ['openid', 'accounts'],
      accountIds: ['acc-22290-savings'],
      authorizationDetails: [],
      actor: 'auth-server',
    });
    assert.equal(consent.kind, 'generic');
    assert.equal(consent.status, 'Authorised');
    assert.equal(consent.subject, AMELIA);
    assert.equal(consent.revision, 0);
    assert.deepEqual(
      consent.history.map((entry) => [entry.from, entry.to, entry.actor]),
      [[null, 'Authorised', 'auth-server']],
    );
    assert.deepEqual(await fixture.consents.get(consent.id), consent);
  });

  test('an approved generic consent with an account the customer does not hold is refused and not stored', async () => {
    await assert.rejects(
      fixture.consents.createApprovedGenericConsent({
        clientId: 'rar-client-foreign',
        subject: AMELIA,
        scopes: ['openid'],
        accountIds: ['acc-31754-current'],
        authorizationDetails: [],
        actor: 'auth-server',
      }),
      withCode('invalid_account_selection'),
    );
    const page = await fixture.consents.list({ owner: { clientId: 'rar-client-foreign' }, pageSize: 0, pageToken: '' });
    assert.deepEqual(page.consents, []);
  });

  test('an approved generic consent created again under its chosen id is the same one, not a second', async () => {
    const input = {
      consentId: newConsentId('generic'),
      clientId: 'rar-client-repeat',
      subject: AMELIA,
      scopes: ['openid', 'accounts'],
      accountIds: [AMELIA_CURRENT],
      authorizationDetails: [],
      actor: '',
    };
    const first = await fixture.consents.createApprovedGenericConsent(input);
    assert.equal(first.id, input.consentId);
    assert.deepEqual(await fixture.consents.createApprovedGenericConsent(input), first);
    await assert.rejects(
      fixture.consents.createApprovedGenericConsent({ ...input, subject: 'cust-0b81d4a2-rahul', accountIds: [] }),
      withCode('consent_status_invalid'),
    );
    const page = await fixture.consents.list({ owner: { clientId: 'rar-client-repeat' }, pageSize: 0, pageToken: '' });
    assert.equal(page.consents.length, 1);
  });

  test('checkAuthorisation answers as authorise would, and writes nothing', async () => {
    const consent = await newAccessConsent();
    const checked = await fixture.consents.checkAuthorisation({
      consentId: consent.id,
      subject: AMELIA,
      accountIds: [AMELIA_CURRENT],
    });
    assert.equal(checked.status, 'AwaitingAuthorisation');
    await assert.rejects(
      fixture.consents.checkAuthorisation({ consentId: consent.id, subject: AMELIA, accountIds: [RAHUL_CURRENT] }),
      withCode('invalid_account_selection'),
    );
    assert.equal((await fixture.consents.get(consent.id)).revision, 0, 'nothing written');
    await authorise(consent);
    await fixture.consents.checkAuthorisation({ consentId: consent.id, subject: AMELIA, accountIds: [] });
    await assert.rejects(
      fixture.consents.checkAuthorisation({
        consentId: consent.id,
        subject: 'cust-0b81d4a2-rahul',
        accountIds: ['acc-31754-current'],
      }),
      withCode('consent_status_invalid'),
    );
  });
});
