/**
 * The normalised token record: what token-introspection needs to answer RFC 7662 for a token
 * that auth-server issued. One definition, used by the writer and the reader (ARCHITECTURE:
 * the one shared store). Times are seconds since the epoch, as in JWT claims.
 */
export interface TokenRecord {
  /** Format version, so a reader never misreads a record written by a newer writer. */
  v: 1;
  tokenType: TokenType;
  /** The grant that produced it: `authorization_code`, `refresh_token`, `client_credentials`, `urn:openid:params:grant-type:ciba`. */
  grantType: string;
  clientId: string;
  /** The customer; absent for client_credentials tokens. */
  subject?: string;
  scope: string;
  issuer: string;
  audience: string[];
  issuedAt: number;
  expiresAt: number;
  /** The engine's grant, for the cascade when a code is replayed or a grant is revoked. */
  grantId?: string;
  consentId?: string;
  openbankingIntentId?: string;
  /** Sender constraint (RFC 8705 `x5t#S256`, RFC 9449 `jkt`). */
  cnf?: { 'x5t#S256'?: string; jkt?: string };
  /** RFC 9396 authorization details, as granted. */
  authorizationDetails?: unknown[];
  acr?: string;
  /** Verified identity data (OIDC4IDA) the customer released to the client: names per trust framework, never values. */
  identityRelease?: Array<{ trustFramework: string; claims: string[] }>;
}

export type TokenType = 'access_token' | 'refresh_token';

const TOKEN_TYPES: readonly string[] = ['access_token', 'refresh_token'];

/**
 * Reads a stored record defensively: anything that is not a well-formed version-1 record is
 * treated as absent, so a corrupted or foreign value can only ever make a token inactive.
 */
export function parseTokenRecord(text: string | null): TokenRecord | undefined {
  if (text === null) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  return isTokenRecord(value) ? value : undefined;
}

export function isTokenRecord(value: unknown): value is TokenRecord {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  return (
    record.v === 1 &&
    typeof record.tokenType === 'string' &&
    TOKEN_TYPES.includes(record.tokenType) &&
    isNonEmptyString(record.grantType) &&
    isNonEmptyString(record.clientId) &&
    typeof record.scope === 'string' &&
    isNonEmptyString(record.issuer) &&
    Array.isArray(record.audience) &&
    record.audience.every((entry) => typeof entry === 'string') &&
    Number.isInteger(record.issuedAt) &&
    Number.isInteger(record.expiresAt) &&
    (record.expiresAt as number) > (record.issuedAt as number) &&
    optionalString(record.subject) &&
    optionalString(record.grantId) &&
    optionalString(record.consentId) &&
    optionalString(record.openbankingIntentId) &&
    optionalString(record.acr) &&
    (record.authorizationDetails === undefined || Array.isArray(record.authorizationDetails)) &&
    (record.identityRelease === undefined || isIdentityRelease(record.identityRelease)) &&
    (record.cnf === undefined || isConfirmation(record.cnf))
  );
}

function isIdentityRelease(value: unknown): boolean {
  return (
    Array.isArray(value) &&
    value.every(
      (entry: { trustFramework?: unknown; claims?: unknown }) =>
        typeof entry === 'object' &&
        entry !== null &&
        isNonEmptyString(entry.trustFramework) &&
        Array.isArray(entry.claims) &&
        entry.claims.every(isNonEmptyString),
    )
  );
}

function isConfirmation(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const cnf = value as Record<string, unknown>;
  return optionalString(cnf['x5t#S256']) && optionalString(cnf.jkt);
}

function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

function optionalString(value: unknown): boolean {
  return value === undefined || isNonEmptyString(value);
}
