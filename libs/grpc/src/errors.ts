import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import {
  BadRequestError,
  ConflictError,
  DependencyUnavailableError,
  DomainError,
  ForbiddenError,
  NotFoundError,
  PreconditionFailedError,
  toDomainError,
  TooManyRequestsError,
  UnauthorizedError,
  type ErrorKind,
} from '@obip/errors';

/**
 * The trailer that carries a DomainError's stable wire `code` (e.g. `invalid_client_metadata`)
 * across a gRPC hop, so the caller can rebuild the same error. Its presence also tells a caller
 * that the status came from our code and not from the transport.
 */
export const ERROR_CODE_METADATA_KEY = 'obip-error-code';

/** What a server handler's failure becomes on the wire. */
export interface GrpcStatus {
  code: status;
  /** The status message: the error's description when exposed, a generic text otherwise. */
  details: string;
  /** Trailers; always carries {@link ERROR_CODE_METADATA_KEY}. */
  metadata: Metadata;
}

const GENERIC_DESCRIPTION = 'an unexpected error occurred';

/**
 * One status per kind, and no two kinds share a status, so a kind survives the round trip
 * server → wire → {@link fromGrpcError}.
 *
 * `conflict` is ALREADY_EXISTS: the errors lib uses it for uniqueness clashes (duplicate keys).
 * A state-machine refusal ("consent is not awaiting authorisation") should be raised as
 * `precondition_failed`, which is FAILED_PRECONDITION as gRPC's status guide asks.
 */
const STATUS_BY_KIND: Readonly<Record<ErrorKind, status>> = {
  bad_request: status.INVALID_ARGUMENT,
  unauthorized: status.UNAUTHENTICATED,
  forbidden: status.PERMISSION_DENIED,
  not_found: status.NOT_FOUND,
  conflict: status.ALREADY_EXISTS,
  precondition_failed: status.FAILED_PRECONDITION,
  too_many_requests: status.RESOURCE_EXHAUSTED,
  unavailable: status.UNAVAILABLE,
  deadline_exceeded: status.DEADLINE_EXCEEDED,
  internal: status.INTERNAL,
};

/**
 * Maps anything a handler throws to the status sent to the caller. This is the only place the
 * server side decides exposure: an unexposed error (and any non-DomainError) becomes INTERNAL
 * `server_error` with a generic message, whatever its kind, so no internal text leaks.
 *
 * @example
 * toGrpcStatus(new NotFoundError('no such client', { code: 'client_not_found' }));
 * // { code: status.NOT_FOUND, details: 'no such client', metadata: obip-error-code=client_not_found }
 */
export function toGrpcStatus(error: unknown): GrpcStatus {
  const domain = toDomainError(error);
  const exposed = domain.expose && domain.kind !== 'internal';
  const metadata = new Metadata();
  metadata.set(ERROR_CODE_METADATA_KEY, exposed ? domain.code : 'server_error');
  return exposed
    ? { code: STATUS_BY_KIND[domain.kind], details: domain.description, metadata }
    : { code: status.INTERNAL, details: GENERIC_DESCRIPTION, metadata };
}

/** True for the errors grpc-js hands to client callbacks and streams. */
export function isServiceError(value: unknown): value is ServiceError {
  return (
    value instanceof Error &&
    'code' in value &&
    typeof value.code === 'number' &&
    'metadata' in value &&
    value.metadata instanceof Metadata
  );
}

function remoteCode(error: ServiceError): string | undefined {
  const [value] = error.metadata.get(ERROR_CODE_METADATA_KEY);
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function internalError(cause: unknown): DomainError {
  return new DomainError({
    code: 'server_error',
    kind: 'internal',
    description: GENERIC_DESCRIPTION,
    expose: false,
    cause,
  });
}

/**
 * Turns a failed gRPC call into the DomainError the caller's code handles. This is the only
 * place the client side reads gRPC statuses (STYLE habit 5).
 *
 * - A dependency that is down, cancelled or out of time (UNAVAILABLE, CANCELLED,
 *   DEADLINE_EXCEEDED) is a DependencyUnavailableError: kind `unavailable`, a 503, never "not
 *   found", whichever side noticed it.
 * - Statuses our servers send carry their wire code in `obip-error-code`; the code and the
 *   (already exposed) description are kept, so `client_not_found` stays `client_not_found`.
 * - Everything else (INTERNAL, UNKNOWN, UNIMPLEMENTED, DATA_LOSS, and a RESOURCE_EXHAUSTED that
 *   the transport raised, e.g. for an oversized message) is an unexposed `server_error`.
 *
 * @example
 * try { await client.call('getClient', { clientId }); }
 * catch (error) { if (error instanceof DomainError && error.kind === 'not_found') ... }
 */
export function fromGrpcError(error: unknown): DomainError {
  if (!isServiceError(error)) return toDomainError(error);
  const code = remoteCode(error);
  // Our servers send details only when exposed; callers keep them, and the error's own class.
  const peer = { ...(code === undefined ? {} : { code }), cause: error };
  const description = error.details;

  switch (error.code) {
    case status.UNAVAILABLE:
    case status.CANCELLED:
    case status.DEADLINE_EXCEEDED:
      // Without our trailer the transport raised it, and its details are not for callers.
      if (code !== undefined) return new DependencyUnavailableError(description, peer);
      return new DependencyUnavailableError(
        error.code === status.DEADLINE_EXCEEDED
          ? 'a dependency did not answer in time'
          : 'a dependency is temporarily unavailable',
        { cause: error },
      );
    case status.NOT_FOUND:
      return new NotFoundError(description, peer);
    case status.INVALID_ARGUMENT:
    case status.OUT_OF_RANGE:
      return new BadRequestError(description, peer);
    case status.UNAUTHENTICATED:
      return new UnauthorizedError(description, peer);
    case status.PERMISSION_DENIED:
      return new ForbiddenError(description, peer);
    case status.ALREADY_EXISTS:
    case status.ABORTED:
      return new ConflictError(description, peer);
    case status.FAILED_PRECONDITION:
      return new PreconditionFailedError(description, peer);
    case status.RESOURCE_EXHAUSTED:
      return code === undefined ? internalError(error) : new TooManyRequestsError(description, peer);
    default:
      return internalError(error);
  }
}
