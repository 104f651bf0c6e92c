import { STATUS_CODES } from 'node:http';
import { DomainError, type DomainErrorOptions, toDomainError } from '@obip/errors';

/**
 * A DomainError answered with an HTTP status that no error kind maps to (413, 415). Such
 * statuses describe the transport, not the domain, so the class lives in this lib; the
 * serialiser uses `status` instead of `statusForKind(kind)`.
 *
 * @example
 * throw new HttpStatusError(405, { kind: 'bad_request', code: 'invalid_request', description: 'use POST' });
 */
export class HttpStatusError extends DomainError {
  readonly status: number;

  constructor(status: number, options: DomainErrorOptions) {
    super(options);
    this.status = status;
  }
}

/**
 * The body is larger than the route accepts: 413, code `invalid_request`.
 *
 * @example
 * throw new PayloadTooLargeError();
 */
export class PayloadTooLargeError extends HttpStatusError {
  constructor(description = 'the request body is larger than this endpoint accepts') {
    super(413, { kind: 'bad_request', code: 'invalid_request', description });
  }
}

/**
 * The Content-Type (or Content-Encoding, or charset) is not one the route accepts: 415, code
 * `invalid_request`. In the OBIE envelope it is a `UK.OBIE.Header.Invalid` on `Content-Type`.
 *
 * @example
 * throw new UnsupportedMediaTypeError('Content-Type must be application/json');
 */
export class UnsupportedMediaTypeError extends HttpStatusError {
  readonly details: readonly ObieErrorItem[];

  constructor(description: string) {
    super(415, { kind: 'bad_request', code: 'invalid_request', description });
    this.details = [{ ErrorCode: 'UK.OBIE.Header.Invalid', Message: description, Path: 'Content-Type' }];
  }
}

/** One entry of the OBIE error envelope's `Errors` array (OBIE Read/Write API, OBErrorResponse1). */
export interface ObieErrorItem {
  /** e.g. `UK.OBIE.Field.Missing`; ASPSP-specific namespaced codes are allowed. */
  ErrorCode: string;
  Message: string;
  /** JSON path of the offending field, e.g. `Data.Initiation.InstructedAmount`. */
  Path?: string;
  Url?: string;
}

/**
 * A DomainError that names its OBIE error items. The 'obie' serialiser reads `details` from any
 * DomainError, so domain code may instead declare its own `details` property with the same
 * shape and avoid importing this lib.
 *
 * @example
 * throw new ObieError({
 *   kind: 'bad_request', code: 'invalid_request', description: 'InstructedAmount is missing',
 *   errors: [{ ErrorCode: 'UK.OBIE.Field.Missing', Message: 'InstructedAmount is missing',
 *              Path: 'Data.Initiation.InstructedAmount' }],
 * });
 */
export class ObieError extends DomainError {
  readonly details: readonly ObieErrorItem[];

  constructor(options: DomainErrorOptions & { errors: readonly ObieErrorItem[] }) {
    const { errors, ...rest } = options;
    super(rest);
    this.details = errors;
  }
}

/** One invalid member of a request body (RFC 9457 §3 "errors" extension; `pointer` is RFC 6901). */
export interface InvalidField {
  pointer: string;
  detail: string;
}

/**
 * A request body that failed validation, naming each invalid member. In `problem` format the
 * members are listed under `errors`; the other formats show the description only.
 *
 * @example
 * throw new InvalidFieldsError('the settings are not valid', [{ pointer: '/lifetimes/idTokenSeconds', detail: 'must be at most 3600' }]);
 */
export class InvalidFieldsError extends DomainError {
  readonly fields: readonly InvalidField[];

  constructor(description: string, fields: readonly InvalidField[], code = 'invalid_request') {
    super({ kind: 'bad_request', code, description });
    this.fields = fields;
  }
}

/**
 * Any thrown value as a DomainError. Errors from Express and body-parser (http-errors with an
 * `expose`d 4xx status) keep their status with code `invalid_request`; every other non-domain
 * error becomes the unexposed `server_error`.
 *
 * @example
 * toHttpDomainError(new Error('ECONNRESET')).code; // 'server_error' (expose: false)
 */
export function toHttpDomainError(error: unknown): DomainError {
  if (error instanceof DomainError) return error;
  const status = exposedClientStatusOf(error);
  if (status === undefined) return toDomainError(error);
  if (status === 413) return new PayloadTooLargeError();
  if (status === 415) return new UnsupportedMediaTypeError('the request content type or encoding is not supported');
  const reason = (STATUS_CODES[status] ?? 'bad request').toLowerCase();
  return new HttpStatusError(status, {
    kind: 'bad_request',
    code: 'invalid_request',
    description: `the request could not be processed: ${reason}`,
    cause: error,
  });
}

/**
 * The 4xx status of an error Express or body-parser raised about the request: http-errors
 * marks those `expose: true`; the router's undecodable path parameter is a URIError with
 * status 400. Any other `status` is ignored: an upstream's 404 bubbling up from an HTTP client
 * must stay a server-side failure (STYLE habit 5).
 */
function exposedClientStatusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { status, statusCode, expose } = error as { status?: unknown; statusCode?: unknown; expose?: unknown };
  const code = typeof status === 'number' ? status : statusCode;
  if (typeof code !== 'number' || code < 400 || code >= 500) return undefined;
  return expose === true || (error instanceof URIError && code === 400) ? code : undefined;
}
