export { DomainError, isDomainError, toDomainError, type DomainErrorOptions, type ErrorKind } from './domain-error';
export {
  BadRequestError,
  ConflictError,
  DependencyUnavailableError,
  ForbiddenError,
  NotFoundError,
  PreconditionFailedError,
  TooManyRequestsError,
  UnauthorizedError,
  ValidationError,
} from './common-errors';
