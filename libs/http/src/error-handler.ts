import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import { DomainError, type ErrorKind, NotFoundError } from '@obip/errors';
import { HttpStatusError, InvalidFieldsError, type ObieErrorItem, toHttpDomainError } from './http-errors';

/**
 * The wire shape of errors, chosen per router:
 * - `oauth`: `{error, error_description}` (RFC 6749 §5.2, RFC 6750 §3) for OAuth/OIDC endpoints;
 * - `obie`: the OBIE envelope `{Code, Id, Message, Errors[]}` for Open Banking APIs;
 * - `problem`: RFC 9457 `application/problem+json` for config-api.
 */
export type ErrorFormat = 'oauth' | 'obie' | 'problem';

/**
 * The one mapping from error kind to HTTP status. A timeout towards a dependency is a 503,
 * never a 404 (STYLE habit 5).
 *
 * @example
 * statusForKind('precondition_failed'); // 412
 */
export function statusForKind(kind: ErrorKind): number {
  switch (kind) {
    case 'bad_request':
      return 400;
    case 'unauthorized':
      return 401;
    case 'forbidden':
      return 403;
    case 'not_found':
      return 404;
    case 'conflict':
      return 409;
    case 'precondition_failed':
      return 412;
    case 'too_many_requests':
      return 429;
    case 'unavailable':
    case 'deadline_exceeded':
      return 503;
    case 'internal':
      return 500;
  }
}

/**
 * The error serialiser: mount it last on a router (and once more on the app for errors that
 * no router caught). It decides exposure in one place: an exposed DomainError is answered with
 * its code, description, status and headers (`WWW-Authenticate`, `Retry-After`); anything else
 * becomes a 500 `server_error` with generic text, and the real error and its cause are logged
 * through `req.log`. Error responses are never cacheable.
 *
 * @example
 * const router = express.Router();
 * router.post('/token', formBody({ limit: '16kb' }), token);
 * router.use(errorHandler('oauth'));
 */
export function errorHandler(format: ErrorFormat): ErrorRequestHandler {
  const serialise = SERIALISERS[format];
  return function handleError(error: unknown, req, res, next) {
    // Headers already went out: only Express's default handler can end the response (it
    // closes the connection).
    if (res.headersSent) {
      next(error);
      return;
    }
    sendError(req, res, toHttpDomainError(error), serialise);
  };
}

/**
 * Answers every request that reached it with a 404 in the router's format. Mount it after the
 * routes and before `errorHandler`.
 *
 * @example
 * app.use(notFoundHandler('problem'), errorHandler('problem'));
 */
export function notFoundHandler(format: ErrorFormat): RequestHandler {
  const serialise = SERIALISERS[format];
  return function handleNotFound(req, res) {
    sendError(req, res, new NotFoundError('no resource exists at this path'), serialise);
  };
}

// ---- one exposure decision ----

const SERVER_ERROR = new DomainError({
  code: 'server_error',
  kind: 'internal',
  description: 'the server encountered an unexpected error',
  expose: false,
});

interface Serialised {
  contentType: string;
  body: unknown;
}

type Serialiser = (error: DomainError, status: number, req: Request) => Serialised;

function sendError(req: Request, res: Response, error: DomainError, serialise: Serialiser): void {
  const shown = error.expose ? error : SERVER_ERROR;
  const status = error.expose ? httpStatusOf(error) : 500;
  logError(req, error, status);
  if (error.expose) setErrorHeaders(req, res, error.headers);
  res.setHeader('Cache-Control', 'no-store');
  const { contentType, body } = serialise(shown, status, req);
  res.status(status).type(contentType).send(JSON.stringify(body));
}

function httpStatusOf(error: DomainError): number {
  return error instanceof HttpStatusError ? error.status : statusForKind(error.kind);
}

function setErrorHeaders(req: Request, res: Response, headers: Readonly<Record<string, string>>): void {
  for (const [name, value] of Object.entries(headers)) {
    try {
      res.setHeader(name, value);
    } catch (cause) {
      // A header value with CR/LF or other invalid characters: drop it rather than fail the
      // error response itself.
      loggerOf(req)?.warn({ err: cause, header: name }, 'dropped an invalid error response header');
    }
  }
}

function logError(req: Request, error: DomainError, status: number): void {
  const log = loggerOf(req);
  if (!log) return;
  if (!error.expose) log.error({ err: error }, 'unexpected error');
  else if (status >= 500) log.warn({ err: error, code: error.code, status }, 'request failed');
  else log.info({ code: error.code, status }, 'request rejected');
}

function loggerOf(req: Request): Logger | undefined {
  return (req as { log?: Logger }).log;
}

// ---- the three wire formats ----

const SERIALISERS: Record<ErrorFormat, Serialiser> = {
  oauth: serialiseOauth,
  obie: serialiseObie,
  problem: serialiseProblem,
};

/** RFC 6749 §5.2: `{error, error_description}` as application/json. */
function serialiseOauth(error: DomainError): Serialised {
  return {
    contentType: 'application/json',
    body: { error: oauthText(error.code), error_description: oauthText(error.description) },
  };
}

/**
 * RFC 6749 §5.2: `error` and `error_description` MUST NOT include characters outside
 * %x20-21 / %x23-5B / %x5D-7E. A double quote becomes a single quote, anything else a `?`.
 */
function oauthText(text: string): string {
  return text.replace(/[^\x20\x21\x23-\x5B\x5D-\x7E]/g, (ch) => (ch === '"' ? "'" : '?'));
}

/** RFC 9457 §3: problem details; `type` about:blank means "the status says it all" (§4.2.1). */
function serialiseProblem(error: DomainError, status: number): Serialised {
  return {
    contentType: 'application/problem+json',
    body: {
      type: 'about:blank',
      title: STATUS_CODES[status] ?? 'Error',
      status,
      detail: error.description,
      code: error.code,
      ...(error instanceof InvalidFieldsError ? { errors: error.fields } : {}),
    },
  };
}

/**
 * The OBIE error envelope (Read/Write API, OBErrorResponse1): `Code` is the status and its
 * reason, `Id` the request id (Max40Text, so a longer id gives way to a fresh UUID), `Errors`
 * the items the error carries in `details`, or one item with a default code for its kind.
 */
function serialiseObie(error: DomainError, status: number, req: Request): Serialised {
  const message = truncate(error.description, 500);
  const reason = (STATUS_CODES[status] ?? 'Error').replace(/ /g, '');
  const requestId = (req as { id?: unknown }).id;
  return {
    contentType: 'application/json',
    body: {
      Code: `${status} ${reason}`,
      Id: typeof requestId === 'string' && requestId.length <= 40 ? requestId : randomUUID(),
      Message: message,
      Errors: obieItemsOf(error) ?? [{ ErrorCode: OBIE_ERROR_CODES[error.kind], Message: message }],
    },
  };
}

/**
 * The closest OBIE standard error code for each kind. A domain that knows better (a missing
 * field, a bad signature) names its items through `details`.
 */
const OBIE_ERROR_CODES: Record<ErrorKind, string> = {
  bad_request: 'UK.OBIE.Field.Invalid',
  unauthorized: 'UK.OBIE.Header.Invalid',
  forbidden: 'UK.OBIE.Resource.ConsentMismatch',
  not_found: 'UK.OBIE.Resource.NotFound',
  conflict: 'UK.OBIE.Resource.InvalidConsentStatus',
  precondition_failed: 'UK.OBIE.Header.Invalid',
  too_many_requests: 'UK.OBIE.UnexpectedError',
  unavailable: 'UK.OBIE.UnexpectedError',
  deadline_exceeded: 'UK.OBIE.UnexpectedError',
  internal: 'UK.OBIE.UnexpectedError',
};

function obieItemsOf(error: DomainError): ObieErrorItem[] | undefined {
  const details = (error as { details?: unknown }).details;
  if (!Array.isArray(details) || details.length === 0 || !details.every(isObieErrorItem)) return undefined;
  return details.map((item) => ({
    ErrorCode: item.ErrorCode,
    Message: truncate(item.Message, 500),
    ...(item.Path === undefined ? {} : { Path: item.Path }),
    ...(item.Url === undefined ? {} : { Url: item.Url }),
  }));
}

function isObieErrorItem(value: unknown): value is ObieErrorItem {
  if (typeof value !== 'object' || value === null) return false;
  const item = value as Record<string, unknown>;
  return (
    typeof item.ErrorCode === 'string' &&
    typeof item.Message === 'string' &&
    (item.Path === undefined || typeof item.Path === 'string') &&
    (item.Url === undefined || typeof item.Url === 'string')
  );
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
