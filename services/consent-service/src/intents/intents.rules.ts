/**
 * Validation of OBIE 3.1 intent requests, as named pure functions. Each collects OBIE error
 * items (code, message, path) so that one response lists every problem; `parse*` functions
 * throw one {@link ObieRequestError} with all of them.
 */
import { ObieRequestError, type ObieItem } from './intents.errors';

type Problems = ObieItem[];
type Json = Record<string, unknown>;

/** OBIE AIS 3.1 Account and Transaction API, "Permissions": every code an AISP may request. */
export const OBIE_PERMISSIONS = [
  'ReadAccountsBasic',
  'ReadAccountsDetail',
  'ReadBalances',
  'ReadBeneficiariesBasic',
  'ReadBeneficiariesDetail',
  'ReadDirectDebits',
  'ReadOffers',
  'ReadPAN',
  'ReadParty',
  'ReadPartyPSU',
  'ReadProducts',
  'ReadScheduledPaymentsBasic',
  'ReadScheduledPaymentsDetail',
  'ReadStandingOrdersBasic',
  'ReadStandingOrdersDetail',
  'ReadStatementsBasic',
  'ReadStatementsDetail',
  'ReadTransactionsBasic',
  'ReadTransactionsCredits',
  'ReadTransactionsDebits',
  'ReadTransactionsDetail',
] as const;

/** Account identification schemes this bank accepts (OBExternalAccountIdentification4Code). */
export const SUPPORTED_ACCOUNT_SCHEMES: Readonly<Record<string, RegExp>> = {
  // 6-digit sort code followed by an 8-digit account number.
  'UK.OBIE.SortCodeAccountNumber': /^\d{14}$/,
  // ISO 13616: country, check digits, up to 30 alphanumerics.
  'UK.OBIE.IBAN': /^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$/,
};

/** ISO 4217 minor units of the currencies we know; others default to 2. */
const MINOR_UNITS: Readonly<Record<string, number>> = { GBP: 2, EUR: 2, USD: 2, JPY: 0, CHF: 2 };

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const missing = (path: string): ObieItem => ({
  ErrorCode: 'UK.OBIE.Field.Missing',
  Message: `${path} is required`,
  Path: path,
});
const invalid = (path: string, why: string): ObieItem => ({
  ErrorCode: 'UK.OBIE.Field.Invalid',
  Message: `${path} ${why}`,
  Path: path,
});
const invalidDate = (path: string, why: string): ObieItem => ({
  ErrorCode: 'UK.OBIE.Field.InvalidDate',
  Message: `${path} ${why}`,
  Path: path,
});

// ---- permissions ----

/**
 * OBIE AIS 3.1 "Consent Elements": Permissions is a non-empty list of known codes without
 * repeats; ReadTransactionsBasic/Detail need ReadTransactionsCredits and/or Debits, and
 * ReadTransactionsCredits/Debits need Basic or Detail (otherwise the ASPSP rejects the request).
 */
export function checkPermissions(value: unknown, path = 'Data.Permissions'): Problems {
  if (value === undefined) return [missing(path)];
  if (!Array.isArray(value) || value.length === 0) return [invalid(path, 'must be a non-empty array')];
  const problems: Problems = [];
  value.forEach((code, index) => {
    if (typeof code !== 'string' || !(OBIE_PERMISSIONS as readonly string[]).includes(code)) {
      problems.push(invalid(`${path}[${index}]`, 'is not an OBIE permission code'));
    }
  });
  if (new Set(value).size !== value.length) problems.push(invalid(path, 'lists a permission twice'));
  const has = (code: string) => value.includes(code);
  const basicOrDetail = has('ReadTransactionsBasic') || has('ReadTransactionsDetail');
  const creditsOrDebits = has('ReadTransactionsCredits') || has('ReadTransactionsDebits');
  if (basicOrDetail && !creditsOrDebits) {
    problems.push(
      invalid(
        path,
        'must include ReadTransactionsCredits or ReadTransactionsDebits with ReadTransactionsBasic or Detail',
      ),
    );
  }
  if (creditsOrDebits && !basicOrDetail) {
    problems.push(
      invalid(
        path,
        'must include ReadTransactionsBasic or ReadTransactionsDetail with ReadTransactionsCredits or Debits',
      ),
    );
  }
  return problems;
}

// ---- dates ----

const ISO_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * OBIE "ISODateTime": an ISO 8601 date-time that names its offset (the standard asks every
 * date-time to carry a time zone), on a real calendar day. Returns the instant, or undefined.
 */
export function parseIsoDateTime(value: unknown): Date | undefined {
  if (typeof value !== 'string') return undefined;
  const match = ISO_DATE_TIME.exec(value);
  if (!match) return undefined;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map((part) => Number(part ?? 0)) as number[];
  // setUTCFullYear, not Date.UTC: Date.UTC reads years 0-99 as 1900-1999 (0000 is a leap year, 1900 is not).
  const lastDay = new Date(0);
  lastDay.setUTCFullYear(year!, month!, 0);
  const daysInMonth = lastDay.getUTCDate();
  if (month! < 1 || month! > 12 || day! < 1 || day! > daysInMonth || hour! > 23 || minute! > 59 || second! > 59) {
    return undefined;
  }
  const instant = new Date(value);
  return Number.isNaN(instant.getTime()) ? undefined : instant;
}

/** An optional ISODateTime field: absent is fine, anything else must parse. */
export function checkOptionalDateTime(value: unknown, path: string): Problems {
  if (value === undefined) return [];
  return parseIsoDateTime(value) ? [] : [invalidDate(path, 'must be an ISO 8601 date-time with a time zone')];
}

/** OBIE AIS 3.1: ExpirationDateTime, when given, must lie in the future. */
export function checkExpirationDateTime(value: unknown, now: Date, path = 'Data.ExpirationDateTime'): Problems {
  const format = checkOptionalDateTime(value, path);
  if (format.length > 0 || value === undefined) return format;
  return parseIsoDateTime(value)!.getTime() > now.getTime() ? [] : [invalidDate(path, 'must be in the future')];
}

/** OBIE AIS 3.1: TransactionFromDateTime must not be after TransactionToDateTime. */
export function checkTransactionWindow(from: unknown, to: unknown): Problems {
  const problems = [
    ...checkOptionalDateTime(from, 'Data.TransactionFromDateTime'),
    ...checkOptionalDateTime(to, 'Data.TransactionToDateTime'),
  ];
  if (problems.length > 0 || from === undefined || to === undefined) return problems;
  return parseIsoDateTime(from)!.getTime() <= parseIsoDateTime(to)!.getTime()
    ? []
    : [invalidDate('Data.TransactionFromDateTime', 'must not be after TransactionToDateTime')];
}

// ---- amounts and accounts ----

/** OBActiveCurrencyAndAmount_SimpleType: up to 13 integer digits and up to 5 decimals. */
const AMOUNT = /^\d{1,13}$|^\d{1,13}\.\d{1,5}$/;

/**
 * OBIE PIS 3.1 InstructedAmount: Amount matches OBActiveCurrencyAndAmount_SimpleType, is above
 * zero and has no more decimals than the currency's ISO 4217 minor units; Currency is an ISO
 * 4217 code (`^[A-Z]{3,3}$`) that this bank pays in (`UK.OBIE.Unsupported.Currency` otherwise).
 */
export function checkInstructedAmount(value: unknown, supportedCurrencies: readonly string[], path: string): Problems {
  if (value === undefined) return [missing(path)];
  if (!isObject(value)) return [invalid(path, 'must be an object')];
  const problems: Problems = [];
  const { Amount: amount, Currency: currency } = value;
  if (amount === undefined) problems.push(missing(`${path}.Amount`));
  else if (typeof amount !== 'string' || !AMOUNT.test(amount)) {
    problems.push(invalid(`${path}.Amount`, 'must be a decimal string with up to 13 digits and 5 decimals'));
  } else if (Number(amount) <= 0) problems.push(invalid(`${path}.Amount`, 'must be greater than zero'));
  if (currency === undefined) problems.push(missing(`${path}.Currency`));
  else if (typeof currency !== 'string' || !/^[A-Z]{3}$/.test(currency)) {
    problems.push(invalid(`${path}.Currency`, 'must be an ISO 4217 currency code'));
  } else if (!supportedCurrencies.includes(currency)) {
    problems.push({
      ErrorCode: 'UK.OBIE.Unsupported.Currency',
      Message: `${currency} is not supported`,
      Path: `${path}.Currency`,
    });
  } else if (typeof amount === 'string' && AMOUNT.test(amount)) {
    const decimals = amount.split('.')[1]?.length ?? 0;
    if (decimals > (MINOR_UNITS[currency] ?? 2)) {
      problems.push(invalid(`${path}.Amount`, `has more decimals than ${currency} allows`));
    }
  }
  return problems;
}

/**
 * OBIE PIS 3.1 CashAccount (OBCashAccountDebtor4 / OBCashAccountCreditor3): a supported
 * SchemeName (`UK.OBIE.Unsupported.Scheme`), an Identification valid for it
 * (`UK.OBIE.Unsupported.AccountIdentifier`), Name (required for a creditor) up to 350
 * characters, SecondaryIdentification up to 34.
 */
export function checkCashAccount(value: unknown, path: string, options: { nameRequired: boolean }): Problems {
  if (value === undefined) return [missing(path)];
  if (!isObject(value)) return [invalid(path, 'must be an object')];
  const problems: Problems = [];
  const { SchemeName: scheme, Identification: identification, Name: name, SecondaryIdentification: secondary } = value;
  const pattern = typeof scheme === 'string' ? SUPPORTED_ACCOUNT_SCHEMES[scheme] : undefined;
  if (scheme === undefined) problems.push(missing(`${path}.SchemeName`));
  else if (!pattern) {
    problems.push({
      ErrorCode: 'UK.OBIE.Unsupported.Scheme',
      Message: 'the account scheme is not supported',
      Path: `${path}.SchemeName`,
    });
  }
  if (identification === undefined) problems.push(missing(`${path}.Identification`));
  else if (typeof identification !== 'string' || (pattern && !pattern.test(identification))) {
    problems.push({
      ErrorCode: 'UK.OBIE.Unsupported.AccountIdentifier',
      Message: 'the account identification is not valid for its scheme',
      Path: `${path}.Identification`,
    });
  }
  if (name === undefined) {
    if (options.nameRequired) problems.push(missing(`${path}.Name`));
  } else if (typeof name !== 'string' || name.length < 1 || name.length > 350) {
    problems.push(invalid(`${path}.Name`, 'must be 1 to 350 characters'));
  }
  if (secondary !== undefined && (typeof secondary !== 'string' || secondary.length < 1 || secondary.length > 34)) {
    problems.push(invalid(`${path}.SecondaryIdentification`, 'must be 1 to 34 characters'));
  }
  return problems;
}

/** A required text of 1..max characters (OBIE Max35Text and friends). */
export function checkText(value: unknown, path: string, max: number, required = true): Problems {
  if (value === undefined) return required ? [missing(path)] : [];
  return typeof value === 'string' && value.length >= 1 && value.length <= max
    ? []
    : [invalid(path, `must be 1 to ${max} characters`)];
}

/** An optional member that must be a JSON object when present (OBIE free-form blocks). */
export function checkOptionalObject(value: unknown, path: string): Problems {
  return value === undefined || isObject(value) ? [] : [invalid(path, 'must be an object')];
}

/** OBIE: Risk is mandatory in every consent request, an object (possibly empty). */
export function checkRisk(value: unknown): Problems {
  if (value === undefined) return [missing('Risk')];
  return isObject(value) ? [] : [invalid('Risk', 'must be an object')];
}

function checkOnlyFields(value: Json, allowed: readonly string[], path: string): Problems {
  return Object.keys(value)
    .filter((key) => !allowed.includes(key))
    .map((key) => ({
      ErrorCode: 'UK.OBIE.Field.Unexpected',
      Message: `${path}.${key} is not expected`,
      Path: `${path}.${key}`,
    }));
}

function refuseIfAny(problems: Problems): void {
  if (problems.length > 0) throw new ObieRequestError('bad_request', problems);
}

// ---- whole requests ----

export interface AccountAccessRequest {
  permissions: string[];
  expiresAt: Date | undefined;
  /** The validated Data, as sent. */
  data: Json;
  risk: Json;
}

/**
 * POST /aisp/account-access-consents body (OBReadConsent1): Data.Permissions, optional
 * ExpirationDateTime (future), TransactionFromDateTime ≤ TransactionToDateTime, and Risk.
 */
export function parseAccountAccessRequest(body: unknown, now: Date): AccountAccessRequest {
  if (!isObject(body)) throw new ObieRequestError('bad_request', [invalid('$', 'must be a JSON object')]);
  const { Data: data, Risk: risk } = body;
  if (!isObject(data))
    refuseIfAny([data === undefined ? missing('Data') : invalid('Data', 'must be an object'), ...checkRisk(risk)]);
  const fields = data as Json;
  refuseIfAny([
    ...checkOnlyFields(
      fields,
      ['Permissions', 'ExpirationDateTime', 'TransactionFromDateTime', 'TransactionToDateTime'],
      'Data',
    ),
    ...checkPermissions(fields.Permissions),
    ...checkExpirationDateTime(fields.ExpirationDateTime, now),
    ...checkTransactionWindow(fields.TransactionFromDateTime, fields.TransactionToDateTime),
    ...checkRisk(risk),
  ]);
  return {
    permissions: [...(fields.Permissions as string[])],
    expiresAt: parseIsoDateTime(fields.ExpirationDateTime),
    data: fields,
    risk: risk as Json,
  };
}

export interface DomesticPaymentRequest {
  data: Json;
  risk: Json;
  /** InstructedAmount, validated. */
  amount: { amount: string; currency: string };
}

const INITIATION_FIELDS = [
  'InstructionIdentification',
  'EndToEndIdentification',
  'LocalInstrument',
  'InstructedAmount',
  'DebtorAccount',
  'CreditorAccount',
  'CreditorPostalAddress',
  'RemittanceInformation',
  'SupplementaryData',
];

/**
 * POST /pisp/domestic-payment-consents body (OBWriteDomesticConsent 3.1): Data.Initiation with
 * InstructionIdentification and EndToEndIdentification (Max35Text), InstructedAmount,
 * CreditorAccount (with Name), optional LocalInstrument (Max50Text), DebtorAccount,
 * RemittanceInformation (Reference Max35Text, Unstructured Max140Text), CreditorPostalAddress and
 * SupplementaryData (objects); optional Data.Authorisation and Data.SCASupportData (an object); Risk.
 */
export function parseDomesticPaymentRequest(
  body: unknown,
  supportedCurrencies: readonly string[],
): DomesticPaymentRequest {
  if (!isObject(body)) throw new ObieRequestError('bad_request', [invalid('$', 'must be a JSON object')]);
  const { Data: data, Risk: risk } = body;
  if (!isObject(data))
    refuseIfAny([data === undefined ? missing('Data') : invalid('Data', 'must be an object'), ...checkRisk(risk)]);
  const fields = data as Json;
  const initiation = fields.Initiation;
  if (!isObject(initiation)) {
    refuseIfAny([
      initiation === undefined ? missing('Data.Initiation') : invalid('Data.Initiation', 'must be an object'),
      ...checkRisk(risk),
    ]);
  }
  const init = initiation as Json;
  const remittance = init.RemittanceInformation;
  const authorisation = fields.Authorisation;
  refuseIfAny([
    ...checkOnlyFields(fields, ['Initiation', 'Authorisation', 'SCASupportData'], 'Data'),
    ...checkOnlyFields(init, INITIATION_FIELDS, 'Data.Initiation'),
    ...checkText(init.InstructionIdentification, 'Data.Initiation.InstructionIdentification', 35),
    ...checkText(init.EndToEndIdentification, 'Data.Initiation.EndToEndIdentification', 35),
    // OBExternalLocalInstrument1Code is Max50Text; the free-form blocks are objects (OBIE PIS 3.1).
    ...checkText(init.LocalInstrument, 'Data.Initiation.LocalInstrument', 50, false),
    ...checkOptionalObject(init.CreditorPostalAddress, 'Data.Initiation.CreditorPostalAddress'),
    ...checkOptionalObject(init.SupplementaryData, 'Data.Initiation.SupplementaryData'),
    ...checkOptionalObject(fields.SCASupportData, 'Data.SCASupportData'),
    ...checkInstructedAmount(init.InstructedAmount, supportedCurrencies, 'Data.Initiation.InstructedAmount'),
    ...checkCashAccount(init.CreditorAccount, 'Data.Initiation.CreditorAccount', { nameRequired: true }),
    ...(init.DebtorAccount === undefined
      ? []
      : checkCashAccount(init.DebtorAccount, 'Data.Initiation.DebtorAccount', { nameRequired: false })),
    ...(remittance === undefined
      ? []
      : isObject(remittance)
        ? [
            ...checkText(remittance.Reference, 'Data.Initiation.RemittanceInformation.Reference', 35, false),
            ...checkText(remittance.Unstructured, 'Data.Initiation.RemittanceInformation.Unstructured', 140, false),
          ]
        : [invalid('Data.Initiation.RemittanceInformation', 'must be an object')]),
    ...(authorisation === undefined
      ? []
      : isObject(authorisation)
        ? [
            ...(['Any', 'Single'].includes(authorisation.AuthorisationType as string)
              ? []
              : [invalid('Data.Authorisation.AuthorisationType', 'must be Any or Single')]),
            ...checkOptionalDateTime(authorisation.CompletionDateTime, 'Data.Authorisation.CompletionDateTime'),
          ]
        : [invalid('Data.Authorisation', 'must be an object')]),
    ...checkRisk(risk),
  ]);
  const instructed = init.InstructedAmount as { Amount: string; Currency: string };
  return { data: fields, risk: risk as Json, amount: { amount: instructed.Amount, currency: instructed.Currency } };
}

/**
 * OBIE: the funds check compares the instructed amount with the debtor account's available
 * balance, in the same currency; another currency never counts as available.
 */
export function hasSufficientFunds(
  instructed: { amount: string; currency: string },
  account: { availableBalance: string; currency: string },
): boolean {
  if (instructed.currency !== account.currency) return false;
  return toMinorUnits(account.availableBalance) >= toMinorUnits(instructed.amount);
}

/** A decimal string as an exact integer count of 10^-5 units (no floating point for money). */
function toMinorUnits(decimal: string): bigint {
  const negative = decimal.startsWith('-');
  const [whole = '0', fraction = ''] = decimal.replace(/^-/, '').split('.');
  const value = BigInt(whole) * 100_000n + BigInt(fraction.padEnd(5, '0').slice(0, 5) || '0');
  return negative ? -value : value;
}

/**
 * x-fapi-interaction-id (FAPI 1.0 Part 1 §6.2.1.11, OBIE): an RFC 4122 UUID; the server echoes
 * it, or generates one when it is absent.
 */
export function isInteractionId(value: string): boolean {
  return /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(value);
}

/** x-idempotency-key (OBIE Read/Write API "Idempotency"): Max40Text, visible ASCII. */
export function isIdempotencyKey(value: string): boolean {
  return /^[\x21-\x7e]{1,40}$/.test(value);
}

/**
 * JSON with object keys sorted at every level, so that two bodies that differ only in key order
 * or whitespace count as the same request for x-idempotency-key.
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (isObject(value)) {
    return `{${Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson(value[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
