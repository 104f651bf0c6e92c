import type { IncomingMessage } from 'node:http';
import type { RequestHandler } from 'express';
import { UnsupportedMediaTypeError } from './http-errors';

const MEDIA_TYPE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+\/[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

export interface MediaType {
  /** `type/subtype`, lower-cased. */
  type: string;
  /** The `charset` parameter, lower-cased, when present. */
  charset: string | undefined;
}

/**
 * The media type and charset of a Content-Type header value (RFC 9110 §8.3.1), or undefined
 * when the value is absent or not a media type.
 *
 * @example
 * mediaTypeOf('Application/JSON; charset=UTF-8'); // { type: 'application/json', charset: 'utf-8' }
 */
export function mediaTypeOf(header: string | undefined): MediaType | undefined {
  if (!header) return undefined;
  const [essence = '', ...parameters] = header.split(';');
  const type = essence.trim().toLowerCase();
  if (!MEDIA_TYPE.test(type)) return undefined;
  let charset: string | undefined;
  for (const parameter of parameters) {
    const match = /^\s*charset\s*=\s*"?([^";\s]*)"?\s*$/i.exec(parameter);
    if (match) charset = match[1]!.toLowerCase();
  }
  return { type, charset };
}

/**
 * Refuses with 415 a request whose Content-Type is not one of `types` (compared on
 * `type/subtype`, case-insensitively; parameters ignored). A request without Content-Type is
 * refused too.
 *
 * @example
 * router.post('/register', requireContentType(['application/jwt']), register);
 */
export function requireContentType(types: readonly string[]): RequestHandler {
  const check = createContentTypeCheck(types);
  return function checkContentType(req, _res, next) {
    try {
      check(req);
      next();
    } catch (error) {
      next(error);
    }
  };
}

/** The check behind `requireContentType`, usable where the body helpers need it inline. */
export function createContentTypeCheck(
  types: readonly string[],
  options: { utf8Only?: boolean } = {},
): (req: IncomingMessage) => MediaType {
  const allowed = types.map((type) => type.trim().toLowerCase());
  if (allowed.length === 0 || !allowed.every((type) => MEDIA_TYPE.test(type))) {
    throw new TypeError(`content types must be type/subtype values, got ${JSON.stringify(types)}`);
  }
  const expected = `Content-Type must be ${allowed.join(' or ')}`;
  return function checkContentType(req) {
    const mediaType = mediaTypeOf(req.headers['content-type']);
    if (!mediaType || !allowed.includes(mediaType.type)) throw new UnsupportedMediaTypeError(expected);
    // RFC 8259 §8.1 (JSON) and the JOSE compact forms are UTF-8 (or its ASCII subset).
    if (options.utf8Only && mediaType.charset !== undefined && mediaType.charset !== 'utf-8') {
      throw new UnsupportedMediaTypeError('the request body must be UTF-8');
    }
    return mediaType;
  };
}
