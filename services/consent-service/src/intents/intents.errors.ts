import { DomainError, type ErrorKind } from '@obip/errors';

/** One item of the OBIE error envelope (OBErrorResponse1.Errors). */
export interface ObieItem {
  /** An OBIE standard code, e.g. `UK.OBIE.Field.Missing`. */
  ErrorCode: string;
  Message: string;
  /** JSON path of the offending field or the header name. */
  Path?: string;
}

/**
 * A refusal of an OBIE intent request that names its OBIE error items. The 'obie' serialiser of
 * @obip/http reads `details`; declaring it here keeps the rules free of the HTTP lib.
 *
 * @example
 * throw new ObieRequestError('bad_request', [{ ErrorCode: 'UK.OBIE.Field.Missing', Message: 'Risk is required', Path: 'Risk' }]);
 */
export class ObieRequestError extends DomainError {
  readonly details: readonly ObieItem[];

  constructor(
    kind: ErrorKind,
    items: readonly ObieItem[],
    options: { code?: string; headers?: Record<string, string> } = {},
  ) {
    const first = items[0];
    super({
      kind,
      code: options.code ?? first?.ErrorCode ?? 'invalid_request',
      description: items.length === 1 && first ? first.Message : `${items.length} problems with the request`,
      ...(options.headers ? { headers: options.headers } : {}),
    });
    this.details = items;
  }
}
