// Decoupled (CIBA) authentication requests on the real consent service and MongoDB-compatible
// server: start, list, and every way a decision is taken or refused, with what it does to the
// consent. Delivery to auth-server is ciba.delivery.service.test.ts's.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { DomainError } from '@obip/errors';
import { attachServerLogsOnFailure, testMongoKind } from '@obip/testing';
import {
  AMELIA,
  AMELIA_CURRENT,
  AMELIA_SAVINGS,
  RAHUL,
  RAHUL_CURRENT,
  TPP,
  accountAccessIntent,
  paymentIntent,
  startRequest,
} from '../test-fixtures/ciba-fixture';
import { startConsentFixture, type ConsentFixture } from '../test-fixtures/consent-fixture';
import type { DecisionInput } from './ciba.rules';

const refusedWith = (kind: DomainError['kind'], code: string) => (error: unknown) => {
  assert.equal((error as DomainError).kind, kind);
  assert.equal((error as DomainError).code, code);
  return true;
};

describe('decoupled authentication requests on the real MongoDB-compatible server', () => {
  let fixture: ConsentFixture;
  let kicks = 0;
  before(async () => {
    fixture = await startConsentFixture('ciba_service', { onDecisionRecorded: () => (kicks += 1) });
  });
  after(() => fixture.close());
  attachServerLogsOnFailure();

  const decide = (authenticationId: string, overrides: Partial<DecisionInput> = {}) =>
    fixture.authentications.decide({
      authenticationId,
      subject: AMELIA,
      approve: true,
      accountIds: [AMELIA_CURRENT],
      acr: 'urn:openbanking:psd2:sca',
      amr: ['pwd'],
      actor: '',
      ...overrides,
    });

  test('StartAuthentication records a Pending request; the same id again returns it unchanged', async () => {
    const first = await startRequest(fixture, { id: 'auth-idempotent', bindingMessage: 'FIRST' });
    assert.equal(first.status, 'Pending');
    assert.equal(first.bindingMessage, 'FIRST');
    const { authentication: again, created } = await fixture.authentications.start({
      id: 'auth-idempotent',
      clientId: 'another-client',
      clientName: '',
      subject: AMELIA,
      scope: 'openid',
      bindingMessage: 'SECOND',
      intentId: undefined,
      expiresAt: new Date(fixture.clock.now.getTime() + 60_000),
    });
    assert.equal(created, false);
    assert.deepEqual(again, first);
  });

  test('StartAuthentication refuses missing fields, a past or far expiry, and unknown customers', async () => {
    await assert.rejects(startRequest(fixture, { id: '' }), refusedWith('bad_request', 'invalid_request'));
    await assert.rejects(startRequest(fixture, { scope: ' ' }), refusedWith('bad_request', 'invalid_request'));
    await assert.rejects(
      startRequest(fixture, { expiresAt: new Date(fixture.clock.now.getTime() - 1) }),
      refusedWith('bad_request', 'invalid_request'),
    );
    await assert.rejects(
      startRequest(fixture, { expiresAt: new Date(fixture.clock.now.getTime() + 2 * 86_400_000) }),
      refusedWith('bad_request', 'invalid_request'),
    );
    await assert.rejects(
      startRequest(fixture, { subject: 'cust-unknown' }),
      refusedWith('not_found', 'customer_not_found'),
    );
    // A username is a login hint, not a subject: auth-server sends FindCustomer's answer.
    await assert.rejects(
      startRequest(fixture, { subject: 'amelia.hart' }),
      refusedWith('not_found', 'customer_not_found'),
    );
  });

  test('FindCustomer resolves a username (any case) or a subject; anything else is not found', async () => {
    assert.equal(await fixture.authentications.findCustomer('Amelia.Hart'), AMELIA);
    assert.equal(await fixture.authentications.findCustomer(RAHUL), RAHUL);
    await assert.rejects(
      fixture.authentications.findCustomer('nobody'),
      refusedWith('not_found', 'customer_not_found'),
    );
    await assert.rejects(fixture.authentications.findCustomer(''), refusedWith('bad_request', 'invalid_request'));
  });

  test('lists only the customer’s Pending, unexpired requests, newest first', async () => {
    const grace = 'cust-5c2e6f90-grace';
    const started = fixture.clock.now;
    try {
      const at = (offsetMs: number) => (fixture.clock.now = new Date(started.getTime() + offsetMs));
      at(0);
      const oldest = await startRequest(fixture, { subject: grace });
      at(1_000);
      const expiring = await startRequest(fixture, {
        subject: grace,
        expiresAt: new Date(started.getTime() + 5_000),
      });
      at(2_000);
      const decided = await startRequest(fixture, { subject: grace, scope: 'openid' });
      await fixture.authentications.decide({
        authenticationId: decided.id,
        subject: grace,
        approve: false,
        accountIds: [],
        acr: '',
        amr: [],
        actor: '',
      });
      at(3_000);
      const newest = await startRequest(fixture, { subject: grace });
      await startRequest(fixture, { subject: RAHUL });

      assert.deepEqual(
        (await fixture.authentications.listPending(grace)).map((found) => found.id),
        [newest.id, expiring.id, oldest.id],
      );
      at(6_000);
      const listed = await fixture.authentications.listPending(grace);
      assert.deepEqual(
        listed.map((found) => found.id),
        [newest.id, oldest.id],
        'an expired request is no longer listed',
      );
      assert.ok(listed.every((found) => found.status === 'Pending' && found.subject === grace));
    } finally {
      fixture.clock.now = new Date();
    }
  });

  test('approving an intent authorises it with the selected accounts, as the customer', async () => {
    const intent = await accountAccessIntent(fixture);
    const request = await startRequest(fixture, { intentId: intent.id });
    const before = kicks;
    const decided = await decide(request.id, { accountIds: [AMELIA_CURRENT, AMELIA_SAVINGS] });
    assert.equal(decided.status, 'Approved');
    assert.equal(decided.consentId, intent.id);
    assert.equal(decided.decision?.consentStep, 'done');
    assert.deepEqual(decided.decision?.accountIds, [AMELIA_CURRENT, AMELIA_SAVINGS]);
    assert.equal(decided.delivery?.state, 'pending', 'the delivery to auth-server is queued with the decision');
    assert.equal(kicks, before + 1, 'the relay is asked to deliver at once');

    const authorised = await fixture.consents.get(intent.id);
    assert.equal(authorised.status, 'Authorised');
    assert.equal(authorised.subject, AMELIA);
    assert.deepEqual(authorised.accountIds, [AMELIA_CURRENT, AMELIA_SAVINGS]);
    assert.equal(authorised.history.at(-1)?.actor, `customer:${AMELIA}`);
  });

  test('approving a payment intent takes exactly its debtor account', async () => {
    const intent = await paymentIntent(fixture);
    const request = await startRequest(fixture, { intentId: intent.id, scope: 'openid payments' });
    await assert.rejects(
      decide(request.id, { accountIds: [AMELIA_CURRENT, AMELIA_SAVINGS] }),
      refusedWith('bad_request', 'invalid_account_selection'),
    );
    const decided = await decide(request.id, { accountIds: [AMELIA_SAVINGS] });
    assert.equal(decided.status, 'Approved');
    assert.deepEqual((await fixture.consents.get(intent.id)).accountIds, [AMELIA_SAVINGS]);
  });

  test('approving a request without intent creates an Authorised GENERIC consent from its scopes', async () => {
    const request = await startRequest(fixture, { scope: 'openid accounts' });
    const decided = await decide(request.id, { accountIds: [AMELIA_SAVINGS] });
    assert.match(decided.consentId ?? '', /^gc-/);
    const consent = await fixture.consents.get(decided.consentId!);
    assert.equal(consent.kind, 'generic');
    assert.equal(consent.status, 'Authorised');
    assert.equal(consent.clientId, TPP);
    assert.equal(consent.subject, AMELIA);
    assert.deepEqual(consent.scopes, ['openid', 'accounts']);
    assert.deepEqual(consent.accountIds, [AMELIA_SAVINGS]);
  });

  test('denying rejects the intent; denying without intent changes no consent', async () => {
    const intent = await accountAccessIntent(fixture);
    const request = await startRequest(fixture, { intentId: intent.id });
    const denied = await decide(request.id, { approve: false, accountIds: [], acr: '' });
    assert.equal(denied.status, 'Denied');
    assert.equal(denied.decision?.consentStep, 'done');
    const rejected = await fixture.consents.get(intent.id);
    assert.equal(rejected.status, 'Rejected');
    assert.equal(rejected.history.at(-1)?.actor, `customer:${AMELIA}`);

    const consentsOfAmelia = async () =>
      (await fixture.consents.list({ owner: { subject: AMELIA }, pageSize: 100, pageToken: '' })).consents.length;
    const before = await consentsOfAmelia();
    const plain = await startRequest(fixture);
    const deniedPlain = await decide(plain.id, { approve: false, accountIds: [AMELIA_CURRENT] });
    assert.equal(deniedPlain.status, 'Denied');
    assert.equal(deniedPlain.consentId, undefined);
    assert.deepEqual(deniedPlain.decision?.accountIds, [], 'a denial shares no account');
    assert.equal(await consentsOfAmelia(), before, 'no consent was created');
  });

  test('another customer’s request is not found, and stays Pending', async () => {
    const theirs = await startRequest(fixture, { subject: RAHUL });
    await assert.rejects(decide(theirs.id), refusedWith('not_found', 'authentication_not_found'));
    await assert.rejects(decide('auth-unknown'), refusedWith('not_found', 'authentication_not_found'));
    assert.equal((await fixture.authenticationRepository.findById(theirs.id))?.status, 'Pending');
    assert.equal(
      (await fixture.authentications.decide({ ...decisionOf(theirs.id), subject: RAHUL, accountIds: [RAHUL_CURRENT] }))
        .status,
      'Approved',
      'its own customer can still decide it',
    );
  });

  test('an expired request reads Expired, is no longer listed and cannot be decided', async () => {
    const intent = await accountAccessIntent(fixture);
    const base = fixture.clock.now.getTime();
    const request = await startRequest(fixture, { intentId: intent.id, expiresAt: new Date(base + 30_000) });
    try {
      fixture.clock.now = new Date(base + 30_000);
      const { authentication: seen } = await fixture.authentications.start({
        id: request.id,
        clientId: TPP,
        clientName: '',
        subject: AMELIA,
        scope: 'openid',
        bindingMessage: '',
        intentId: undefined,
        expiresAt: new Date(base + 60_000),
      });
      assert.equal(seen.status, 'Expired');
      assert.ok(!(await fixture.authentications.listPending(AMELIA)).some((found) => found.id === request.id));
      await assert.rejects(decide(request.id), refusedWith('precondition_failed', 'authentication_expired'));
      await assert.rejects(
        decide(request.id, { approve: false, acr: '' }),
        refusedWith('precondition_failed', 'authentication_expired'),
      );
      const stored = await fixture.authenticationRepository.findById(request.id);
      assert.equal(stored?.status, 'Pending', 'nothing recorded');
      assert.equal(stored?.delivery, undefined, 'nothing to deliver');
      assert.equal((await fixture.consents.get(intent.id)).status, 'AwaitingAuthorisation');
    } finally {
      fixture.clock.now = new Date();
    }
  });

  test('the same decision again returns it unchanged; the opposite one is refused', async () => {
    const intent = await accountAccessIntent(fixture);
    const request = await startRequest(fixture, { intentId: intent.id });
    const approved = await decide(request.id);
    const again = await decide(request.id, { accountIds: [AMELIA_SAVINGS] });
    assert.deepEqual(again, approved);
    await assert.rejects(
      decide(request.id, { approve: false, acr: '' }),
      refusedWith('precondition_failed', 'authentication_already_decided'),
    );
    const consent = await fixture.consents.get(intent.id);
    assert.equal(consent.status, 'Authorised');
    assert.deepEqual(consent.accountIds, [AMELIA_CURRENT], 'the first decision stands');
  });

  test('accounts that are not the customer’s, or none for account access, are refused and nothing changes', async () => {
    const intent = await accountAccessIntent(fixture);
    const request = await startRequest(fixture, { intentId: intent.id });
    for (const accountIds of [[RAHUL_CURRENT], [AMELIA_CURRENT, RAHUL_CURRENT], [], [AMELIA_CURRENT, AMELIA_CURRENT]]) {
      await assert.rejects(decide(request.id, { accountIds }), refusedWith('bad_request', 'invalid_account_selection'));
    }
    const generic = await startRequest(fixture);
    await assert.rejects(
      decide(generic.id, { accountIds: [RAHUL_CURRENT] }),
      refusedWith('bad_request', 'invalid_account_selection'),
    );
    for (const id of [request.id, generic.id]) {
      const stored = await fixture.authenticationRepository.findById(id);
      assert.equal(stored?.status, 'Pending');
      assert.equal(stored?.decision, undefined);
      assert.equal(stored?.delivery, undefined);
    }
    assert.equal((await fixture.consents.get(intent.id)).status, 'AwaitingAuthorisation');
  });

  test('an approval needs an acr; a denial does not', async () => {
    const request = await startRequest(fixture);
    await assert.rejects(decide(request.id, { acr: '' }), refusedWith('bad_request', 'invalid_request'));
    assert.equal((await fixture.authenticationRepository.findById(request.id))?.status, 'Pending');
    assert.equal((await decide(request.id, { approve: false, acr: '' })).status, 'Denied');
  });

  test('an intent of another client, or one that no longer exists, cannot be approved', async () => {
    const foreign = await accountAccessIntent(fixture, 'another-tpp');
    for (const intentId of [foreign.id, 'aac-unknown']) {
      const request = await startRequest(fixture, { intentId });
      await assert.rejects(decide(request.id), refusedWith('precondition_failed', 'authentication_intent_invalid'));
      assert.equal((await fixture.authenticationRepository.findById(request.id))?.status, 'Pending');
    }
    assert.equal((await fixture.consents.get(foreign.id)).status, 'AwaitingAuthorisation');
  });

  test('an intent the customer can no longer authorise is refused before anything is recorded', async () => {
    const intent = await accountAccessIntent(fixture);
    await fixture.consents.reject({ consentId: intent.id, actor: 'client:tpp-ciba', reason: 'withdrawn' });
    const request = await startRequest(fixture, { intentId: intent.id });
    await assert.rejects(decide(request.id), refusedWith('precondition_failed', 'consent_status_invalid'));
    assert.equal((await fixture.authenticationRepository.findById(request.id))?.status, 'Pending');
  });

  test(
    'two opposite decisions racing: exactly one is recorded',
    {
      skip:
        testMongoKind() === 'ferretdb'
          ? 'FerretDB 1.x does not run conditional updates atomically (docs/testing.md)'
          : false,
    },
    async () => {
      const request = await startRequest(fixture, { scope: 'openid' });
      const results = await Promise.allSettled([
        decide(request.id, { accountIds: [] }),
        decide(request.id, { approve: false, accountIds: [], acr: '' }),
      ]);
      assert.equal(results.filter((result) => result.status === 'fulfilled').length, 1);
      const rejected = results.find((result) => result.status === 'rejected');
      assert.equal((rejected?.reason as DomainError).code, 'authentication_already_decided');
    },
  );

  test('purges requests kept long enough after their expiry, and only those', async () => {
    const base = fixture.clock.now.getTime();
    const request = await startRequest(fixture, { expiresAt: new Date(base + 60_000) });
    try {
      fixture.clock.now = new Date(base + 60_000 + 86_400_000 - 1_000);
      await fixture.authentications.purgeDue();
      assert.ok(await fixture.authenticationRepository.findById(request.id), 'kept for the retention period');
      fixture.clock.now = new Date(base + 60_000 + 86_400_000 + 1_000);
      assert.ok((await fixture.authentications.purgeDue()) >= 1);
      assert.equal(await fixture.authenticationRepository.findById(request.id), undefined);
    } finally {
      fixture.clock.now = new Date();
    }
  });

  function decisionOf(authenticationId: string): DecisionInput {
    return {
      authenticationId,
      subject: AMELIA,
      approve: true,
      accountIds: [AMELIA_CURRENT],
      acr: 'urn:openbanking:psd2:sca',
      amr: ['pwd'],
      actor: '',
    };
  }
});
