/**
 * RFC 9396 Rich Authorization Requests: the authorization_details types auth-server understands,
 * how each is checked, and how each is put into words on the consent page.
 *
 * The rule that shapes everything here: a customer approves only what the consent page shows.
 * So every member of a detail must be one this module knows how to show; a member it does not
 * know is refused (invalid_authorization_details) rather than silently granted unseen.
 */

/** The authorization_details types auth-server can show a customer and grant. */
export const RAR_TYPES = ['account_information', 'payment_initiation'] as const;
export type RarType = (typeof RAR_TYPES)[number];

/** Most authorization_details one request may carry (consent-service stores up to 20). */
export const MAX_AUTHORIZATION_DETAILS = 10;
/** Longest serialised detail, in characters: a consent page is read, not scrolled through. */
export const MAX_DETAIL_LENGTH = 2048;

/** RFC 9396 §2.2 common members, shown for every type. */
const COMMON_MEMBERS = new Set(['type', 'locations', 'actions', 'datatypes', 'identifier', 'privileges']);

const ACTIONS: Readonly<Record<RarType, readonly string[]>> = {
  account_information: ['list_accounts', 'read_balances', 'read_transactions'],
  payment_initiation: ['initiate', 'status', 'cancel'],
};

const TYPE_MEMBERS: Readonly<Record<RarType, ReadonlySet<string>>> = {
  account_information: new Set(),
  payment_initiation: new Set([
    'instructedAmount',
    'creditorName',
    'creditorAccount',
    'remittanceInformationUnstructured',
  ]),
};

const ACTION_WORDS: Readonly<Record<string, string>> = {
  list_accounts: 'see the list of your accounts',
  read_balances: 'read your balances',
  read_transactions: 'read your transactions',
  initiate: 'make the payment',
  status: 'check its status',
  cancel: 'cancel it',
};

/** ISO 4217 alphabetic code. */
const CURRENCY = /^[A-Z]{3}$/;
/** OBIE/ISO 20022 ActiveOrHistoricCurrencyAndAmount: up to 13 digits and 5 decimals. */
const AMOUNT = /^\d{1,13}(\.\d{1,5})?$/;
/** ISO 13616 IBAN shape (the check digits are the bank's payment system's job). */
const IBAN = /^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$/;
const MAX_TEXT = 140;

/** A detail the server cannot grant, with the reason the client gets as error_description. */
export class AuthorizationDetailError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuthorizationDetailError';
  }
}

export const isRarType = (type: unknown): type is RarType => RAR_TYPES.includes(type as RarType);

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const isText = (value: unknown): value is string =>
  typeof value === 'string' && value.trim() !== '' && value.length <= MAX_TEXT;

/**
 * Checks one detail of a supported type (the engine has already checked the RFC 9396 §2 shape:
 * an object with a non-empty string `type`, string arrays for the common members). Throws
 * AuthorizationDetailError naming the member at fault.
 */
export function checkAuthorizationDetail(detail: Record<string, unknown>, index: number): void {
  const type = detail.type;
  const at = `authorization_details[${index}]`;
  if (!isRarType(type)) throw new AuthorizationDetailError(`${at}: unsupported type`);
  if (JSON.stringify(detail).length > MAX_DETAIL_LENGTH) {
    throw new AuthorizationDetailError(`${at} is longer than ${MAX_DETAIL_LENGTH} characters`);
  }
  for (const member of Object.keys(detail)) {
    if (!COMMON_MEMBERS.has(member) && !TYPE_MEMBERS[type].has(member)) {
      throw new AuthorizationDetailError(`${at}: member '${member}' is not supported for type ${type}`);
    }
  }
  const actions = detail.actions as string[] | undefined;
  if (type === 'account_information' && (actions === undefined || actions.length === 0)) {
    throw new AuthorizationDetailError(`${at}: account_information needs actions (${ACTIONS[type].join(', ')})`);
  }
  const unknownAction = actions?.find((action) => !ACTIONS[type].includes(action));
  if (unknownAction !== undefined) {
    throw new AuthorizationDetailError(
      `${at}: action '${unknownAction}' is not one of ${ACTIONS[type].join(', ')} for type ${type}`,
    );
  }
  for (const location of (detail.locations as string[] | undefined) ?? []) {
    if (!isHttpsUrl(location)) throw new AuthorizationDetailError(`${at}: locations must be https URLs`);
  }
  if (type === 'payment_initiation') checkPayment(detail, at);
}

function checkPayment(detail: Record<string, unknown>, at: string): void {
  const amount = detail.instructedAmount;
  if (
    !isRecord(amount) ||
    Object.keys(amount).some((key) => key !== 'currency' && key !== 'amount') ||
    typeof amount.currency !== 'string' ||
    !CURRENCY.test(amount.currency) ||
    typeof amount.amount !== 'string' ||
    !AMOUNT.test(amount.amount) ||
    Number(amount.amount) <= 0
  ) {
    throw new AuthorizationDetailError(
      `${at}: payment_initiation needs instructedAmount {currency: ISO 4217 code, amount: positive decimal string}`,
    );
  }
  if (!isText(detail.creditorName)) {
    throw new AuthorizationDetailError(`${at}: payment_initiation needs creditorName (1 to ${MAX_TEXT} characters)`);
  }
  const account = detail.creditorAccount;
  if (
    account !== undefined &&
    (!isRecord(account) ||
      Object.keys(account).length !== 1 ||
      typeof account.iban !== 'string' ||
      !IBAN.test(account.iban))
  ) {
    throw new AuthorizationDetailError(`${at}: creditorAccount must be {iban: an IBAN}`);
  }
  const reference = detail.remittanceInformationUnstructured;
  if (reference !== undefined && !isText(reference)) {
    throw new AuthorizationDetailError(`${at}: remittanceInformationUnstructured must be 1 to ${MAX_TEXT} characters`);
  }
}

function isHttpsUrl(value: string): boolean {
  try {
    return new URL(value).protocol === 'https:';
  } catch {
    return false;
  }
}

/**
 * What a customer reads on the consent page for one detail: a headline and the lines under it.
 * Every member the checks above allow appears in one of them.
 */
export function describeAuthorizationDetail(detail: Record<string, unknown>): { title: string; lines: string[] } {
  const lines: string[] = [];
  const actions = (detail.actions as string[] | undefined) ?? [];
  let title: string;
  if (detail.type === 'payment_initiation') {
    const amount = detail.instructedAmount as { currency: string; amount: string };
    title = `Pay ${amount.amount} ${amount.currency} to ${String(detail.creditorName)}`;
    const account = detail.creditorAccount as { iban: string } | undefined;
    if (account) lines.push(`To account ${account.iban}`);
    if (typeof detail.remittanceInformationUnstructured === 'string') {
      lines.push(`Payment reference: ${detail.remittanceInformationUnstructured}`);
    }
  } else {
    title = 'Access to your account information';
  }
  if (actions.length > 0)
    lines.push(`Allowed to: ${actions.map((action) => ACTION_WORDS[action] ?? action).join(', ')}`);
  const list = (member: string, label: string) => {
    const values = detail[member];
    if (Array.isArray(values) && values.length > 0) lines.push(`${label}: ${values.join(', ')}`);
  };
  list('locations', 'At');
  list('datatypes', 'Data');
  list('privileges', 'Privileges');
  if (typeof detail.identifier === 'string') lines.push(`Identifier: ${detail.identifier}`);
  return { title, lines };
}

/**
 * RFC 9396 §6.1: a token request may narrow the granted details. Each requested detail must be
 * one the customer granted, member for member; the result is what the token carries.
 */
export function narrowAuthorizationDetails(granted: readonly unknown[], requested: readonly unknown[]): unknown[] {
  const grantedKeys = new Set(granted.map(canonicalJson));
  requested.forEach((detail, index) => {
    if (!grantedKeys.has(canonicalJson(detail))) {
      throw new AuthorizationDetailError(`authorization_details[${index}] was not granted by the customer`);
    }
  });
  return [...requested];
}

/** JSON with object members in sorted order, so equal details compare equal as strings. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (isRecord(value)) {
    return `{${Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson(value[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}
