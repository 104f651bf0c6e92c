import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { SAFE_REQUEST_ID } from './request-id';
import { routeTemplateOf } from './route-template';

declare module 'http' {
  interface IncomingMessage {
    /** The request id (`requestId()`), on every log line of the request as `reqId`. */
    id: string;
    /** The service's logger bound to `reqId`, created on first use (`createRequestLogger`). */
    log: Logger;
  }
}

/** Longest User-Agent kept on a log line: enough to name the client, bounded against abuse. */
const USER_AGENT_MAX_LENGTH = 256;

const BASE_LOGGER = Symbol('obip.requestLogging.baseLogger');
const STARTED_AT = Symbol('obip.requestLogging.startedAt');
const LOGGED = Symbol('obip.requestLogging.logged');

type LoggedRequest = IncomingMessage & { [BASE_LOGGER]: Logger; originalUrl?: string };
type LoggedResponse = ServerResponse & { [STARTED_AT]: number; [LOGGED]?: true; req: LoggedRequest };

/**
 * `req.log`, bound to the request id only when a handler first uses it: most requests never log
 * anything but their completion line, and a pino child logger per request was a measurable part
 * of the hot paths (bench/src/discovery/findings.md). One descriptor shared by every request.
 */
const lazyRequestLogger: PropertyDescriptor = {
  configurable: true,
  enumerable: false,
  get(this: LoggedRequest): Logger {
    return pinRequestLogger(this, this[BASE_LOGGER].child({ reqId: this.id }));
  },
  set(this: LoggedRequest, logger: Logger) {
    pinRequestLogger(this, logger);
  },
};

function pinRequestLogger(req: IncomingMessage, logger: Logger): Logger {
  Object.defineProperty(req, 'log', { configurable: true, enumerable: false, writable: true, value: logger });
  return logger;
}

/**
 * Request logging on `logger`: one line per response, with a fixed set of fields and never a
 * header value that could carry a credential, a query string (codes, tokens) or a body:
 *
 * ```json
 * {"level":"info","time":"…","service":"auth-server","reqId":"4f1c…","req":{"method":"GET",
 *  "path":"/jwks","remoteAddress":"10.0.0.7","userAgent":"…","interactionId":"…"},
 *  "res":{"statusCode":200},"route":"/jwks","responseTime":2,"msg":"request completed"}
 * ```
 *
 * `interactionId` is the FAPI `x-fapi-interaction-id` when the client sent a well-formed one;
 * `route` is the matched route template or `unmatched`; `responseTime` is in milliseconds. A 5xx
 * is logged at `error` as "request errored" (the error handler has logged its cause through
 * `req.log`); a connection closed before the response ended is "request aborted". `req.log` is
 * the logger bound to `reqId`, for handlers. `createHttpApp` installs it after `requestId()`; a
 * plain node:http server can use it directly.
 *
 * @example
 * const logRequests = createRequestLogger(logger);
 * http.createServer((req, res) => requestId()(req, res, () => logRequests(req, res, () => handle(req, res))));
 */
export function createRequestLogger(logger: Logger) {
  function onClose(this: LoggedResponse): void {
    logCompletion(logger, this);
  }
  function onError(this: LoggedResponse, error: Error): void {
    logCompletion(logger, this, error);
  }
  return function logRequest(req: IncomingMessage, res: ServerResponse, next: () => void): void {
    (req as LoggedRequest)[BASE_LOGGER] = logger;
    Object.defineProperty(req, 'log', lazyRequestLogger);
    (res as LoggedResponse)[STARTED_AT] = Date.now();
    res.on('close', onClose);
    // Also keeps an 'error' on the response (a write after its end) from becoming uncaught.
    res.on('error', onError);
    next();
  };
}

function logCompletion(logger: Logger, res: LoggedResponse, error?: Error): void {
  if (res[LOGGED]) return;
  res[LOGGED] = true;
  const req = res.req;
  const line = {
    reqId: req.id,
    req: describeRequest(req),
    res: { statusCode: res.statusCode },
    route: routeTemplateOf(req),
    responseTime: Date.now() - res[STARTED_AT],
    ...(error ? { err: error } : {}),
  };
  if (error || res.statusCode >= 500) logger.error(line, 'request errored');
  else logger.info(line, res.writableEnded && !req.readableAborted ? 'request completed' : 'request aborted');
}

function describeRequest(req: LoggedRequest) {
  const url = req.originalUrl ?? req.url ?? '';
  const query = url.indexOf('?');
  const userAgent = req.headers['user-agent'];
  const interactionId = req.headers['x-fapi-interaction-id'];
  return {
    method: req.method,
    path: query === -1 ? url : url.slice(0, query),
    remoteAddress: req.socket?.remoteAddress,
    userAgent: userAgent === undefined ? undefined : userAgent.slice(0, USER_AGENT_MAX_LENGTH),
    interactionId: typeof interactionId === 'string' && SAFE_REQUEST_ID.test(interactionId) ? interactionId : undefined,
  };
}
