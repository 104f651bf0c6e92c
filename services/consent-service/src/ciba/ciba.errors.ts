import { BadRequestError, NotFoundError, PreconditionFailedError } from '@obip/errors';

/** Stable codes of this domain's errors; tests, the portal and the sandbox API match on them. */
export const CIBA_ERROR_CODES = {
  notFound: 'authentication_not_found',
  expired: 'authentication_expired',
  alreadyDecided: 'authentication_already_decided',
  intentInvalid: 'authentication_intent_invalid',
  customerNotFound: 'customer_not_found',
  invalidRequest: 'invalid_request',
} as const;

/**
 * The request does not exist, or is another customer's: both give the same answer, so that a
 * customer cannot learn that someone else has a request pending.
 */
export class AuthenticationNotFoundError extends NotFoundError {
  constructor() {
    super('no decoupled authentication request with this id is waiting for you', { code: CIBA_ERROR_CODES.notFound });
  }
}

/** The request passed its expiry before a decision: it can no longer be decided. FAILED_PRECONDITION. */
export class AuthenticationExpiredError extends PreconditionFailedError {
  constructor() {
    super('this authentication request has expired and can no longer be decided', {
      code: CIBA_ERROR_CODES.expired,
    });
  }
}

/** Another decision was already recorded; a decision is never changed. FAILED_PRECONDITION. */
export class AuthenticationDecidedError extends PreconditionFailedError {
  constructor(status: string) {
    super(`this authentication request was already ${status.toLowerCase()}; the decision cannot change`, {
      code: CIBA_ERROR_CODES.alreadyDecided,
    });
  }
}

/**
 * The request names an intent that does not exist (any more) or that another client created: it
 * cannot be approved, only denied. FAILED_PRECONDITION.
 */
export class AuthenticationIntentError extends PreconditionFailedError {
  constructor() {
    super('the intent this request names is not one its client created', { code: CIBA_ERROR_CODES.intentInvalid });
  }
}

/** No customer matches the login hint or subject. NOT_FOUND. */
export class CustomerNotFoundError extends NotFoundError {
  constructor() {
    super('no customer matches this login hint', { code: CIBA_ERROR_CODES.customerNotFound });
  }
}

/** A request to this domain is malformed (a missing field, an out-of-bounds value). INVALID_ARGUMENT. */
export class CibaRequestError extends BadRequestError {
  constructor(description: string) {
    super(description, { code: CIBA_ERROR_CODES.invalidRequest });
  }
}
