import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { DomainError } from '@obip/errors';
import type { ConsentKind, ConsentStatus } from './consents.model';
import {
  TRANSITIONS,
  approvalReason,
  authorisationDeadlineOf,
  checkAccountSelection,
  checkGenericGrant,
  checkIdentityRelease,
  decideTransition,
  MAX_AUTHORIZATION_DETAILS,
  expiryDueAt,
  idempotencyKeyCutoff,
  isExpiryDue,
  isIdempotencyKeyExpired,
  type TransitionName,
} from './consents.rules';

const refusedWith =
  (code: string, kind = 'precondition_failed') =>
  (error: unknown) => {
    assert.equal((error as DomainError).code, code);
    assert.equal((error as DomainError).kind, kind);
    return true;
  };

describe('the consent state machine', () => {
  const allowed: Array<[ConsentKind, ConsentStatus, TransitionName, ConsentStatus]> = [
    ['account-access', 'AwaitingAuthorisation', 'authorise', 'Authorised'],
    ['account-access', 'AwaitingAuthorisation', 'reject', 'Rejected'],
    ['account-access', 'Authorised', 'revoke', 'Revoked'],
    ['account-access', 'AwaitingAuthorisation', 'expire', 'Expired'],
    ['account-access', 'Authorised', 'expire', 'Expired'],
    ['domestic-payment', 'AwaitingAuthorisation', 'authorise', 'Authorised'],
    ['domestic-payment', 'Authorised', 'consume', 'Consumed'],
    ['generic', 'Authorised', 'revoke', 'Revoked'],
    ['generic', 'Authorised', 'consume', 'Consumed'],
  ];
  for (const [kind, from, transition, to] of allowed) {
    test(`moves a ${kind} consent from ${from} to ${to} when ${transition}d`, () => {
      assert.deepEqual(decideTransition({ kind, status: from }, transition), { action: 'apply', from, to });
    });
  }

  const statuses: ConsentStatus[] = [
    'AwaitingAuthorisation',
    'Authorised',
    'Rejected',
    'Revoked',
    'Consumed',
    'Expired',
  ];
  test('refuses every transition from a status it does not leave, except repeating the one that happened', () => {
    for (const name of Object.keys(TRANSITIONS) as TransitionName[]) {
      const rule = TRANSITIONS[name];
      for (const status of statuses) {
        if (rule.from.includes(status)) continue;
        const kind = rule.kinds[0]!;
        if (status === rule.to && rule.repeatable) {
          assert.deepEqual(decideTransition({ kind, status }, name), { action: 'unchanged' }, `${name} from ${status}`);
        } else {
          assert.throws(
            () => decideTransition({ kind, status }, name),
            (error: unknown) => {
              assert.equal((error as DomainError).kind, 'precondition_failed', `${name} from ${status}`);
              return true;
            },
          );
        }
      }
    }
  });

  test('refuses to revoke a Rejected consent', () => {
    assert.throws(
      () => decideTransition({ kind: 'account-access', status: 'Rejected' }, 'revoke'),
      refusedWith('consent_status_invalid'),
    );
  });

  test('refuses to consume a payment consent twice', () => {
    assert.throws(
      () => decideTransition({ kind: 'domestic-payment', status: 'Consumed' }, 'consume'),
      refusedWith('consent_already_consumed'),
    );
  });

  test('refuses to consume an account-access consent and to revoke a payment consent', () => {
    assert.throws(
      () => decideTransition({ kind: 'account-access', status: 'Authorised' }, 'consume'),
      refusedWith('consent_kind_mismatch'),
    );
    assert.throws(
      () => decideTransition({ kind: 'domestic-payment', status: 'Authorised' }, 'revoke'),
      refusedWith('consent_kind_mismatch'),
    );
  });

  test('cascades to the tokens only when access is withdrawn', () => {
    const cascading = (Object.keys(TRANSITIONS) as TransitionName[])
      .filter((name) => TRANSITIONS[name].cascades)
      .sort();
    assert.deepEqual(cascading, ['expire', 'revoke']);
  });
});

describe('consent expiry', () => {
  const created = new Date('2026-03-01T10:00:00Z');
  const deadline = new Date('2026-03-01T10:30:00Z');

  test('an awaiting consent expires at the end of the authorisation window', () => {
    const consent = { status: 'AwaitingAuthorisation' as const, expiresAt: undefined, authorisationDeadline: deadline };
    assert.deepEqual(expiryDueAt(consent), deadline);
    assert.equal(isExpiryDue(consent, new Date('2026-03-01T10:29:59Z')), false);
    assert.equal(isExpiryDue(consent, deadline), true);
  });

  test('an authorised consent expires at its ExpirationDateTime and not at the window', () => {
    const expiresAt = new Date('2026-06-01T00:00:00Z');
    const consent = { status: 'Authorised' as const, expiresAt, authorisationDeadline: deadline };
    assert.deepEqual(expiryDueAt(consent), expiresAt);
    assert.equal(isExpiryDue(consent, new Date('2026-04-01T00:00:00Z')), false);
    assert.equal(expiryDueAt({ ...consent, expiresAt: undefined }), undefined);
  });

  test('a final consent never expires', () => {
    assert.equal(expiryDueAt({ status: 'Revoked', expiresAt: created, authorisationDeadline: deadline }), undefined);
  });

  test('the authorisation window ends early when the consent itself expires first', () => {
    assert.deepEqual(authorisationDeadlineOf(created, 1800, undefined), deadline);
    const soon = new Date('2026-03-01T10:05:00Z');
    assert.deepEqual(authorisationDeadlineOf(created, 1800, soon), soon);
  });
});

describe('account selection when authorising', () => {
  const owned = ['acc-1', 'acc-2'];
  const invalidSelection = refusedWith('invalid_account_selection', 'bad_request');

  test('accepts accounts the customer holds', () => {
    assert.doesNotThrow(() => checkAccountSelection('account-access', ['acc-1', 'acc-2'], owned));
    assert.doesNotThrow(() => checkAccountSelection('domestic-payment', ['acc-2'], owned, 'acc-2'));
  });

  test('refuses an account the customer does not hold', () => {
    assert.throws(() => checkAccountSelection('account-access', ['acc-1', 'acc-9'], owned), invalidSelection);
  });

  test('refuses an empty selection for account access and more than one account for a payment', () => {
    assert.throws(() => checkAccountSelection('account-access', [], owned), invalidSelection);
    assert.throws(() => checkAccountSelection('domestic-payment', ['acc-1', 'acc-2'], owned), invalidSelection);
  });

  test('refuses a payment account other than the DebtorAccount the TPP named', () => {
    assert.throws(() => checkAccountSelection('domestic-payment', ['acc-1'], owned, 'acc-2'), invalidSelection);
  });

  test('refuses an account selected twice', () => {
    assert.throws(() => checkAccountSelection('account-access', ['acc-1', 'acc-1'], owned), invalidSelection);
  });
});

describe('the grant of a generic consent (RFC 9396)', () => {
  test('accepts scopes alone, authorization_details alone, or both', () => {
    checkGenericGrant(['openid', 'accounts'], []);
    checkGenericGrant([], [{ type: 'payment_initiation' }]);
    checkGenericGrant(['openid'], [{ type: 'account_information', actions: ['read'] }]);
  });

  test('refuses a consent that grants nothing', () => {
    assert.throws(() => checkGenericGrant([], []), refusedWith('invalid_request', 'bad_request'));
  });

  test('refuses authorization_details that are not an array of objects with a type (§2)', () => {
    for (const details of [{ type: 'x' }, [{}], [{ type: '' }], [{ type: 7 }], ['payment'], [null], [[]]]) {
      assert.throws(() => checkGenericGrant(['openid'], details), refusedWith('invalid_request', 'bad_request'));
    }
  });

  test(`refuses more than ${MAX_AUTHORIZATION_DETAILS} authorization_details`, () => {
    const many = Array.from({ length: MAX_AUTHORIZATION_DETAILS + 1 }, () => ({ type: 'x' }));
    assert.throws(() => checkGenericGrant([], many), refusedWith('invalid_request', 'bad_request'));
  });
});

describe('the window of an x-idempotency-key (OBIE Read/Write API: 24 hours)', () => {
  const reservedAt = new Date('2026-03-01T10:00:00.000Z');
  const day = 86_400;

  test('binds its consent until the window has passed', () => {
    assert.equal(isIdempotencyKeyExpired({ createdAt: reservedAt }, new Date('2026-03-02T09:59:59.999Z'), day), false);
  });

  test('frees the key once the window has passed, to the millisecond', () => {
    assert.equal(isIdempotencyKeyExpired({ createdAt: reservedAt }, new Date('2026-03-02T10:00:00.000Z'), day), true);
    assert.deepEqual(idempotencyKeyCutoff(new Date('2026-03-02T10:00:00.000Z'), day), reservedAt);
  });

  test('follows the configured window', () => {
    assert.equal(isIdempotencyKeyExpired({ createdAt: reservedAt }, new Date('2026-03-01T10:01:00.000Z'), 60), true);
    assert.equal(isIdempotencyKeyExpired({ createdAt: reservedAt }, new Date('2026-03-01T10:00:59.000Z'), 60), false);
  });
});

describe('identity release (OIDC4IDA claims the customer agreed to share)', () => {
  test('reads the caller’s entries into this service’s terms, in order, names only', () => {
    assert.deepEqual(
      checkIdentityRelease([
        { trust_framework: 'uk_tfida', claims: ['given_name', 'address'] },
        { trust_framework: 'uk_tfida', claims: ['birthdate'] },
      ]),
      [
        { trustFramework: 'uk_tfida', claims: ['given_name', 'address'] },
        { trustFramework: 'uk_tfida', claims: ['birthdate'] },
      ],
      'two verifications under one framework are two entries',
    );
    assert.deepEqual(checkIdentityRelease([]), []);
  });

  test('refuses a malformed release with invalid_identity_release', () => {
    for (const entries of [
      [null],
      [{ trust_framework: 'uk_tfida' }],
      [{ claims: ['given_name'] }],
      [{ trust_framework: 'uk_tfida', claims: ['given_name', 7] }],
      [{ trust_framework: 'uk_tfida', claims: ['_given_name'] }],
      [{ trust_framework: 'uk_tfida', claims: [`a${'b'.repeat(64)}`] }],
    ]) {
      assert.throws(() => checkIdentityRelease(entries), refusedWith('invalid_identity_release', 'bad_request'));
    }
  });

  test('the approval reason names what was released, and only that', () => {
    assert.equal(approvalReason([]), 'approved by the customer');
    assert.equal(
      approvalReason([
        { trustFramework: 'uk_tfida', claims: ['given_name', 'family_name'] },
        { trustFramework: 'eidas', claims: ['nationalities'] },
      ]),
      'approved by the customer; verified identity released: given_name, family_name (uk_tfida); nationalities (eidas)',
    );
  });
});
