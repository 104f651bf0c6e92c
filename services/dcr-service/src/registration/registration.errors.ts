import { DomainError, ForbiddenError, UnauthorizedError } from '@obip/errors';

/** The RFC 7591 §3.2.2 / OBIE RegistrationError codes. */
export type RegistrationErrorCode =
  'invalid_redirect_uri' | 'invalid_client_metadata' | 'invalid_software_statement' | 'unapproved_software_statement';

/** OBIE swagger RegistrationError: error_description is at most 500 characters. */
const MAX_DESCRIPTION = 500;

/**
 * A registration refused by one of the validation rules: 400 with an RFC 7591 error code and
 * an `error_description` that starts with the rule that failed (`rule 5 redirect_uris: ...`).
 *
 * @example
 * throw new RegistrationError('invalid_redirect_uri', 'rule 5 redirect_uris', 'must use https');
 */
export class RegistrationError extends DomainError {
  /** The rule that failed, e.g. `rule 3 exp`; stable, for logs and tests. */
  readonly rule: string;

  constructor(code: RegistrationErrorCode, rule: string, detail: string, cause?: unknown) {
    const description = `${rule}: ${detail}`;
    super({
      code,
      kind: 'bad_request',
      description:
        description.length <= MAX_DESCRIPTION ? description : `${description.slice(0, MAX_DESCRIPTION - 3)}...`,
      cause,
    });
    this.rule = rule;
  }
}

/**
 * No client certificate, or one that does not chain to a trusted CA: 401 `invalid_client`
 * (OBIE DCR: registration requires mutual TLS).
 */
export class ClientCertificateError extends UnauthorizedError {
  constructor(detail: string) {
    super(`rule 1 client certificate: ${detail}`, { code: 'invalid_client' });
  }
}

/**
 * The registration access token is missing, wrong, revoked, or belongs to another client, or
 * the client does not exist: 401 with `WWW-Authenticate: Bearer` (RFC 7592 §2, RFC 6750 §3).
 */
export class RegistrationAccessError extends UnauthorizedError {
  constructor(detail: string, tokenPresented: boolean) {
    super(detail, {
      code: 'invalid_token',
      headers: {
        'WWW-Authenticate': tokenPresented
          ? 'Bearer error="invalid_token", error_description="the access token is not valid for this client"'
          : 'Bearer',
      },
    });
  }
}

/**
 * The caller holds the client's credential, but the client may not manage its registration
 * (it is suspended, pending approval or rejected): 403 `access_denied` (RFC 7592 §2.1-2.3:
 * "does not have permission" → 403 Forbidden). The token is not revoked: the client may be
 * activated again.
 */
export class ManagementForbiddenError extends ForbiddenError {
  constructor(detail: string) {
    super(detail, { code: 'access_denied' });
  }
}
