import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ObieRequestError } from './intents.errors';
import {
  canonicalJson,
  checkCashAccount,
  checkExpirationDateTime,
  checkInstructedAmount,
  checkPermissions,
  checkTransactionWindow,
  hasSufficientFunds,
  isIdempotencyKey,
  isInteractionId,
  parseAccountAccessRequest,
  parseDomesticPaymentRequest,
  parseIsoDateTime,
} from './intents.rules';

const NOW = new Date('2026-03-01T12:00:00Z');
const codes = (problems: Array<{ ErrorCode: string }>) => problems.map((problem) => problem.ErrorCode);

describe('OBIE permission codes', () => {
  test('accepts a valid list of permissions', () => {
    assert.deepEqual(
      checkPermissions(['ReadAccountsDetail', 'ReadBalances', 'ReadTransactionsDetail', 'ReadTransactionsCredits']),
      [],
    );
  });

  test('refuses a missing, empty or unknown permission list', () => {
    assert.deepEqual(codes(checkPermissions(undefined)), ['UK.OBIE.Field.Missing']);
    assert.deepEqual(codes(checkPermissions([])), ['UK.OBIE.Field.Invalid']);
    assert.deepEqual(codes(checkPermissions(['ReadAccountsBasic', 'ReadEverything'])), ['UK.OBIE.Field.Invalid']);
  });

  test('refuses a permission listed twice', () => {
    assert.deepEqual(codes(checkPermissions(['ReadBalances', 'ReadBalances'])), ['UK.OBIE.Field.Invalid']);
  });

  test('refuses ReadTransactionsDetail without Credits or Debits, and Credits without Basic or Detail', () => {
    assert.deepEqual(codes(checkPermissions(['ReadTransactionsDetail'])), ['UK.OBIE.Field.Invalid']);
    assert.deepEqual(codes(checkPermissions(['ReadTransactionsCredits'])), ['UK.OBIE.Field.Invalid']);
  });
});

describe('OBIE dates', () => {
  test('reads ISO 8601 date-times that name their offset', () => {
    assert.deepEqual(parseIsoDateTime('2026-05-02T00:00:00+00:00'), new Date('2026-05-02T00:00:00Z'));
    assert.deepEqual(parseIsoDateTime('2026-05-02T01:30:00.123+01:00'), new Date('2026-05-02T00:30:00.123Z'));
  });

  test('refuses date-times without an offset, impossible days and other text', () => {
    for (const value of ['2026-05-02T00:00:00', '2026-02-30T00:00:00Z', '2026-13-01T00:00:00Z', 'tomorrow', 20260502]) {
      assert.equal(parseIsoDateTime(value), undefined, String(value));
    }
  });

  test('an ExpirationDateTime in the past is refused as an invalid date', () => {
    assert.deepEqual(codes(checkExpirationDateTime('2026-02-01T00:00:00Z', NOW)), ['UK.OBIE.Field.InvalidDate']);
    assert.deepEqual(checkExpirationDateTime('2026-04-01T00:00:00Z', NOW), []);
    assert.deepEqual(checkExpirationDateTime(undefined, NOW), []);
  });

  test('a transaction window that ends before it starts is refused', () => {
    assert.deepEqual(codes(checkTransactionWindow('2026-02-01T00:00:00Z', '2026-01-01T00:00:00Z')), [
      'UK.OBIE.Field.InvalidDate',
    ]);
    assert.deepEqual(checkTransactionWindow('2026-01-01T00:00:00Z', '2026-02-01T00:00:00Z'), []);
    assert.deepEqual(codes(checkTransactionWindow('yesterday', undefined)), ['UK.OBIE.Field.InvalidDate']);
  });
});

describe('OBIE amounts and accounts', () => {
  const path = 'Data.Initiation.InstructedAmount';

  test('accepts a positive GBP amount with at most two decimals', () => {
    assert.deepEqual(checkInstructedAmount({ Amount: '165.88', Currency: 'GBP' }, ['GBP'], path), []);
  });

  test('refuses malformed, zero and over-precise amounts', () => {
    for (const amount of ['1,00', '-5.00', '12345678901234', '1.123456', 12.5]) {
      assert.deepEqual(
        codes(checkInstructedAmount({ Amount: amount, Currency: 'GBP' }, ['GBP'], path)),
        ['UK.OBIE.Field.Invalid'],
        String(amount),
      );
    }
    assert.deepEqual(codes(checkInstructedAmount({ Amount: '0.00', Currency: 'GBP' }, ['GBP'], path)), [
      'UK.OBIE.Field.Invalid',
    ]);
    assert.deepEqual(codes(checkInstructedAmount({ Amount: '1.005', Currency: 'GBP' }, ['GBP'], path)), [
      'UK.OBIE.Field.Invalid',
    ]);
  });

  test('refuses a currency the bank does not pay in with UK.OBIE.Unsupported.Currency', () => {
    assert.deepEqual(codes(checkInstructedAmount({ Amount: '10.00', Currency: 'EUR' }, ['GBP'], path)), [
      'UK.OBIE.Unsupported.Currency',
    ]);
    assert.deepEqual(codes(checkInstructedAmount({ Amount: '10.00', Currency: 'gbp' }, ['GBP'], path)), [
      'UK.OBIE.Field.Invalid',
    ]);
  });

  test('names each missing part of an amount', () => {
    assert.deepEqual(codes(checkInstructedAmount({}, ['GBP'], path)), [
      'UK.OBIE.Field.Missing',
      'UK.OBIE.Field.Missing',
    ]);
  });

  test('checks account identifications against their scheme', () => {
    const creditor = {
      SchemeName: 'UK.OBIE.SortCodeAccountNumber',
      Identification: '08080021325698',
      Name: 'ACME Inc',
    };
    assert.deepEqual(checkCashAccount(creditor, 'CreditorAccount', { nameRequired: true }), []);
    assert.deepEqual(
      codes(checkCashAccount({ ...creditor, Identification: '0808' }, 'CreditorAccount', { nameRequired: true })),
      ['UK.OBIE.Unsupported.AccountIdentifier'],
    );
    assert.deepEqual(
      codes(checkCashAccount({ ...creditor, SchemeName: 'UK.OBIE.BBAN' }, 'CreditorAccount', { nameRequired: true })),
      ['UK.OBIE.Unsupported.Scheme'],
    );
    assert.deepEqual(
      codes(checkCashAccount({ ...creditor, Name: undefined }, 'CreditorAccount', { nameRequired: true })),
      ['UK.OBIE.Field.Missing'],
    );
  });

  test('funds are sufficient only in the same currency and up to the available balance', () => {
    assert.equal(
      hasSufficientFunds({ amount: '100.00', currency: 'GBP' }, { availableBalance: '100.00', currency: 'GBP' }),
      true,
    );
    assert.equal(
      hasSufficientFunds({ amount: '100.01', currency: 'GBP' }, { availableBalance: '100.00', currency: 'GBP' }),
      false,
    );
    assert.equal(
      hasSufficientFunds({ amount: '1', currency: 'GBP' }, { availableBalance: '-3.50', currency: 'GBP' }),
      false,
    );
    assert.equal(
      hasSufficientFunds({ amount: '1.00', currency: 'GBP' }, { availableBalance: '500.00', currency: 'EUR' }),
      false,
    );
  });
});

describe('whole intent requests', () => {
  const refusal = (error: unknown) => (error as ObieRequestError).details.map((item) => item.ErrorCode);

  test('parses an account-access request into permissions and expiry', () => {
    const parsed = parseAccountAccessRequest(
      { Data: { Permissions: ['ReadAccountsBasic'], ExpirationDateTime: '2026-09-01T00:00:00+00:00' }, Risk: {} },
      NOW,
    );
    assert.deepEqual(parsed.permissions, ['ReadAccountsBasic']);
    assert.deepEqual(parsed.expiresAt, new Date('2026-09-01T00:00:00Z'));
  });

  test('lists every problem of an account-access request at once', () => {
    assert.throws(
      () => parseAccountAccessRequest({ Data: { Permissions: ['Nope'], ExpirationDateTime: 'soon', Extra: 1 } }, NOW),
      (error: unknown) => {
        assert.deepEqual(refusal(error).sort(), [
          'UK.OBIE.Field.Invalid',
          'UK.OBIE.Field.InvalidDate',
          'UK.OBIE.Field.Missing',
          'UK.OBIE.Field.Unexpected',
        ]);
        return true;
      },
    );
  });

  test('refuses a payment request without a creditor account', () => {
    const body = {
      Data: {
        Initiation: {
          InstructionIdentification: 'i',
          EndToEndIdentification: 'e',
          InstructedAmount: { Amount: '1.00', Currency: 'GBP' },
        },
      },
      Risk: {},
    };
    assert.throws(
      () => parseDomesticPaymentRequest(body, ['GBP']),
      (error: unknown) => {
        assert.deepEqual(refusal(error), ['UK.OBIE.Field.Missing']);
        assert.equal((error as ObieRequestError).details[0]!.Path, 'Data.Initiation.CreditorAccount');
        return true;
      },
    );
  });
});

describe('headers and idempotency', () => {
  test('x-fapi-interaction-id must be a UUID', () => {
    assert.equal(isInteractionId('93bac548-d2de-4546-b106-880a5018460d'), true);
    assert.equal(isInteractionId('not-a-uuid'), false);
  });

  test('x-idempotency-key is 1 to 40 visible characters', () => {
    assert.equal(isIdempotencyKey('FRESCO.21302.GFX.20'), true);
    assert.equal(isIdempotencyKey('a'.repeat(41)), false);
    assert.equal(isIdempotencyKey('has space'), false);
  });

  test('two bodies that differ only in key order and spacing have the same canonical form', () => {
    assert.equal(
      canonicalJson({ b: [1, { d: 2, c: 3 }], a: 'x' }),
      canonicalJson(JSON.parse('{"a":"x","b":[1,{"c":3,"d":2}]}')),
    );
    assert.notEqual(canonicalJson({ a: '1.00' }), canonicalJson({ a: '1.0' }));
  });
});
