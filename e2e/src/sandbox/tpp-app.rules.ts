// The demo TPP's pure rules: what it registers with, what it asks the bank for, how it checks the
// payment form, how it reads the bank's answers and how it writes HTML. No I/O here; tpp-app.ts
// does the talking.
import { timingSafeEqual } from 'node:crypto';

// ---- HTML ----

/** HTML-escapes text for element content and double-quoted attribute values. */
export function escapeHtml(value: string): string {
  return value.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

/** Markup that is already safe: produced by {@link html}, never by concatenating input. */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

/**
 * A template tag that escapes every interpolated value unless it is {@link SafeHtml}; arrays
 * are joined, and `undefined`, `null` and `false` render nothing. Pages are built only with it,
 * so dynamic text cannot become markup.
 *
 * @example
 * html`<td>${account.nickname}</td>` // "<td>Tom &amp; Jerry</td>"
 */
export function html(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  let out = strings[0] ?? '';
  values.forEach((value, index) => {
    out += renderValue(value) + (strings[index + 1] ?? '');
  });
  return new SafeHtml(out);
}

function renderValue(value: unknown): string {
  if (value instanceof SafeHtml) return value.value;
  if (Array.isArray(value)) return value.map(renderValue).join('');
  if (value === undefined || value === null || value === false) return '';
  return escapeHtml(String(value));
}

// ---- registration ----

export interface RegistrationClaimsInput {
  softwareId: string;
  /** The software statement the directory issued. */
  ssa: string;
  redirectUri: string;
  /** The bank's identifier (`aud`). */
  audience: string;
  now: Date;
  jti: string;
}

/** OBIE DCR 3.3: a registration request is good for five minutes. */
export const REGISTRATION_REQUEST_LIFETIME_SECONDS = 300;

/**
 * The claims of the TPP's OBIE DCR registration request (OBClientRegistrationRequest1): the
 * conformance tool's metadata, but FAPI 2.0 Security Profile §5.3.1.2 (`response_type=code`
 * only), both PSD2 roles' scopes, and private_key_jwt with the software's signing key.
 */
export function registrationClaims(input: RegistrationClaimsInput): Record<string, unknown> {
  const iat = Math.floor(input.now.getTime() / 1000);
  return {
    iss: input.softwareId,
    aud: input.audience,
    iat,
    exp: iat + REGISTRATION_REQUEST_LIFETIME_SECONDS,
    jti: input.jti,
    software_id: input.softwareId,
    software_statement: input.ssa,
    redirect_uris: [input.redirectUri],
    token_endpoint_auth_method: 'private_key_jwt',
    token_endpoint_auth_signing_alg: 'PS256',
    grant_types: ['authorization_code', 'client_credentials', 'refresh_token'],
    response_types: ['code'],
    scope: 'openid accounts payments',
    application_type: 'web',
    id_token_signed_response_alg: 'PS256',
    request_object_signing_alg: 'PS256',
  };
}

// ---- intents ----

/**
 * What the demo reads. OBIE AIS 3.1 "Consent Elements": ReadTransactionsBasic/Detail are
 * refused without ReadTransactionsCredits or Debits, so both come along.
 */
export const ACCOUNT_PERMISSIONS = [
  'ReadAccountsBasic',
  'ReadAccountsDetail',
  'ReadBalances',
  'ReadTransactionsBasic',
  'ReadTransactionsDetail',
  'ReadTransactionsCredits',
  'ReadTransactionsDebits',
] as const;

/** How long the account access lasts: 90 days, the PSD2 RTS Art. 10 re-authentication period. */
export const ACCOUNT_ACCESS_DAYS = 90;

/** POST /aisp/account-access-consents body (OBReadConsent1). */
export function accountAccessConsentRequest(now: Date) {
  const expires = new Date(now.getTime() + ACCOUNT_ACCESS_DAYS * 24 * 60 * 60 * 1000);
  return {
    Data: { Permissions: [...ACCOUNT_PERMISSIONS], ExpirationDateTime: expires.toISOString() },
    Risk: {},
  };
}

/** The `claims` request parameter asking for the intent as an essential ID token claim (OBIE). */
export function intentClaimsParameter(consentId: string): string {
  return JSON.stringify({ id_token: { openbanking_intent_id: { value: consentId, essential: true } } });
}

// ---- the payment form ----

export interface PaymentFormValues {
  amount: string;
  creditor_name: string;
  creditor_account: string;
  reference: string;
}

export const PAYMENT_FORM_DEFAULTS: Readonly<PaymentFormValues> = {
  amount: '10.00',
  creditor_name: 'Corner Shop Ltd',
  creditor_account: '40400412345678',
  reference: 'Financroo demo',
};

/** A payment the form asked for, ready for an OBIE Initiation. */
export interface PaymentOrder {
  /** Pounds and pence, e.g. `12.34`. */
  amount: string;
  creditorName: string;
  /** Sort code and account number, 14 digits. */
  creditorAccount: string;
  /** Empty when none was given. */
  reference: string;
}

export interface FormProblem {
  field: keyof PaymentFormValues;
  message: string;
}

export type PaymentFormResult =
  { ok: true; order: PaymentOrder } | { ok: false; problems: FormProblem[]; values: PaymentFormValues };

/** C0 controls and DEL: a line break in a payee name or reference is never meant. */
function hasControlCharacter(text: string): boolean {
  return [...text].some((character) => {
    const code = character.codePointAt(0)!;
    return code < 0x20 || code === 0x7f;
  });
}

/**
 * Checks the payment form. Amount: pounds and pence with exactly two decimals, above zero
 * (GBP's ISO 4217 minor units); payee name: OBIE Max350Text without control characters; account:
 * UK.OBIE.SortCodeAccountNumber, 6 + 8 digits (spaces and dashes as people type them are
 * dropped); reference: optional, OBIE RemittanceInformation.Reference Max35Text.
 */
export function validatePaymentForm(form: Partial<Record<keyof PaymentFormValues, string>>): PaymentFormResult {
  const values: PaymentFormValues = {
    amount: (form.amount ?? '').trim(),
    creditor_name: (form.creditor_name ?? '').trim(),
    creditor_account: (form.creditor_account ?? '').trim(),
    reference: (form.reference ?? '').trim(),
  };
  const problems: FormProblem[] = [];
  if (!/^\d{1,10}\.\d{2}$/.test(values.amount)) {
    problems.push({ field: 'amount', message: 'Enter the amount in pounds and pence, e.g. 10.00.' });
  } else if (/^0+\.00$/.test(values.amount)) {
    problems.push({ field: 'amount', message: 'The amount must be more than 0.00.' });
  }
  if (values.creditor_name === '' || values.creditor_name.length > 350 || hasControlCharacter(values.creditor_name)) {
    problems.push({ field: 'creditor_name', message: "Enter the payee's name (up to 350 characters)." });
  }
  const account = values.creditor_account.replace(/[\s-]/g, '');
  if (!/^\d{14}$/.test(account)) {
    problems.push({
      field: 'creditor_account',
      message: 'Enter a 6-digit sort code followed by an 8-digit account number.',
    });
  }
  if (values.reference.length > 35 || hasControlCharacter(values.reference)) {
    problems.push({ field: 'reference', message: 'The reference can be up to 35 characters.' });
  }
  if (problems.length > 0) return { ok: false, problems, values };
  return {
    ok: true,
    order: {
      amount: values.amount,
      creditorName: values.creditor_name,
      creditorAccount: account,
      reference: values.reference,
    },
  };
}

/** OBIE PIS 3.1 OBWriteDomestic2 Data.Initiation, the same in the consent and the payment. */
export interface DomesticInitiation {
  InstructionIdentification: string;
  EndToEndIdentification: string;
  InstructedAmount: { Amount: string; Currency: 'GBP' };
  CreditorAccount: { SchemeName: 'UK.OBIE.SortCodeAccountNumber'; Identification: string; Name: string };
  RemittanceInformation?: { Reference: string };
}

/**
 * The Initiation for an order. InstructionIdentification and EndToEndIdentification are
 * Max35Text the TPP chooses (unique per instruction; the end-to-end id travels to the payee).
 */
export function domesticInitiation(
  order: PaymentOrder,
  ids: { instruction: string; endToEnd: string },
): DomesticInitiation {
  return {
    InstructionIdentification: ids.instruction.slice(0, 35),
    EndToEndIdentification: ids.endToEnd.slice(0, 35),
    InstructedAmount: { Amount: order.amount, Currency: 'GBP' },
    CreditorAccount: {
      SchemeName: 'UK.OBIE.SortCodeAccountNumber',
      Identification: order.creditorAccount,
      Name: order.creditorName,
    },
    ...(order.reference ? { RemittanceInformation: { Reference: order.reference } } : {}),
  };
}

/** POST /pisp/domestic-payment-consents body (OBWriteDomesticConsent). */
export function domesticPaymentConsentRequest(initiation: DomesticInitiation) {
  return { Data: { Initiation: initiation }, Risk: {} };
}

/** POST /pisp/domestic-payments body (OBWriteDomestic2): the consent's very Initiation. */
export function domesticPaymentRequest(consentId: string, initiation: DomesticInitiation) {
  return { Data: { ConsentId: consentId, Initiation: initiation }, Risk: {} };
}

// ---- reading answers ----

/**
 * The error code of an OBIE error body (`Errors[0].ErrorCode`, else `Code`) or of an OAuth one
 * (`error`); undefined when the body names none.
 */
export function errorCodeOf(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const record = body as Record<string, unknown>;
  const first = Array.isArray(record.Errors) ? (record.Errors[0] as Record<string, unknown> | undefined) : undefined;
  for (const candidate of [first?.ErrorCode, record.Code, record.error]) {
    if (typeof candidate === 'string' && candidate !== '') return candidate.slice(0, 100);
  }
  return undefined;
}

/**
 * What failed in a call made through openid-client or fetch, safe to show and log: the HTTP
 * status and the OAuth error (ResponseBodyError, AuthorizationResponseError), the challenge's
 * error (WWWAuthenticateChallengeError), or the library's or the network's error code.
 */
export function describeCallFailure(error: unknown): { status?: number; code?: string } {
  if (typeof error !== 'object' || error === null) return {};
  const record = error as Record<string, unknown>;
  const status = typeof record.status === 'number' ? record.status : undefined;
  const challenge = Array.isArray(record.cause)
    ? (record.cause[0] as { parameters?: { error?: unknown } } | undefined)?.parameters?.error
    : undefined;
  const cause = record.cause as Record<string, unknown> | undefined;
  const networkCode = typeof cause === 'object' && cause !== null && !Array.isArray(cause) ? cause.code : undefined;
  const code = [record.error, challenge, networkCode, record.code].find(
    (candidate): candidate is string => typeof candidate === 'string' && candidate !== '',
  );
  return { ...(status !== undefined ? { status } : {}), ...(code !== undefined ? { code: code.slice(0, 100) } : {}) };
}

/** An OBIE v3.1 balance (OBReadBalance1 Data.Balance). */
export interface ObieBalance {
  Type?: string;
  CreditDebitIndicator?: string;
  Amount?: { Amount?: string; Currency?: string };
}

/** OBIE balance types, the most useful to a person first: what they can spend now. */
const BALANCE_PREFERENCE = ['InterimAvailable', 'ClosingAvailable', 'Expected', 'InterimBooked', 'ClosingBooked'];

/**
 * The balance to show for an account: the preferred type present (else the first), signed
 * (`Debit` is negative, OBIE CreditDebitIndicator); undefined when there is none.
 */
export function balanceToShow(balances: readonly ObieBalance[]): { amount: string; currency: string } | undefined {
  const ranked = [...balances].sort((a, b) => rank(a.Type) - rank(b.Type));
  const chosen = ranked.find((balance) => typeof balance.Amount?.Amount === 'string');
  if (!chosen) return undefined;
  const amount = chosen.Amount!.Amount!.replace(/^-/, '');
  const negative = chosen.CreditDebitIndicator === 'Debit' || chosen.Amount!.Amount!.startsWith('-');
  return {
    amount: negative && !/^0+(\.0+)?$/.test(amount) ? `-${amount}` : amount,
    currency: chosen.Amount!.Currency ?? '',
  };
}

function rank(type: string | undefined): number {
  const index = BALANCE_PREFERENCE.indexOf(type ?? '');
  return index === -1 ? BALANCE_PREFERENCE.length : index;
}

/** `99010231845927` as people read a UK account: `99-01-02 31845927`; other schemes unchanged. */
export function formatAccountIdentification(scheme: string | undefined, identification: string): string {
  if (scheme === 'UK.OBIE.SortCodeAccountNumber' && /^\d{14}$/.test(identification)) {
    return `${identification.slice(0, 2)}-${identification.slice(2, 4)}-${identification.slice(4, 6)} ${identification.slice(6)}`;
  }
  return identification;
}

// ---- sessions ----

/** The value of one cookie in a Cookie header (RFC 6265 §5.4), or undefined. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const separator = part.indexOf('=');
    if (separator === -1) continue;
    if (part.slice(0, separator).trim() === name) return part.slice(separator + 1).trim();
  }
  return undefined;
}

/** Compares a submitted anti-CSRF token with the session's in constant time. */
export function isSameSecret(expected: string, submitted: string | undefined): boolean {
  if (submitted === undefined) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(submitted);
  return a.length === b.length && timingSafeEqual(a, b);
}
