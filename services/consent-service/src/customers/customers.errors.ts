import { NotFoundError } from '@obip/errors';

/** Stable codes of this domain's errors; tests and callers match on them. */
export const CUSTOMER_ERROR_CODES = {
  /** The same code as a CIBA login hint that matches no customer (ciba.errors.ts). */
  notFound: 'customer_not_found',
} as const;

/** No customer has this subject. NOT_FOUND over gRPC. */
export class UnknownCustomerError extends NotFoundError {
  constructor() {
    super('no customer has this subject', { code: CUSTOMER_ERROR_CODES.notFound });
  }
}
