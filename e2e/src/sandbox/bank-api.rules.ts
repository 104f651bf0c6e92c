// The sandbox bank's rules, as pure named functions: which calls a consent grants, how a
// presented token must be bound (RFC 8705, RFC 9449), the DPoP proof checks of RFC 9449 §4.3,
// the OBIE payloads, and the deterministic sandbox ledger. bank-api.ts wires them to HTTPS and
// gRPC; nothing here touches a transport.
import { createHash } from 'node:crypto';
import { calculateJwkThumbprint, decodeProtectedHeader, EmbeddedJWK, jwtVerify, type JWK } from 'jose';
import { DomainError, type ErrorKind } from '@obip/errors';

// ---- errors ----

/** One item of the OBIE error envelope (OBErrorResponse1.Errors). */
export interface ObieErrorItem {
  ErrorCode: string;
  Message: string;
  Path?: string;
}

/** RFC 6750 §3 / RFC 9449 §7.1 `error` of a WWW-Authenticate challenge. */
export type ChallengeError = 'invalid_token' | 'invalid_dpop_proof' | 'insufficient_scope' | 'invalid_request';

const KIND_BY_STATUS: Readonly<Record<number, ErrorKind>> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  503: 'unavailable',
};

/**
 * Every refusal of the bank: an HTTP status, a stable `code` (tests assert on it), the OBIE
 * items of the body and, for 401 and insufficient scope, the challenge error. Serialised in one
 * place (bank-api.ts `sendError`).
 */
export class BankApiError extends DomainError {
  readonly status: number;
  readonly items: readonly ObieErrorItem[];
  readonly challenge: ChallengeError | undefined;

  constructor(
    status: number,
    code: string,
    items: readonly ObieErrorItem[],
    challenge?: ChallengeError,
    headers?: Record<string, string>,
  ) {
    super({
      code,
      kind: KIND_BY_STATUS[status] ?? (status >= 500 ? 'unavailable' : 'bad_request'),
      description: items[0]?.Message ?? code,
      ...(headers ? { headers } : {}),
    });
    this.status = status;
    this.items = items;
    this.challenge = challenge;
  }
}

/** RFC 6750 §3.1 invalid_token: the token is missing its holder, inactive, or not for this bank. */
export function invalidToken(code: string, message: string): BankApiError {
  return new BankApiError(
    401,
    code,
    [{ ErrorCode: 'UK.OBIE.Header.Invalid', Message: message, Path: 'Authorization' }],
    'invalid_token',
  );
}

/** RFC 9449 §7.1: the DPoP proof failed a check of §4.3. */
export function invalidDpopProof(code: string, message: string): BankApiError {
  return new BankApiError(
    401,
    code,
    [{ ErrorCode: 'UK.OBIE.Header.Invalid', Message: message, Path: 'DPoP' }],
    'invalid_dpop_proof',
  );
}

/** The token is good, but its consent (or scope) does not grant this call. */
export function notGranted(code: string, message: string, challenge?: ChallengeError): BankApiError {
  return new BankApiError(403, code, [{ ErrorCode: 'UK.OBIE.Resource.ConsentMismatch', Message: message }], challenge);
}

export function badRequest(code: string, items: readonly ObieErrorItem[]): BankApiError {
  return new BankApiError(400, code, items);
}

export function notFound(message = 'no such resource'): BankApiError {
  return new BankApiError(404, 'not_found', [{ ErrorCode: 'UK.OBIE.Resource.NotFound', Message: message }]);
}

/** A gRPC dependency did not answer in time or at all: a 503, never "not found" (STYLE habit 5). */
export function dependencyUnavailable(dependency: string): BankApiError {
  return new BankApiError(503, 'dependency_unavailable', [
    { ErrorCode: 'UK.OBIE.UnexpectedError', Message: `${dependency} is unavailable; try again` },
  ]);
}

// ---- routes ----

export type BankRoute =
  'listAccounts' | 'getAccount' | 'getBalances' | 'getTransactions' | 'submitPayment' | 'getPayment';

const AISP = '/open-banking/v3.1/aisp';
const PISP = '/open-banking/v3.1/pisp';
const ID = '([^/]{1,128})';
const ROUTES: ReadonlyArray<{ method: 'GET' | 'POST'; pattern: RegExp; route: BankRoute }> = [
  { method: 'GET', pattern: new RegExp(`^${AISP}/accounts$`), route: 'listAccounts' },
  { method: 'GET', pattern: new RegExp(`^${AISP}/accounts/${ID}$`), route: 'getAccount' },
  { method: 'GET', pattern: new RegExp(`^${AISP}/accounts/${ID}/balances$`), route: 'getBalances' },
  { method: 'GET', pattern: new RegExp(`^${AISP}/accounts/${ID}/transactions$`), route: 'getTransactions' },
  { method: 'POST', pattern: new RegExp(`^${PISP}/domestic-payments$`), route: 'submitPayment' },
  { method: 'GET', pattern: new RegExp(`^${PISP}/domestic-payments/${ID}$`), route: 'getPayment' },
];

/**
 * The endpoint a request names, with its decoded path parameter. An unknown path is 404 before
 * any token is looked at; a known path with another method is 405 with the methods it allows.
 */
export function matchRoute(
  method: string,
  pathname: string,
): { route: BankRoute; id: string | undefined } | { status: 404 } | { status: 405; allow: string[] } {
  const matching = ROUTES.filter((entry) => entry.pattern.test(pathname));
  if (matching.length === 0) return { status: 404 };
  const found = matching.find((entry) => entry.method === method);
  if (!found) return { status: 405, allow: matching.map((entry) => entry.method) };
  const raw = found.pattern.exec(pathname)![1];
  if (raw === undefined) return { route: found.route, id: undefined };
  try {
    return { route: found.route, id: decodeURIComponent(raw) };
  } catch {
    return { status: 404 };
  }
}

// ---- the presented token ----

export interface PresentedToken {
  scheme: 'Bearer' | 'DPoP';
  token: string;
}

/** RFC 6750 §2.1 b68token, bounded so that no one makes us hash or forward megabytes. */
const TOKEN_SYNTAX = /^[A-Za-z0-9\-._~+/]{1,4096}=*$/;

/**
 * RFC 6750 §2.1 and RFC 9449 §7.1: `Authorization: Bearer <token>` or `DPoP <token>`, scheme
 * case-insensitive (RFC 9110 §11.1). Missing or unparsable credentials are invalid_token.
 */
export function parseAuthorization(header: string | undefined): PresentedToken {
  if (header === undefined || header.trim() === '') {
    throw new BankApiError(
      401,
      'token_missing',
      [{ ErrorCode: 'UK.OBIE.Header.Missing', Message: 'an access token is required', Path: 'Authorization' }],
      'invalid_token',
    );
  }
  const match = /^(Bearer|DPoP) +(\S+)$/i.exec(header.trim());
  if (!match || !TOKEN_SYNTAX.test(match[2]!)) {
    throw invalidToken('authorization_malformed', 'Authorization must be "Bearer <token>" or "DPoP <token>"');
  }
  return { scheme: match[1]!.toLowerCase() === 'dpop' ? 'DPoP' : 'Bearer', token: match[2]! };
}

/** What introspection says of an active token, in the bank's terms. */
export interface ActiveToken {
  clientId: string;
  scopes: string[];
  /** RFC 6749 §5.1 as introspection reports it: DPoP for a DPoP-bound access token. */
  tokenType: string;
  /** RFC 8705 cnf.x5t#S256; empty when not certificate-bound. */
  certificateThumbprint: string;
  /** RFC 9449 cnf.jkt; empty when not DPoP-bound. */
  jkt: string;
  consentId: string;
}

/** How the caller presented the token: the scheme, the verified certificate, the verified DPoP key. */
export interface Presentation {
  scheme: 'Bearer' | 'DPoP';
  /** base64url SHA-256 of the DER of the TLS peer certificate, when the CA verified it. */
  certificateThumbprint?: string;
  /** RFC 7638 thumbprint of the key that signed a verified DPoP proof. */
  dpopJkt?: string;
}

/**
 * FAPI 2.0 SP 5.3.3-4 and FAPI 1.0 Advanced 6.2.1-1: only sender-constrained tokens, each used by
 * its holder. token-introspection already compares cnf with what we present; this repeats the
 * comparison here, because an introspection asked without a presentation vouches for nobody.
 * RFC 9449 §7.1/§7.2: a DPoP token needs the DPoP scheme, and the DPoP scheme a DPoP token.
 */
export function checkSenderConstraint(
  token: Pick<ActiveToken, 'tokenType' | 'certificateThumbprint' | 'jkt'>,
  presented: Presentation,
): void {
  if (!token.certificateThumbprint && !token.jkt) {
    throw invalidToken('token_not_sender_constrained', 'the access token is not sender-constrained');
  }
  const isDpopToken = token.tokenType.toLowerCase() === 'dpop' || token.jkt !== '';
  if (isDpopToken !== (presented.scheme === 'DPoP')) {
    throw invalidToken(
      'token_scheme_mismatch',
      `a ${isDpopToken ? 'DPoP' : 'Bearer'} token must be presented with that scheme`,
    );
  }
  if (token.certificateThumbprint && token.certificateThumbprint !== presented.certificateThumbprint) {
    throw invalidToken('certificate_mismatch', 'the access token is not bound to the presented client certificate');
  }
  if (token.jkt && token.jkt !== presented.dpopJkt) {
    throw invalidToken('dpop_key_mismatch', 'the access token is not bound to the key of the DPoP proof');
  }
}

/** RFC 8705 §3.1 x5t#S256: base64url SHA-256 of the certificate's DER. */
export function certificateThumbprintOf(der: Uint8Array): string {
  return createHash('sha256').update(der).digest('base64url');
}

// ---- DPoP proofs (RFC 9449 §4.3) ----

/** FAPI 2.0 SP 5.4: PS256 or ES256 only; never none, never a MAC. */
export const DPOP_ALGORITHMS = ['ES256', 'PS256'] as const;
/** How far iat may lie from our clock, either way (RFC 9449 §4.3 item 11, §11.1). */
export const DPOP_IAT_WINDOW_SECONDS = 60;
const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

/** Remembers the jti of every accepted proof for as long as the proof could be accepted again. */
export interface DpopReplayCache {
  /** False when this key was already remembered and has not expired. */
  remember(key: string, expiresAt: number, now: number): boolean;
}

/**
 * An in-memory replay cache (one bank process). Bounded: when full, expired entries go first,
 * then the oldest.
 */
export function createDpopReplayCache(maxEntries = 100_000): DpopReplayCache {
  const seen = new Map<string, number>();
  return {
    remember(key, expiresAt, now) {
      const until = seen.get(key);
      if (until !== undefined && until > now) return false;
      if (seen.size >= maxEntries) {
        for (const [entry, expiry] of seen) if (expiry <= now) seen.delete(entry);
        if (seen.size >= maxEntries) seen.delete(seen.keys().next().value as string);
      }
      seen.delete(key);
      seen.set(key, expiresAt);
      return true;
    },
  };
}

export interface ExpectedDpopRequest {
  /** The HTTP method of the request. */
  method: string;
  /** The bank URL of the request without query and fragment. */
  htu: string;
  /** The access token the request carries: `ath` must be its hash. */
  accessToken: string;
}

/** RFC 9449 §4.2 `ath`: base64url SHA-256 of the ASCII access token. */
export function accessTokenHash(accessToken: string): string {
  return createHash('sha256').update(accessToken, 'ascii').digest('base64url');
}

/** RFC 9449 §4.3 item 9 with RFC 3986 §6.2.2 normalisation: scheme and host case, default port, no query or fragment. */
function normaliseHtu(value: string): string | undefined {
  try {
    const url = new URL(value);
    return `${url.origin}${url.pathname}`;
  } catch {
    return undefined;
  }
}

/**
 * Checks a DPoP proof for a resource request (RFC 9449 §4.3 and §7.1) and returns the RFC 7638
 * thumbprint of its key, which token-introspection then compares with the token's cnf.jkt:
 * a JWT of typ dpop+jwt, alg ES256 or PS256, a public `jwk` header that verifies the signature,
 * `htm` and `htu` of this request, `iat` within 60 seconds of now, `ath` of this access token,
 * and a `jti` not seen before. The jti is remembered only once every other check has passed.
 *
 * @example
 * const jkt = await verifyDpopProof(req.headers.dpop, { method: 'GET', htu, accessToken }, { now: Date.now() / 1000, replay });
 */
export async function verifyDpopProof(
  proof: string | undefined,
  expected: ExpectedDpopRequest,
  context: { now: number; replay: DpopReplayCache },
): Promise<string> {
  if (!proof) throw invalidDpopProof('dpop_proof_missing', 'a DPoP proof is required with the DPoP scheme');
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(proof);
  } catch {
    throw invalidDpopProof('dpop_proof_malformed', 'the DPoP proof is not a JWT');
  }
  if (header.typ !== 'dpop+jwt') throw invalidDpopProof('dpop_proof_typ', 'the DPoP proof must have typ dpop+jwt');
  if (!(DPOP_ALGORITHMS as readonly unknown[]).includes(header.alg)) {
    throw invalidDpopProof('dpop_proof_alg', `the DPoP proof must be signed with ${DPOP_ALGORITHMS.join(' or ')}`);
  }
  const jwk = header.jwk;
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) {
    throw invalidDpopProof('dpop_proof_jwk', 'the DPoP proof must carry its public key in the jwk header');
  }
  if (PRIVATE_JWK_MEMBERS.some((member) => member in jwk)) {
    throw invalidDpopProof('dpop_proof_private_key', 'the jwk header of the DPoP proof must not hold a private key');
  }
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(proof, EmbeddedJWK, {
      algorithms: [...DPOP_ALGORITHMS],
      currentDate: new Date(context.now * 1000),
    }));
  } catch {
    throw invalidDpopProof('dpop_proof_signature', 'the DPoP proof does not verify with its jwk header');
  }
  const { jti, htm, htu, iat, ath } = payload;
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > 256) {
    throw invalidDpopProof('dpop_proof_jti', 'the DPoP proof needs a jti');
  }
  if (htm !== expected.method) throw invalidDpopProof('dpop_proof_htm', 'the DPoP proof is for another HTTP method');
  if (typeof htu !== 'string' || normaliseHtu(htu) !== normaliseHtu(expected.htu)) {
    throw invalidDpopProof('dpop_proof_htu', 'the DPoP proof is for another URL');
  }
  if (typeof iat !== 'number' || Math.abs(context.now - iat) > DPOP_IAT_WINDOW_SECONDS) {
    throw invalidDpopProof('dpop_proof_iat', 'the DPoP proof was not issued within the last minute');
  }
  if (ath !== accessTokenHash(expected.accessToken)) {
    throw invalidDpopProof('dpop_proof_ath', 'the DPoP proof is for another access token');
  }
  const jkt = await calculateJwkThumbprint(jwk as JWK, 'sha256');
  // Accepted until iat + window at the latest: remembered that long, per key (a jti is the signer's).
  if (!context.replay.remember(`${jkt}:${jti}`, iat + DPOP_IAT_WINDOW_SECONDS + 1, context.now)) {
    throw invalidDpopProof('dpop_proof_replayed', 'the DPoP proof was already used');
  }
  return jkt;
}

// ---- consents and what they grant ----

export type ConsentKind = 'account-access' | 'domestic-payment' | 'generic' | 'unknown';
export type ConsentStatus =
  'AwaitingAuthorisation' | 'Authorised' | 'Rejected' | 'Revoked' | 'Consumed' | 'Expired' | 'Unknown';

/** consent-service's consent, as the bank uses it. */
export interface BankConsent {
  consentId: string;
  clientId: string;
  kind: ConsentKind;
  status: ConsentStatus;
  subject: string;
  permissions: string[];
  accountIds: string[];
  /** authorization_details_json parsed: RFC 9396 details (generic) or the OBIE Initiation (payments). */
  details: unknown;
}

/**
 * RFC 9396 `account_information` actions (auth-server's RAR type) as OBIE permissions. The
 * customer read "see the list of your accounts", "read your balances", "read your transactions"
 * on the consent page: the least OBIE permission that matches each, never detail they were not
 * shown.
 */
const PERMISSIONS_BY_ACTION: Readonly<Record<string, readonly string[]>> = {
  list_accounts: ['ReadAccountsBasic'],
  read_balances: ['ReadBalances'],
  read_transactions: ['ReadTransactionsBasic', 'ReadTransactionsCredits', 'ReadTransactionsDebits'],
};

/**
 * The OBIE permissions a consent grants: an account-access consent's own, or for a generic
 * consent those of its `account_information` authorization details. Nothing else grants any.
 */
export function grantedPermissions(consent: Pick<BankConsent, 'kind' | 'permissions' | 'details'>): string[] {
  if (consent.kind === 'account-access') return [...consent.permissions];
  if (consent.kind !== 'generic' || !Array.isArray(consent.details)) return [];
  const granted = new Set<string>();
  for (const detail of consent.details as unknown[]) {
    if (!isObject(detail) || detail.type !== 'account_information' || !Array.isArray(detail.actions)) continue;
    for (const action of detail.actions) {
      for (const permission of PERMISSIONS_BY_ACTION[action as string] ?? []) granted.add(permission);
    }
  }
  return [...granted];
}

export type AccountCall = 'accounts' | 'balances' | 'transactions';

/** OBIE AIS 3.1 "Permissions": the permissions any one of which opens each family of endpoints. */
const PERMISSIONS_FOR_CALL: Readonly<Record<AccountCall, readonly string[]>> = {
  accounts: ['ReadAccountsBasic', 'ReadAccountsDetail'],
  balances: ['ReadBalances'],
  transactions: [
    'ReadTransactionsBasic',
    'ReadTransactionsDetail',
    'ReadTransactionsCredits',
    'ReadTransactionsDebits',
  ],
};

/** Whether the granted permissions open this family of AISP endpoints. */
export function isCallPermitted(call: AccountCall, permissions: readonly string[]): boolean {
  return PERMISSIONS_FOR_CALL[call].some((permission) => permissions.includes(permission));
}

/**
 * The consent must name the account (the customer selected it when authorising); 403 otherwise,
 * whether or not the account exists, so that a TPP learns nothing of accounts it was not given.
 */
export function checkAccountSelected(consent: Pick<BankConsent, 'accountIds'>, accountId: string): void {
  if (!consent.accountIds.includes(accountId)) {
    throw notGranted('account_not_selected', 'the consent does not include this account');
  }
}

// ---- OBIE AISP payloads ----

/** consent-service's CustomerAccount, as the bank uses it. */
export interface BankAccount {
  accountId: string;
  nickname: string;
  currency: string;
  accountType: string;
  accountSubType: string;
  schemeName: string;
  identification: string;
}

/**
 * OBIE AIS 3.1 OBAccount6: ReadAccountsDetail adds the Account block (scheme, identification,
 * name); ReadAccountsBasic shows the account without them.
 */
export function accountView(account: BankAccount, permissions: readonly string[]) {
  return {
    AccountId: account.accountId,
    Currency: account.currency,
    AccountType: account.accountType,
    AccountSubType: account.accountSubType,
    Nickname: account.nickname,
    ...(permissions.includes('ReadAccountsDetail')
      ? {
          Account: [{ SchemeName: account.schemeName, Identification: account.identification, Name: account.nickname }],
        }
      : {}),
  };
}

/** OBIE AIS 3.1 OBReadBalance1 entry: the booked and available balance (payments settle at once). */
export function balanceViews(accountId: string, balance: bigint, currency: string, at: Date) {
  const amount = { Amount: formatAmount(balance < 0n ? -balance : balance), Currency: currency };
  const indicator = balance < 0n ? 'Debit' : 'Credit';
  return ['InterimAvailable', 'InterimBooked'].map((type) => ({
    AccountId: accountId,
    Amount: amount,
    CreditDebitIndicator: indicator,
    Type: type,
    DateTime: at.toISOString(),
  }));
}

export interface LedgerTransaction {
  transactionId: string;
  accountId: string;
  /** Positive, in minor units (pence). */
  amount: bigint;
  creditDebit: 'Credit' | 'Debit';
  bookedAt: Date;
  reference: string;
  information: string;
}

/**
 * OBIE AIS 3.1 OBTransaction6 under the consent's permissions: ReadTransactionsCredits or Debits
 * limit which transactions are shown (both, or neither, show all); ReadTransactionsDetail adds
 * TransactionInformation, which Basic leaves out. Newest first.
 */
export function transactionViews(
  transactions: readonly LedgerTransaction[],
  permissions: readonly string[],
  currency: string,
) {
  const credits = permissions.includes('ReadTransactionsCredits');
  const debits = permissions.includes('ReadTransactionsDebits');
  const detail = permissions.includes('ReadTransactionsDetail');
  return [...transactions]
    .filter((entry) => (credits === debits ? true : entry.creditDebit === 'Credit' ? credits : debits))
    .sort((a, b) => b.bookedAt.getTime() - a.bookedAt.getTime())
    .map((entry) => ({
      AccountId: entry.accountId,
      TransactionId: entry.transactionId,
      TransactionReference: entry.reference,
      Amount: { Amount: formatAmount(entry.amount), Currency: currency },
      CreditDebitIndicator: entry.creditDebit,
      Status: 'Booked',
      BookingDateTime: entry.bookedAt.toISOString(),
      ValueDateTime: entry.bookedAt.toISOString(),
      ...(detail ? { TransactionInformation: entry.information } : {}),
    }));
}

// ---- money ----

/** An OBIE amount (up to 13 digits, 2 decimals for GBP) in minor units; undefined when it is not one. */
export function parseAmount(amount: unknown): bigint | undefined {
  if (typeof amount !== 'string') return undefined;
  const match = /^(\d{1,13})(?:\.(\d{1,2}))?$/.exec(amount);
  if (!match) return undefined;
  return BigInt(match[1]!) * 100n + BigInt((match[2] ?? '').padEnd(2, '0'));
}

/** Minor units as an OBIE amount with two decimals. */
export function formatAmount(minor: bigint): string {
  const sign = minor < 0n ? '-' : '';
  const absolute = minor < 0n ? -minor : minor;
  return `${sign}${absolute / 100n}.${(absolute % 100n).toString().padStart(2, '0')}`;
}

// ---- the sandbox ledger ----

/** The end of every account's generated history: fixed, so the history is the same on every start. */
export const SANDBOX_HISTORY_ENDS_AT = Date.UTC(2025, 5, 30, 17, 0, 0);
const SANDBOX_TRANSACTIONS = 12;
const DEBIT_PAYEES = ['Corner Shop Ltd', 'City Transport', 'Green Grocers', 'Coffee House', 'Energy Co', 'Book Nook'];
const CREDIT_PAYERS = ['Example Employer Ltd', 'Online Store refund', 'Savings interest'];

function seedOf(...parts: string[]): Buffer {
  return createHash('sha256').update(parts.join('\u0000')).digest();
}

/**
 * The generated history of an account: a balance and twelve transactions, all derived from the
 * account id alone (SHA-256), so that restarts, replicas and tests see the same data.
 *
 * @example
 * sandboxHistory('acc-22289-current').balance; // 100_409n (£1,004.09), on every start
 */
export function sandboxHistory(accountId: string): { balance: bigint; transactions: LedgerTransaction[] } {
  const seed = seedOf('balance', accountId);
  // £1,000.00 to £4,999.99.
  const balance = 100_000n + BigInt(seed.readUInt32BE(0) % 400_000);
  const transactions = Array.from({ length: SANDBOX_TRANSACTIONS }, (_, index): LedgerTransaction => {
    const bytes = seedOf('transaction', accountId, String(index));
    const isCredit = bytes[0]! % 5 === 0;
    const amount = isCredit
      ? 5_000n + BigInt(bytes.readUInt32BE(1) % 200_000)
      : 100n + BigInt(bytes.readUInt32BE(1) % 12_000);
    const counterparty = isCredit
      ? CREDIT_PAYERS[bytes[5]! % CREDIT_PAYERS.length]!
      : DEBIT_PAYEES[bytes[5]! % DEBIT_PAYEES.length]!;
    const hoursBack = index * 52 + (bytes[6]! % 24);
    return {
      transactionId: `sbx-${bytes.subarray(8, 20).toString('hex')}`,
      accountId,
      amount,
      creditDebit: isCredit ? 'Credit' : 'Debit',
      bookedAt: new Date(SANDBOX_HISTORY_ENDS_AT - hoursBack * 3_600_000),
      reference: `REF${bytes.readUInt32BE(20).toString(36).toUpperCase()}`,
      information: isCredit ? `Credit from ${counterparty}` : `Card payment to ${counterparty}`,
    };
  });
  return { balance, transactions };
}

// ---- OBIE PISP ----

/** x-idempotency-key (OBIE Read/Write API "Idempotency"): Max40Text, visible ASCII. */
export function isIdempotencyKey(value: unknown): value is string {
  return typeof value === 'string' && /^[\x21-\x7e]{1,40}$/.test(value);
}

/**
 * JSON with object keys sorted at every level: two documents that differ only in key order or
 * whitespace compare equal.
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

/**
 * OBIE PIS 3.1 "Payment Order Consent": the Initiation submitted must match the Initiation the
 * customer authorised, field for field (key order aside).
 */
export function isSameInitiation(submitted: unknown, authorised: unknown): boolean {
  return authorised !== undefined && canonicalJson(submitted) === canonicalJson(authorised);
}

export interface PaymentSubmission {
  consentId: string;
  initiation: Record<string, unknown>;
}

/** POST /domestic-payments (OBWriteDomestic2): Data.ConsentId, Data.Initiation and Risk objects. */
export function parsePaymentSubmission(body: unknown): PaymentSubmission {
  if (!isObject(body))
    throw badRequest('body_invalid', [
      { ErrorCode: 'UK.OBIE.Field.Invalid', Message: 'the body must be a JSON object', Path: '$' },
    ]);
  const problems: ObieErrorItem[] = [];
  const data = body.Data;
  if (!isObject(data)) problems.push(fieldProblem('Data', data));
  else {
    if (typeof data.ConsentId !== 'string' || data.ConsentId.length === 0 || data.ConsentId.length > 128) {
      problems.push(fieldProblem('Data.ConsentId', data.ConsentId));
    }
    if (!isObject(data.Initiation)) problems.push(fieldProblem('Data.Initiation', data.Initiation));
  }
  if (!isObject(body.Risk)) problems.push(fieldProblem('Risk', body.Risk));
  if (problems.length > 0) throw badRequest('body_invalid', problems);
  const fields = data as Record<string, unknown>;
  return { consentId: fields.ConsentId as string, initiation: fields.Initiation as Record<string, unknown> };
}

function fieldProblem(path: string, value: unknown): ObieErrorItem {
  return value === undefined
    ? { ErrorCode: 'UK.OBIE.Field.Missing', Message: `${path} is required`, Path: path }
    : { ErrorCode: 'UK.OBIE.Field.Invalid', Message: `${path} is not valid`, Path: path };
}

/**
 * The submission must spend the very consent its token was issued under, a domestic-payment
 * consent, with the Initiation the customer authorised (400 UK.OBIE.Resource.ConsentMismatch).
 */
export function checkSubmissionMatchesConsent(submission: PaymentSubmission, consent: BankConsent): void {
  if (consent.kind !== 'domestic-payment') {
    throw notGranted('consent_kind_mismatch', 'the access token was not issued for a domestic payment consent');
  }
  if (submission.consentId !== consent.consentId) {
    throw badRequest('consent_mismatch', [
      {
        ErrorCode: 'UK.OBIE.Resource.ConsentMismatch',
        Message: 'the access token was issued for another consent',
        Path: 'Data.ConsentId',
      },
    ]);
  }
  if (!isSameInitiation(submission.initiation, consent.details)) {
    throw badRequest('initiation_mismatch', [
      {
        ErrorCode: 'UK.OBIE.Resource.ConsentMismatch',
        Message: 'the Initiation differs from the authorised consent',
        Path: 'Data.Initiation',
      },
    ]);
  }
}

export interface DomesticPayment {
  domesticPaymentId: string;
  consentId: string;
  clientId: string;
  createdAt: Date;
  initiation: Record<string, unknown>;
  /** The account debited (the consent's selected debtor account). */
  debtorAccountId: string;
  /** Minor units. */
  amount: bigint;
}

/** OBIE PIS 3.1 OBWriteDomesticResponse: settled at once in the sandbox. */
export function domesticPaymentView(payment: DomesticPayment, self: string) {
  return {
    Data: {
      DomesticPaymentId: payment.domesticPaymentId,
      ConsentId: payment.consentId,
      CreationDateTime: payment.createdAt.toISOString(),
      Status: 'AcceptedSettlementCompleted',
      StatusUpdateDateTime: payment.createdAt.toISOString(),
      Initiation: payment.initiation,
    },
    Links: { Self: self },
    Meta: {},
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
