// Test support: fast-check generators of OBIE 3.1 consent requests (valid ones, and single
// mutations that each break one rule with a known OBIE error code). Not imported by main.ts.
import fc from 'fast-check';
import { OBIE_PERMISSIONS } from '../intents/intents.rules';

type Json = Record<string, unknown>;

/** The moment the pure tests (and the HTTP fixture's clock) take as now. */
export const PROPERTY_NOW = new Date('2026-03-01T12:00:00Z');

// ---- ISO 8601 date-times with an offset ----

/** `instant` written in local time at `offsetMinutes` from UTC, at a chosen precision. */
export function isoDateTime(instant: Date, offsetMinutes: number, fractionDigits: number, zulu: boolean): string {
  const local = new Date(instant.getTime() + offsetMinutes * 60_000);
  const pad = (value: number, width = 2) => String(value).padStart(width, '0');
  const fraction = fractionDigits === 0 ? '' : `.${pad(local.getUTCMilliseconds(), 3).padEnd(fractionDigits, '0')}`;
  const offset =
    offsetMinutes === 0 && zulu
      ? 'Z'
      : `${offsetMinutes < 0 ? '-' : '+'}${pad(Math.floor(Math.abs(offsetMinutes) / 60))}:${pad(Math.abs(offsetMinutes) % 60)}`;
  return (
    `${pad(local.getUTCFullYear(), 4)}-${pad(local.getUTCMonth() + 1)}-${pad(local.getUTCDate())}` +
    `T${pad(local.getUTCHours())}:${pad(local.getUTCMinutes())}:${pad(local.getUTCSeconds())}${fraction}${offset}`
  );
}

/** The instant a written date-time names (milliseconds kept only when written). */
export function writtenInstant(instant: Date, fractionDigits: number): number {
  return fractionDigits === 0 ? Math.floor(instant.getTime() / 1000) * 1000 : instant.getTime();
}

export interface DateTimeSample {
  instant: Date;
  text: string;
}

/** Any instant in [min, max], written with any offset from -14:00 to +14:00 and 0, 3 or 6 decimals. */
export const dateTimeArbitrary = (min: Date, max: Date): fc.Arbitrary<DateTimeSample> =>
  fc
    .record({
      instant: fc.date({ min, max, noInvalidDate: true }),
      offset: fc.integer({ min: -14 * 60, max: 14 * 60 }),
      digits: fc.constantFrom(0, 3, 6),
      zulu: fc.boolean(),
    })
    .map(({ instant, offset, digits, zulu }) => ({
      instant: new Date(writtenInstant(instant, digits)),
      text: isoDateTime(instant, offset, digits, zulu),
    }));

// ---- free-form members (Risk, SupplementaryData) ----

/** Member names a TPP may use in free-form objects, including the ones databases dislike. */
const memberName = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 1, arbitrary: fc.constantFrom('$where', '$set', 'a.b', '.', '__proto__', 'constructor', '', 'x\u0000y') },
);
export const freeFormObject = fc.dictionary(memberName, fc.jsonValue({ maxDepth: 2, depthSize: 'xsmall' }), {
  maxKeys: 5,
});

/**
 * The body as a server sees it after JSON.parse: plain objects (fast-check also makes
 * null-prototype ones) and `__proto__` as an ordinary member.
 */
export function asParsedJson<T>(body: T): T {
  return JSON.parse(JSON.stringify(body)) as T;
}

// ---- account-access consent requests (OBReadConsent1) ----

/** Permission lists the rules accept: known codes, no repeats, Basic/Detail with Credits/Debits. */
export const permissionsArbitrary = fc.shuffledSubarray([...OBIE_PERMISSIONS], { minLength: 1 }).map((chosen) => {
  const has = (code: string) => chosen.includes(code as (typeof OBIE_PERMISSIONS)[number]);
  const basicOrDetail = has('ReadTransactionsBasic') || has('ReadTransactionsDetail');
  const creditsOrDebits = has('ReadTransactionsCredits') || has('ReadTransactionsDebits');
  const permissions: string[] = [...chosen];
  if (basicOrDetail && !creditsOrDebits) permissions.push('ReadTransactionsCredits');
  if (creditsOrDebits && !basicOrDetail) permissions.push('ReadTransactionsBasic');
  return permissions;
});

export interface AccountAccessSample {
  body: { Data: Json; Risk: Json };
  expiresAt: Date | undefined;
}

export const accountAccessArbitrary = (now = PROPERTY_NOW): fc.Arbitrary<AccountAccessSample> =>
  fc
    .record({
      permissions: permissionsArbitrary,
      expiration: fc.option(dateTimeArbitrary(new Date(now.getTime() + 1_000), new Date('2999-12-31T00:00:00Z')), {
        nil: undefined,
      }),
      window: fc.option(
        fc.tuple(dateTimeArbitrary(new Date('2000-01-01'), now), dateTimeArbitrary(new Date('2000-01-01'), now)),
        { nil: undefined },
      ),
      risk: freeFormObject,
    })
    .map(({ permissions, expiration, window, risk }) => {
      const [from, to] = window ? [...window].sort((a, b) => a.instant.getTime() - b.instant.getTime()) : [];
      return {
        body: asParsedJson({
          Data: {
            Permissions: permissions,
            ...(expiration ? { ExpirationDateTime: expiration.text } : {}),
            ...(from ? { TransactionFromDateTime: from.text } : {}),
            ...(to ? { TransactionToDateTime: to.text } : {}),
          },
          Risk: risk,
        }),
        expiresAt: expiration?.instant,
      };
    });

// ---- domestic-payment consent requests (OBWriteDomesticConsent 3.1) ----

/** Currencies the pure tests configure, with ISO 4217 minor units (JPY has none). */
export const MINOR_UNITS: Readonly<Record<string, number>> = { GBP: 2, EUR: 2, JPY: 0 };

/** Characters for free text: ASCII, the JSON-escaped ones, controls, Latin-1, and an astral one (two UTF-16 units). */
const textCharacter = fc.oneof(
  fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }),
  fc.constantFrom('"', '\\', '\u0000', '\u001f', '\u2028', 'é', '€', '😀'),
);
/** Max35Text and friends: 1..max UTF-16 code units, as JavaScript's `length` counts them. */
const text = (max: number) =>
  fc.string({ unit: textCharacter, minLength: 1, maxLength: max }).filter((value) => value.length <= max);

/** OBActiveCurrencyAndAmount_SimpleType above zero, with at most the currency's decimals. */
export const amountArbitrary = (currency: string) =>
  fc
    .tuple(fc.stringMatching(/^\d{1,13}$/), fc.nat({ max: MINOR_UNITS[currency] ?? 2 }), fc.nat({ max: 99_999 }))
    .map(([whole, decimals, fraction]) =>
      decimals === 0 ? whole : `${whole}.${String(fraction).padStart(5, '0').slice(0, decimals)}`,
    )
    .filter((amount) => Number(amount) > 0);

const cashAccountArbitrary = (nameRequired: boolean) =>
  fc
    .record({
      scheme: fc.constantFrom('UK.OBIE.SortCodeAccountNumber', 'UK.OBIE.IBAN'),
      sortCode: fc.stringMatching(/^\d{14}$/),
      iban: fc.stringMatching(/^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$/),
      name: nameRequired ? text(350) : fc.option(text(350), { nil: undefined }),
      secondary: fc.option(text(34), { nil: undefined }),
    })
    .map(({ scheme, sortCode, iban, name, secondary }) => ({
      SchemeName: scheme,
      Identification: scheme === 'UK.OBIE.IBAN' ? iban : sortCode,
      ...(name === undefined ? {} : { Name: name }),
      ...(secondary === undefined ? {} : { SecondaryIdentification: secondary }),
    }));

export interface DomesticPaymentSample {
  body: { Data: Json; Risk: Json };
  amount: { amount: string; currency: string };
}

export const domesticPaymentArbitrary = (currencies: readonly string[]): fc.Arbitrary<DomesticPaymentSample> =>
  fc
    .record({
      instructed: fc
        .constantFrom(...currencies)
        .chain((currency) => amountArbitrary(currency).map((amount) => ({ currency, amount }))),
      instructionId: text(35),
      endToEndId: text(35),
      localInstrument: fc.option(fc.constantFrom('UK.OBIE.FPS', 'UK.OBIE.BACS', 'UK.OBIE.CHAPS'), { nil: undefined }),
      creditor: cashAccountArbitrary(true),
      debtor: fc.option(cashAccountArbitrary(false), { nil: undefined }),
      remittance: fc.option(fc.record({ Reference: text(35), Unstructured: text(140) }, { requiredKeys: [] }), {
        nil: undefined,
      }),
      postalAddress: fc.option(freeFormObject, { nil: undefined }),
      supplementary: fc.option(freeFormObject, { nil: undefined }),
      authorisation: fc.option(
        fc.record(
          {
            AuthorisationType: fc.constantFrom('Any', 'Single'),
            CompletionDateTime: dateTimeArbitrary(new Date('2000-01-01'), new Date('2999-01-01')).map(
              ({ text }) => text,
            ),
          },
          { requiredKeys: ['AuthorisationType'] },
        ),
        { nil: undefined },
      ),
      scaSupport: fc.option(freeFormObject, { nil: undefined }),
      risk: freeFormObject,
    })
    .map(({ instructed, ...g }) => ({ ...g, ...instructed }))
    .map((g) => ({
      body: asParsedJson({
        Data: {
          Initiation: {
            InstructionIdentification: g.instructionId,
            EndToEndIdentification: g.endToEndId,
            ...(g.localInstrument === undefined ? {} : { LocalInstrument: g.localInstrument }),
            InstructedAmount: { Amount: g.amount, Currency: g.currency },
            CreditorAccount: g.creditor,
            ...(g.debtor === undefined ? {} : { DebtorAccount: g.debtor }),
            ...(g.postalAddress === undefined ? {} : { CreditorPostalAddress: g.postalAddress }),
            ...(g.remittance === undefined ? {} : { RemittanceInformation: g.remittance }),
            ...(g.supplementary === undefined ? {} : { SupplementaryData: g.supplementary }),
          },
          ...(g.authorisation === undefined ? {} : { Authorisation: g.authorisation }),
          ...(g.scaSupport === undefined ? {} : { SCASupportData: g.scaSupport }),
        },
        Risk: g.risk,
      }),
      amount: { amount: g.amount, currency: g.currency },
    }));

// ---- single mutations ----

/** One broken field: the OBIE error item the refusal must carry. */
export interface Mutation {
  name: string;
  errorCode: string;
  path: string;
  /** Changes a deep copy of a valid body; undefined when it cannot apply to this body. */
  apply(body: Json, pick: number): Json | undefined;
}

const at = <T>(values: readonly T[], pick: number): T => values[pick % values.length]!;
const copy = (body: Json): Json => asParsedJson(body);
/** Sets (or, with undefined, deletes) the member at `path` of a copy of `body`. */
function set(body: Json, path: string[], value: unknown): Json {
  const result = copy(body);
  let node = result;
  for (const key of path.slice(0, -1)) node = node[key] as Json;
  const last = path.at(-1)!;
  // defineProperty, so that `__proto__` becomes a member as JSON.parse would make it.
  if (value === undefined) delete node[last];
  else Object.defineProperty(node, last, { value, enumerable: true, writable: true, configurable: true });
  return result;
}
const notAnObject = ['text', 42, true, null, [], [{}]];
const notAString = [42, true, null, [], {}];
const FIELD_INVALID = 'UK.OBIE.Field.Invalid';
const FIELD_MISSING = 'UK.OBIE.Field.Missing';
const INVALID_DATE = 'UK.OBIE.Field.InvalidDate';
const UNEXPECTED = 'UK.OBIE.Field.Unexpected';
const mutation = (name: string, errorCode: string, path: string, apply: Mutation['apply']): Mutation => ({
  name,
  errorCode,
  path,
  apply,
});

const BAD_DATE_TIMES = [
  '2026-05-02T00:00:00',
  '2026-02-30T00:00:00Z',
  '2026-13-01T00:00:00Z',
  '2026-05-02T24:00:00Z',
  '2026-05-02T00:60:00Z',
  '2026-05-02 00:00:00Z',
  '2026-05-02',
  'tomorrow',
  '',
  20260502,
  null,
];

export const ACCOUNT_ACCESS_MUTATIONS: Mutation[] = [
  mutation('Data missing', FIELD_MISSING, 'Data', (b) => set(b, ['Data'], undefined)),
  mutation('Data not an object', FIELD_INVALID, 'Data', (b, k) => set(b, ['Data'], at(notAnObject, k))),
  mutation('Risk missing', FIELD_MISSING, 'Risk', (b) => set(b, ['Risk'], undefined)),
  mutation('Risk not an object', FIELD_INVALID, 'Risk', (b, k) => set(b, ['Risk'], at(notAnObject, k))),
  mutation('Permissions missing', FIELD_MISSING, 'Data.Permissions', (b) => set(b, ['Data', 'Permissions'], undefined)),
  mutation('Permissions empty or not an array', FIELD_INVALID, 'Data.Permissions', (b, k) =>
    set(b, ['Data', 'Permissions'], at([[], 'ReadBalances', 42, {}, null], k)),
  ),
  mutation('Permissions with an unknown code', FIELD_INVALID, 'Data.Permissions[*]', (b, k) => {
    const permissions = (b.Data as Json).Permissions as unknown[];
    return set(
      b,
      ['Data', 'Permissions'],
      [...permissions, at(['ReadEverything', 'readbalances', 'ReadBalances ', 42, null], k)],
    );
  }),
  mutation('Permissions listing one twice', FIELD_INVALID, 'Data.Permissions', (b, k) => {
    const permissions = (b.Data as Json).Permissions as string[];
    return set(b, ['Data', 'Permissions'], [...permissions, at(permissions, k)]);
  }),
  mutation('Credits or Debits without Basic or Detail', FIELD_INVALID, 'Data.Permissions', (b, k) => {
    const permissions = ((b.Data as Json).Permissions as string[]).filter(
      (code) =>
        ![
          'ReadTransactionsBasic',
          'ReadTransactionsDetail',
          'ReadTransactionsCredits',
          'ReadTransactionsDebits',
        ].includes(code),
    );
    return set(
      b,
      ['Data', 'Permissions'],
      [...permissions, at(['ReadTransactionsCredits', 'ReadTransactionsDebits'], k)],
    );
  }),
  mutation('ExpirationDateTime not a date-time with an offset', INVALID_DATE, 'Data.ExpirationDateTime', (b, k) =>
    set(b, ['Data', 'ExpirationDateTime'], at(BAD_DATE_TIMES, k)),
  ),
  mutation('ExpirationDateTime not in the future', INVALID_DATE, 'Data.ExpirationDateTime', (b, k) =>
    set(
      b,
      ['Data', 'ExpirationDateTime'],
      isoDateTime(new Date(PROPERTY_NOW.getTime() - (k % 10) * 86_400_000), (k % 29) * 30 - 420, 0, k % 2 === 0),
    ),
  ),
  mutation(
    'TransactionFromDateTime after TransactionToDateTime',
    INVALID_DATE,
    'Data.TransactionFromDateTime',
    (b, k) =>
      set(
        set(
          b,
          ['Data', 'TransactionFromDateTime'],
          isoDateTime(new Date(Date.UTC(2025, 5, 2) + 1_000 + (k % 1_000) * 60_000), 0, 0, true),
        ),
        ['Data', 'TransactionToDateTime'],
        isoDateTime(new Date(Date.UTC(2025, 5, 2)), 0, 0, true),
      ),
  ),
  mutation('TransactionToDateTime malformed', INVALID_DATE, 'Data.TransactionToDateTime', (b, k) =>
    set(b, ['Data', 'TransactionToDateTime'], at(BAD_DATE_TIMES, k)),
  ),
  mutation('an unexpected member of Data', UNEXPECTED, 'Data.*', (b, k) =>
    set(b, ['Data', at(['Permission', 'permissions', 'ExpirationDate', '__proto__', 'Risk', 'x'], k)], 'x'),
  ),
];

const INITIATION = ['Data', 'Initiation'];
const AMOUNT = [...INITIATION, 'InstructedAmount'];
const CREDITOR = [...INITIATION, 'CreditorAccount'];

export const DOMESTIC_PAYMENT_MUTATIONS: Mutation[] = [
  mutation('Data missing', FIELD_MISSING, 'Data', (b) => set(b, ['Data'], undefined)),
  mutation('Initiation missing', FIELD_MISSING, 'Data.Initiation', (b) => set(b, INITIATION, undefined)),
  mutation('Initiation not an object', FIELD_INVALID, 'Data.Initiation', (b, k) =>
    set(b, INITIATION, at(notAnObject, k)),
  ),
  mutation('Risk missing', FIELD_MISSING, 'Risk', (b) => set(b, ['Risk'], undefined)),
  mutation('Risk not an object', FIELD_INVALID, 'Risk', (b, k) => set(b, ['Risk'], at(notAnObject, k))),
  ...(['InstructionIdentification', 'EndToEndIdentification'] as const).flatMap((name) => [
    mutation(`${name} missing`, FIELD_MISSING, `Data.Initiation.${name}`, (b) =>
      set(b, [...INITIATION, name], undefined),
    ),
    mutation(`${name} empty, over 35 or not a string`, FIELD_INVALID, `Data.Initiation.${name}`, (b, k) =>
      set(b, [...INITIATION, name], at(['', 'x'.repeat(36), ...notAString], k)),
    ),
  ]),
  mutation('InstructedAmount missing', FIELD_MISSING, 'Data.Initiation.InstructedAmount', (b) =>
    set(b, AMOUNT, undefined),
  ),
  mutation('InstructedAmount not an object', FIELD_INVALID, 'Data.Initiation.InstructedAmount', (b, k) =>
    set(b, AMOUNT, at(notAnObject, k)),
  ),
  mutation('Amount missing', FIELD_MISSING, 'Data.Initiation.InstructedAmount.Amount', (b) =>
    set(b, [...AMOUNT, 'Amount'], undefined),
  ),
  mutation(
    'Amount malformed, zero, negative or too large',
    FIELD_INVALID,
    'Data.Initiation.InstructedAmount.Amount',
    (b, k) =>
      set(
        b,
        [...AMOUNT, 'Amount'],
        at(
          [
            '0',
            '0.00',
            '-1.00',
            '1e3',
            '1,00',
            ' 1.00',
            '1.',
            '.5',
            '12345678901234',
            '1.000001',
            '',
            'NaN',
            '0x10',
            100,
            null,
          ],
          k,
        ),
      ),
  ),
  mutation(
    'Amount with more decimals than the currency has',
    FIELD_INVALID,
    'Data.Initiation.InstructedAmount.Amount',
    (b, k) => {
      const currency = ((b.Data as Json).Initiation as { InstructedAmount: { Currency: string } }).InstructedAmount
        .Currency;
      const decimals = (MINOR_UNITS[currency] ?? 2) + 1 + (k % (5 - (MINOR_UNITS[currency] ?? 2)));
      return set(b, [...AMOUNT, 'Amount'], `1.${'1'.repeat(decimals)}`);
    },
  ),
  mutation('Currency missing', FIELD_MISSING, 'Data.Initiation.InstructedAmount.Currency', (b) =>
    set(b, [...AMOUNT, 'Currency'], undefined),
  ),
  mutation('Currency not an ISO 4217 code', FIELD_INVALID, 'Data.Initiation.InstructedAmount.Currency', (b, k) =>
    set(b, [...AMOUNT, 'Currency'], at(['gbp', 'GB', 'GBPX', 'G8P', '', 826, null], k)),
  ),
  mutation(
    'Currency the bank does not pay in',
    'UK.OBIE.Unsupported.Currency',
    'Data.Initiation.InstructedAmount.Currency',
    (b, k) => set(b, [...AMOUNT, 'Currency'], at(['USD', 'CHF', 'XXX'], k)),
  ),
  mutation('CreditorAccount missing', FIELD_MISSING, 'Data.Initiation.CreditorAccount', (b) =>
    set(b, CREDITOR, undefined),
  ),
  mutation('CreditorAccount not an object', FIELD_INVALID, 'Data.Initiation.CreditorAccount', (b, k) =>
    set(b, CREDITOR, at(notAnObject, k)),
  ),
  mutation(
    'CreditorAccount scheme unsupported',
    'UK.OBIE.Unsupported.Scheme',
    'Data.Initiation.CreditorAccount.SchemeName',
    (b, k) =>
      set(b, [...CREDITOR, 'SchemeName'], at(['UK.OBIE.PAN', 'SortCodeAccountNumber', 'uk.obie.iban', '', 42], k)),
  ),
  mutation(
    'CreditorAccount identification invalid for its scheme',
    'UK.OBIE.Unsupported.AccountIdentifier',
    'Data.Initiation.CreditorAccount.Identification',
    (b, k) => {
      const scheme = (((b.Data as Json).Initiation as Json).CreditorAccount as Json).SchemeName;
      const wrong =
        scheme === 'UK.OBIE.IBAN'
          ? ['GB29NWBK6016', 'gb29nwbk60161331926819', '08080021325698', 'GB29 NWBK 6016 1331 9268 19']
          : ['0808002132569', '080800213256980', '08-08-00 21325698', 'GB29NWBK60161331926819'];
      return set(b, [...CREDITOR, 'Identification'], at([...wrong, 42], k));
    },
  ),
  mutation('CreditorAccount Name missing', FIELD_MISSING, 'Data.Initiation.CreditorAccount.Name', (b) =>
    set(b, [...CREDITOR, 'Name'], undefined),
  ),
  mutation(
    'CreditorAccount Name empty, too long or not a string',
    FIELD_INVALID,
    'Data.Initiation.CreditorAccount.Name',
    (b, k) => set(b, [...CREDITOR, 'Name'], at(['', 'n'.repeat(351), ...notAString], k)),
  ),
  mutation(
    'CreditorAccount SecondaryIdentification too long',
    FIELD_INVALID,
    'Data.Initiation.CreditorAccount.SecondaryIdentification',
    (b, k) => set(b, [...CREDITOR, 'SecondaryIdentification'], at(['', 's'.repeat(35), 42], k)),
  ),
  mutation('RemittanceInformation not an object', FIELD_INVALID, 'Data.Initiation.RemittanceInformation', (b, k) =>
    set(b, [...INITIATION, 'RemittanceInformation'], at(notAnObject, k)),
  ),
  mutation('Remittance Reference over 35', FIELD_INVALID, 'Data.Initiation.RemittanceInformation.Reference', (b, k) =>
    set(b, [...INITIATION, 'RemittanceInformation'], { Reference: at(['r'.repeat(36), '', 42], k) }),
  ),
  mutation(
    'Remittance Unstructured over 140',
    FIELD_INVALID,
    'Data.Initiation.RemittanceInformation.Unstructured',
    (b, k) => set(b, [...INITIATION, 'RemittanceInformation'], { Unstructured: at(['u'.repeat(141), '', 42], k) }),
  ),
  mutation('LocalInstrument not a string', FIELD_INVALID, 'Data.Initiation.LocalInstrument', (b, k) =>
    set(b, [...INITIATION, 'LocalInstrument'], at(['', 'l'.repeat(51), ...notAString], k)),
  ),
  ...(['CreditorPostalAddress', 'SupplementaryData'] as const).map((name) =>
    mutation(`${name} not an object`, FIELD_INVALID, `Data.Initiation.${name}`, (b, k) =>
      set(b, [...INITIATION, name], at(notAnObject, k)),
    ),
  ),
  mutation('SCASupportData not an object', FIELD_INVALID, 'Data.SCASupportData', (b, k) =>
    set(b, ['Data', 'SCASupportData'], at(notAnObject, k)),
  ),
  mutation('Authorisation not an object', FIELD_INVALID, 'Data.Authorisation', (b, k) =>
    set(b, ['Data', 'Authorisation'], at(notAnObject, k)),
  ),
  mutation('AuthorisationType not Any or Single', FIELD_INVALID, 'Data.Authorisation.AuthorisationType', (b, k) =>
    set(b, ['Data', 'Authorisation'], { AuthorisationType: at(['any', 'Multiple', '', 42, null], k) }),
  ),
  mutation('CompletionDateTime malformed', INVALID_DATE, 'Data.Authorisation.CompletionDateTime', (b, k) =>
    set(b, ['Data', 'Authorisation'], {
      AuthorisationType: 'Any',
      CompletionDateTime: at(
        BAD_DATE_TIMES.filter((v) => v !== null),
        k,
      ),
    }),
  ),
  mutation('an unexpected member of Data', UNEXPECTED, 'Data.*', (b, k) =>
    set(b, ['Data', at(['Initiations', 'initiation', 'Risk', 'ConsentId', '__proto__'], k)], {}),
  ),
  mutation('an unexpected member of Initiation', UNEXPECTED, 'Data.Initiation.*', (b, k) =>
    set(b, [...INITIATION, at(['InstructedAmounts', 'DebtorName', 'instructionIdentification', 'Amount'], k)], 'x'),
  ),
];

/** Whether an error item's path is the one a mutation names (`[*]` and `.*` stand for any index or member). */
export function pathMatches(pattern: string, path: string | undefined): boolean {
  if (path === undefined) return false;
  const regex = new RegExp(
    `^${pattern
      .replace(/[.[\]]/g, (ch) => `\\${ch}`)
      .replace(/\\\[\*\\\]/g, '\\[\\d+\\]')
      .replace(/\\\.\*/g, '\\.[^.]+')}$`,
  );
  return regex.test(path);
}
