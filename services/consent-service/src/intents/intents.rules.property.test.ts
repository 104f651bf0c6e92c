// Property-based tests of the OBIE 3.1 intent request rules: generated valid account-access and
// domestic-payment requests are accepted as sent; each single mutation is refused with the OBIE
// error code and path of the field it breaks; arbitrary JSON is refused with OBIE codes only.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  ACCOUNT_ACCESS_MUTATIONS,
  DOMESTIC_PAYMENT_MUTATIONS,
  PROPERTY_NOW,
  accountAccessArbitrary,
  asParsedJson,
  dateTimeArbitrary,
  domesticPaymentArbitrary,
  isoDateTime,
  pathMatches,
  type Mutation,
} from '../test-fixtures/intents-arbitraries';
import { ObieRequestError, type ObieItem } from './intents.errors';
import {
  canonicalJson,
  hasSufficientFunds,
  parseAccountAccessRequest,
  parseDomesticPaymentRequest,
  parseIsoDateTime,
} from './intents.rules';

const CURRENCIES = ['GBP', 'EUR', 'JPY'];
/** Every ErrorCode these rules may answer with (OBIE 3.1 error codes). */
const OBIE_FIELD_CODES = new Set([
  'UK.OBIE.Field.Invalid',
  'UK.OBIE.Field.InvalidDate',
  'UK.OBIE.Field.Missing',
  'UK.OBIE.Field.Unexpected',
  'UK.OBIE.Unsupported.Currency',
  'UK.OBIE.Unsupported.Scheme',
  'UK.OBIE.Unsupported.AccountIdentifier',
]);

/** The refusal's items; a pass, or any error but a 400 ObieRequestError, fails the property. */
function refusal(parse: () => unknown): readonly ObieItem[] {
  try {
    parse();
  } catch (error) {
    assert.ok(error instanceof ObieRequestError, `threw ${(error as Error)?.constructor?.name}: ${String(error)}`);
    assert.equal(error.kind, 'bad_request');
    assert.ok(error.details.length > 0);
    for (const item of error.details) assert.ok(OBIE_FIELD_CODES.has(item.ErrorCode), item.ErrorCode);
    return error.details;
  }
  assert.fail('the request was accepted');
}

/** Every item names the broken field with its code (a zero JPY amount is also over-precise: two items). */
function assertRefusedFor(mutation: Mutation, items: readonly ObieItem[]): void {
  const summary = JSON.stringify(items.map(({ ErrorCode, Path }) => `${ErrorCode} ${Path}`));
  for (const item of items) {
    assert.equal(item.ErrorCode, mutation.errorCode, `${mutation.name}: ${summary}`);
    assert.ok(pathMatches(mutation.path, item.Path), `${mutation.name}: ${summary}`);
  }
}

describe('account-access consent requests', () => {
  it('accepts every generated valid request, returning what was sent', () => {
    fc.assert(
      fc.property(accountAccessArbitrary(), ({ body, expiresAt }) => {
        const sent = asParsedJson(body);
        const request = parseAccountAccessRequest(body, PROPERTY_NOW);
        assert.deepEqual(request.permissions, sent.Data.Permissions);
        assert.deepEqual(request.data, sent.Data);
        assert.deepEqual(request.risk, sent.Risk);
        assert.equal(request.expiresAt?.getTime(), expiresAt?.getTime());
      }),
      { numRuns: 500 },
    );
  });

  it('refuses each single mutation with the OBIE code and path of the broken field', () => {
    fc.assert(
      fc.property(
        accountAccessArbitrary(),
        fc.constantFrom(...ACCOUNT_ACCESS_MUTATIONS),
        fc.nat(),
        ({ body }, mutation, pick) => {
          const broken = mutation.apply(body, pick);
          fc.pre(broken !== undefined);
          assertRefusedFor(
            mutation,
            refusal(() => parseAccountAccessRequest(broken, PROPERTY_NOW)),
          );
        },
      ),
      { numRuns: 1_500 },
    );
  });
});

describe('domestic-payment consent requests', () => {
  it('accepts every generated valid request, returning what was sent', () => {
    fc.assert(
      fc.property(domesticPaymentArbitrary(CURRENCIES), ({ body, amount }) => {
        const sent = asParsedJson(body);
        const request = parseDomesticPaymentRequest(body, CURRENCIES);
        assert.deepEqual(request.data, sent.Data);
        assert.deepEqual(request.risk, sent.Risk);
        assert.deepEqual(request.amount, amount);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses each single mutation with the OBIE code and path of the broken field', () => {
    fc.assert(
      fc.property(
        domesticPaymentArbitrary(CURRENCIES),
        fc.constantFrom(...DOMESTIC_PAYMENT_MUTATIONS),
        fc.nat(),
        ({ body }, mutation, pick) => {
          const broken = mutation.apply(body, pick);
          fc.pre(broken !== undefined);
          assertRefusedFor(
            mutation,
            refusal(() => parseDomesticPaymentRequest(broken, CURRENCIES)),
          );
        },
      ),
      { numRuns: 1_500 },
    );
  });

  it('compares amounts exactly: funds suffice exactly when the balance is at least the amount', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: 10n ** 15n }),
        fc.bigInt({ min: 0n, max: 10n ** 15n }),
        (amount, balance) => {
          const decimal = (units: bigint) => `${units / 100n}.${String(units % 100n).padStart(2, '0')}`;
          assert.equal(
            hasSufficientFunds(
              { amount: decimal(amount), currency: 'GBP' },
              { availableBalance: decimal(balance), currency: 'GBP' },
            ),
            balance >= amount,
          );
          assert.equal(
            hasSufficientFunds(
              { amount: decimal(amount), currency: 'GBP' },
              { availableBalance: decimal(balance), currency: 'EUR' },
            ),
            false,
          );
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('arbitrary request bodies', () => {
  /** A valid body with one member somewhere replaced by arbitrary JSON. */
  const damaged = (valid: fc.Arbitrary<{ body: Record<string, unknown> }>) =>
    fc
      .tuple(valid, fc.array(fc.nat(), { minLength: 1, maxLength: 4 }), fc.jsonValue({ maxDepth: 3 }))
      .map(([{ body }, picks, value]) => {
        const copy = asParsedJson(body);
        let node: Record<string, unknown> = copy;
        for (const [depth, pick] of picks.entries()) {
          const keys = Object.keys(node);
          if (keys.length === 0) break;
          const key = keys[pick % keys.length]!;
          const child = node[key];
          if (depth === picks.length - 1 || typeof child !== 'object' || child === null || Array.isArray(child)) {
            node[key] = value;
            break;
          }
          node = child as Record<string, unknown>;
        }
        return copy;
      });

  it('are accepted or refused with OBIE field codes, never another error', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.jsonValue({ maxDepth: 3, depthSize: 'small' }),
          damaged(accountAccessArbitrary()),
          damaged(domesticPaymentArbitrary(CURRENCIES)),
        ),
        (body) => {
          for (const parse of [
            () => parseAccountAccessRequest(body, PROPERTY_NOW),
            () => parseDomesticPaymentRequest(body, CURRENCIES),
          ]) {
            try {
              parse();
            } catch {
              refusal(parse);
            }
          }
          assert.equal(typeof canonicalJson(body), 'string');
        },
      ),
      { numRuns: 1_000 },
    );
  });
});

describe('ISODateTime', () => {
  it('reads any instant written with any offset and precision as that instant', () => {
    fc.assert(
      fc.property(
        dateTimeArbitrary(new Date('0001-01-01T00:00:00Z'), new Date('9999-12-31T00:00:00Z')),
        ({ instant, text }) => {
          assert.equal(parseIsoDateTime(text)?.getTime(), instant.getTime(), text);
        },
      ),
      { numRuns: 1_000, examples: [[{ instant: new Date('0000-02-29T00:00:00Z'), text: '0000-02-29T00:00:00Z' }]] },
    );
  });

  it('refuses days that do not exist and times out of range', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 9999 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 31 }),
        fc.constantFrom('24:00:00', '23:60:00', '23:59:60', '12:00:00'),
        (year, month, day, time) => {
          const text = `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}T${time}Z`;
          assert.equal(parseIsoDateTime(text) !== undefined, day <= daysIn(year, month) && time === '12:00:00', text);
        },
      ),
      {
        numRuns: 1_000,
        examples: [
          [0, 2, 29, '12:00:00'],
          [1900, 2, 29, '12:00:00'],
          [2000, 2, 29, '12:00:00'],
        ],
      },
    );
  });

  it('refuses a date-time without an offset whatever instant it names', () => {
    fc.assert(
      fc.property(dateTimeArbitrary(new Date('1970-01-01'), new Date('2999-01-01')), ({ text }) => {
        assert.equal(parseIsoDateTime(text.replace(/(Z|[+-]\d{2}:\d{2})$/, '')), undefined);
      }),
      { numRuns: 300 },
    );
  });
});

/** Days in a month of the proleptic Gregorian calendar (ISO 8601), year 0 a leap year. */
function daysIn(year: number, month: number): number {
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]!;
}

// Keep the formatter honest too: it is what the generators above rely on.
describe('test support', () => {
  it('writes a date-time that names the instant', () => {
    assert.equal(isoDateTime(new Date('2026-05-02T00:30:00.123Z'), 60, 3, false), '2026-05-02T01:30:00.123+01:00');
    assert.equal(isoDateTime(new Date('2026-05-02T00:30:00Z'), -90, 0, true), '2026-05-01T23:00:00-01:30');
    assert.equal(isoDateTime(new Date('2026-05-02T00:30:00Z'), 0, 0, true), '2026-05-02T00:30:00Z');
  });
});
