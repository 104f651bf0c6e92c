import type { IncomingMessage } from 'node:http';
import express, { type RequestHandler } from 'express';
import { BadRequestError } from '@obip/errors';
import { createContentTypeCheck } from './content-type';
import { toHttpDomainError } from './http-errors';

export interface BodyOptions {
  /** Largest accepted body, in bytes or as `'64kb'`; a larger one gets 413. */
  limit: number | string;
  /** Accepted media types; anything else (or none) gets 415. */
  types?: readonly string[];
}

export interface FormBodyOptions extends BodyOptions {
  /** Most parameters accepted; more gets 400. Default 100. */
  parameterLimit?: number;
}

/**
 * Reads a JSON body (an object or an array) into `req.body`. 415 for another media type, a
 * charset other than UTF-8 or any Content-Encoding; 413 past `limit`; 400 `invalid_request`
 * for an empty body, invalid UTF-8 or malformed JSON.
 *
 * @example
 * router.post('/account-access-consents', jsonBody({ limit: '64kb' }), createConsent);
 */
export function jsonBody(options: BodyOptions): RequestHandler {
  return createBodyReader(options, ['application/json'], parseJson);
}

/**
 * Reads an `application/x-www-form-urlencoded` body into `req.body` as a null-prototype
 * `Record<string, string>`. A repeated parameter is refused: RFC 6749 §3.1 says request
 * parameters MUST NOT be included more than once.
 *
 * @example
 * router.post('/introspect', formBody({ limit: '16kb' }), introspect);
 */
export function formBody(options: FormBodyOptions): RequestHandler {
  const parameterLimit = options.parameterLimit ?? 100;
  return createBodyReader(options, ['application/x-www-form-urlencoded'], (bytes) => parseForm(bytes, parameterLimit));
}

/**
 * Reads a compact JWS or JWE (RFC 7515 §7.1, RFC 7516 §7.1) into `req.body` as a string, with
 * surrounding whitespace removed. Default types `application/jose` and `application/jwt`
 * (e.g. an OBIE DCR request). Anything that is not three or five base64url parts gets 400.
 *
 * @example
 * router.post('/register', rawJoseBody({ limit: '32kb' }), register);
 */
export function rawJoseBody(options: BodyOptions): RequestHandler {
  return createBodyReader(options, ['application/jose', 'application/jwt'], parseCompactJose);
}

function createBodyReader(
  options: BodyOptions,
  defaultTypes: readonly string[],
  parse: (bytes: Buffer) => unknown,
): RequestHandler {
  const checkContentType = createContentTypeCheck(options.types ?? defaultTypes, { utf8Only: true });
  // inflate: false — a compressed body would make `limit` count inflated bytes; refuse it (415).
  const readRaw = express.raw({ type: () => true, limit: options.limit, inflate: false });
  return function readBody(req, res, next) {
    try {
      checkContentType(req);
    } catch (error) {
      next(error);
      return;
    }
    readRaw(req, res, (error?: unknown) => {
      if (error) {
        next(toHttpDomainError(error));
        return;
      }
      try {
        req.body = parse(bodyBytesOf(req));
        next();
      } catch (parseError) {
        next(parseError);
      }
    });
  };
}

function bodyBytesOf(req: IncomingMessage & { body?: unknown }): Buffer {
  return Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decodeUtf8(bytes: Buffer): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new BadRequestError('the request body is not valid UTF-8');
  }
}

function parseJson(bytes: Buffer): unknown {
  if (bytes.length === 0) throw new BadRequestError('a JSON request body is required');
  let value: unknown;
  try {
    value = JSON.parse(decodeUtf8(bytes));
  } catch (error) {
    if (error instanceof SyntaxError) throw new BadRequestError('the request body is not valid JSON');
    throw error;
  }
  if (typeof value !== 'object' || value === null) {
    throw new BadRequestError('the JSON request body must be an object or an array');
  }
  return value;
}

function parseForm(bytes: Buffer, parameterLimit: number): Record<string, string> {
  const form: Record<string, string> = Object.create(null) as Record<string, string>;
  let count = 0;
  for (const [name, value] of new URLSearchParams(decodeUtf8(bytes))) {
    if (++count > parameterLimit) throw new BadRequestError(`the form has more than ${parameterLimit} parameters`);
    if (Object.hasOwn(form, name)) throw new BadRequestError(`the parameter '${name}' is repeated`);
    form[name] = value;
  }
  return form;
}

/** Three (JWS) or five (JWE) base64url segments separated by dots. */
const COMPACT_JOSE = /^[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]*){2}(?:(?:\.[A-Za-z0-9_-]*){2})?$/;

function parseCompactJose(bytes: Buffer): string {
  const text = decodeUtf8(bytes).trim();
  if (!COMPACT_JOSE.test(text) || text.replace(/\./g, '') === '') {
    throw new BadRequestError('the request body must be a compact JWS or JWE');
  }
  return text;
}
