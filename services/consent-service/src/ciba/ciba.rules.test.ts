import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { DomainError } from '@obip/errors';
import type { DecoupledAuthentication } from './ciba.model';
import {
  accountChoiceOf,
  checkDecisionInput,
  checkRepeatedDecision,
  checkStartInput,
  completionOf,
  defaultAccountSelection,
  grantedConsentIdOf,
  statusAt,
  type DecisionInput,
  type StartInput,
} from './ciba.rules';

const NOW = new Date('2026-05-01T10:00:00Z');
const refusedWith = (code: string) => (error: unknown) => {
  assert.equal((error as DomainError).code, code);
  return true;
};

const start: StartInput = {
  id: 'auth-1',
  clientId: 'tpp',
  clientName: 'TPP',
  subject: 'cust-1',
  scope: 'openid accounts',
  bindingMessage: 'BM',
  intentId: undefined,
  expiresAt: new Date(NOW.getTime() + 300_000),
};

const decision: DecisionInput = {
  authenticationId: 'auth-1',
  subject: 'cust-1',
  approve: true,
  accountIds: ['a'],
  acr: 'urn:openbanking:psd2:sca',
  amr: ['pwd'],
  actor: '',
};

function decided(overrides: Partial<DecoupledAuthentication> = {}): DecoupledAuthentication {
  return {
    id: 'auth-1',
    clientId: 'tpp',
    clientName: 'TPP',
    subject: 'cust-1',
    scope: 'openid accounts',
    bindingMessage: '',
    intentId: 'aac-1',
    status: 'Approved',
    consentId: 'aac-1',
    createdAt: NOW,
    expiresAt: new Date(NOW.getTime() + 300_000),
    decision: {
      approved: true,
      accountIds: ['a'],
      acr: 'urn:openbanking:psd2:sca',
      amr: ['pwd'],
      actor: 'customer:cust-1',
      at: new Date(NOW.getTime() + 10_000),
      consentStep: 'done',
      consentError: '',
    },
    delivery: undefined,
    ...overrides,
  };
}

describe('decoupled authentication rules', () => {
  test('a request needs its id, client, subject and scope, and an expiry in the next day', () => {
    checkStartInput(start, NOW);
    for (const overrides of [
      { id: '' },
      { clientId: '' },
      { subject: '' },
      { scope: '  ' },
      { bindingMessage: 'x'.repeat(257) },
      { expiresAt: NOW },
      { expiresAt: new Date(NOW.getTime() + 86_400_001) },
      { expiresAt: new Date(Number.NaN) },
    ]) {
      assert.throws(() => checkStartInput({ ...start, ...overrides }, NOW), refusedWith('invalid_request'));
    }
  });

  test('an approval needs an acr (consents.v1 DecideAuthentication); a denial does not; inputs are bounded', () => {
    checkDecisionInput(decision);
    checkDecisionInput({ ...decision, approve: false, acr: '' });
    for (const overrides of [
      { acr: '' },
      { authenticationId: '' },
      { subject: '' },
      { accountIds: Array.from({ length: 51 }, (_, index) => `a${index}`) },
      { amr: Array.from({ length: 11 }, () => 'pwd') },
    ]) {
      assert.throws(() => checkDecisionInput({ ...decision, ...overrides }), refusedWith('invalid_request'));
    }
  });

  test('a pending request past its expiry reads Expired; a decided one keeps its decision', () => {
    const expiresAt = new Date(NOW.getTime() + 1_000);
    assert.equal(statusAt({ status: 'Pending', expiresAt }, NOW), 'Pending');
    assert.equal(statusAt({ status: 'Pending', expiresAt }, expiresAt), 'Expired');
    assert.equal(statusAt({ status: 'Approved', expiresAt }, new Date(NOW.getTime() + 60_000)), 'Approved');
  });

  test('the same decision again is accepted; the other one is refused', () => {
    checkRepeatedDecision({ status: 'Approved' }, true);
    checkRepeatedDecision({ status: 'Denied' }, false);
    assert.throws(
      () => checkRepeatedDecision({ status: 'Approved' }, false),
      refusedWith('authentication_already_decided'),
    );
    assert.throws(
      () => checkRepeatedDecision({ status: 'Denied' }, true),
      refusedWith('authentication_already_decided'),
    );
  });

  test('which accounts are chosen, and the sandbox’s default selection', () => {
    assert.equal(accountChoiceOf(['openid', 'accounts'], 'account-access'), 'several');
    assert.equal(accountChoiceOf(['openid', 'payments'], 'domestic-payment'), 'one');
    assert.equal(accountChoiceOf(['openid', 'accounts'], undefined), 'optional');
    assert.equal(accountChoiceOf(['openid'], undefined), 'none');
    assert.deepEqual(defaultAccountSelection('several', ['a', 'b'], undefined), ['a', 'b']);
    assert.deepEqual(defaultAccountSelection('one', ['a', 'b'], 'b'), ['b']);
    assert.deepEqual(defaultAccountSelection('one', ['a', 'b'], undefined), ['a']);
    assert.deepEqual(defaultAccountSelection('one', [], undefined), []);
    assert.deepEqual(defaultAccountSelection('none', ['a'], undefined), []);
  });

  test('auth-server is told an approval with its consent and intent, at the time of the decision', () => {
    const approved = decided();
    assert.deepEqual(completionOf(approved), {
      authenticationId: 'auth-1',
      subject: 'cust-1',
      approved: true,
      consentId: 'aac-1',
      openbankingIntentId: 'aac-1',
      acr: 'urn:openbanking:psd2:sca',
      amr: ['pwd'],
      authenticatedAt: approved.decision!.at,
    });
    assert.equal(grantedConsentIdOf(approved), 'aac-1');
  });

  test('an approval whose consent step failed is told as a denial, and names no consent', () => {
    const failed = decided({
      decision: { ...decided().decision!, consentStep: 'failed', consentError: 'consent_status_invalid' },
    });
    const completion = completionOf(failed);
    assert.equal(completion.approved, false);
    assert.equal(completion.consentId, undefined);
    assert.equal(completion.openbankingIntentId, undefined);
    assert.equal(grantedConsentIdOf(failed), undefined);
  });

  test('a decision is not told before its consent step is over', () => {
    assert.throws(
      () => completionOf(decided({ decision: { ...decided().decision!, consentStep: 'pending' } })),
      TypeError,
    );
    assert.throws(() => completionOf(decided({ decision: undefined })), TypeError);
  });
});
