import { DomainError, type DomainErrorOptions } from './domain-error';

type Options = Omit<DomainErrorOptions, 'kind' | 'code' | 'description'> & { code?: string };

function defineError(name: string, kind: DomainErrorOptions['kind'], defaultCode: string) {
  const ErrorClass = class extends DomainError {
    constructor(description: string, options: Options = {}) {
      super({ ...options, kind, code: options.code ?? defaultCode, description });
    }
  };
  Object.defineProperty(ErrorClass, 'name', { value: name });
  return ErrorClass;
}

/** The request is malformed or breaks a rule. Default code `invalid_request`. */
export const BadRequestError = defineError('BadRequestError', 'bad_request', 'invalid_request');
/** Input failed schema validation. Default code `invalid_request`. */
export const ValidationError = defineError('ValidationError', 'bad_request', 'invalid_request');
/** The caller is not authenticated. Default code `invalid_client`. */
export const UnauthorizedError = defineError('UnauthorizedError', 'unauthorized', 'invalid_client');
/** The caller is authenticated but not allowed. Default code `access_denied`. */
export const ForbiddenError = defineError('ForbiddenError', 'forbidden', 'access_denied');
export const NotFoundError = defineError('NotFoundError', 'not_found', 'not_found');
/** A uniqueness or state conflict, e.g. a duplicate key. */
export const ConflictError = defineError('ConflictError', 'conflict', 'conflict');
export const PreconditionFailedError = defineError(
  'PreconditionFailedError',
  'precondition_failed',
  'precondition_failed',
);
export const TooManyRequestsError = defineError('TooManyRequestsError', 'too_many_requests', 'too_many_requests');
/**
 * A dependency (database, cache, another service) did not answer in time or at all. Always a
 * 503-class failure, never "not found" (STYLE habit 5).
 */
export const DependencyUnavailableError = defineError(
  'DependencyUnavailableError',
  'unavailable',
  'temporarily_unavailable',
);
