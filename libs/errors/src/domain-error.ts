/**
 * The kind of failure, independent of any transport. Each transport maps a kind to its own
 * status code in exactly one place (HTTP serialisers in `@obip/http`, gRPC status mapping in
 * `@obip/grpc`), so a domain never speaks HTTP or gRPC.
 */
export type ErrorKind =
  | 'bad_request'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'precondition_failed'
  | 'too_many_requests'
  | 'unavailable'
  | 'deadline_exceeded'
  | 'internal';

export interface DomainErrorOptions {
  /** Wire code, e.g. an RFC 6749 `error` value such as `invalid_request`. Stable: tests assert on it. */
  code: string;
  kind: ErrorKind;
  /** Text safe to show to the caller (`error_description`, problem `detail`). */
  description: string;
  /** When false the caller only ever sees a generic server error; the cause is logged. */
  expose?: boolean;
  /** The underlying failure, for logs only. */
  cause?: unknown;
  /** Extra response headers, e.g. `WWW-Authenticate` or `Retry-After`. */
  headers?: Record<string, string>;
}

/**
 * Base class of every error a service raises on purpose. It carries a stable wire `code`, a
 * transport-neutral `kind`, a description that is safe to expose, and an internal cause.
 *
 * @example
 * throw new DomainError({ code: 'invalid_client_metadata', kind: 'bad_request',
 *   description: 'redirect_uris must be https' });
 */
export class DomainError extends Error {
  readonly code: string;
  readonly kind: ErrorKind;
  readonly description: string;
  readonly expose: boolean;
  readonly headers: Readonly<Record<string, string>>;

  constructor(options: DomainErrorOptions) {
    super(options.description, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = options.code;
    this.kind = options.kind;
    this.description = options.description;
    this.expose = options.expose ?? options.kind !== 'internal';
    this.headers = options.headers ?? {};
  }
}

export function isDomainError(value: unknown): value is DomainError {
  return value instanceof DomainError;
}

/**
 * Anything that is not a DomainError is an unexpected failure: it becomes an unexposed
 * `server_error` so that no stack trace or driver message ever reaches a caller.
 */
export function toDomainError(value: unknown): DomainError {
  if (isDomainError(value)) return value;
  return new DomainError({
    code: 'server_error',
    kind: 'internal',
    description: 'an unexpected error occurred',
    expose: false,
    cause: value,
  });
}
