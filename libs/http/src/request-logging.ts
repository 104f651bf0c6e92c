import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { pinoHttp } from 'pino-http';
import { routeTemplateOf } from './route-template';

/**
 * Request headers whose values never reach the logs: credentials, session cookies, DPoP proofs
 * and every client-certificate header format (ARCHITECTURE: logs never contain tokens, secrets
 * or full certificates). Underscore spellings (`ssl_client_cert`) are matched too.
 */
export const REDACTED_HEADERS: readonly string[] = [
  'authorization',
  'proxy-authorization',
  'cookie',
  'dpop',
  'ssl-client-cert',
  'x-forwarded-client-cert',
  'client-cert',
  'client-cert-chain',
  'x-forwarded-tls-client-cert',
];

export interface RequestLoggingOptions {
  /** More header names to redact, in addition to REDACTED_HEADERS. */
  redactHeaders?: readonly string[];
}

/**
 * pino-http request logging on a child of `logger`: one line per response with method, path
 * (without its query string, which can carry codes and tokens), redacted headers, status,
 * route template and duration. Bodies are never logged. `req.log` carries only the request id.
 * `createHttpApp` installs it; a plain node:http server can use it directly.
 *
 * @example
 * const logRequests = createRequestLogger(logger, { redactHeaders: ['x-api-key'] });
 * http.createServer((req, res) => logRequests(req, res, () => handle(req, res)));
 */
export function createRequestLogger(logger: Logger, options: RequestLoggingOptions = {}) {
  const redacted = new Set([...REDACTED_HEADERS, ...(options.redactHeaders ?? [])].map(canonicalHeaderName));
  return pinoHttp({
    logger,
    quietReqLogger: true,
    wrapSerializers: false,
    serializers: {
      req: (req: IncomingMessage) => serializeRequest(req, redacted),
      res: (res: ServerResponse) => ({ statusCode: res.statusCode }),
    },
    customLogLevel: (_req, res, error) => (error || res.statusCode >= 500 ? 'error' : 'info'),
    customSuccessObject: (req, _res, value: Record<string, unknown>) => ({ ...value, route: routeTemplateOf(req) }),
    customErrorObject: (req, res, error, value: Record<string, unknown>) => {
      // For a plain 5xx pino-http invents an Error with a stack; the error handler has already
      // logged the real one, so the completion line drops the invented one.
      const { err, ...rest } = value;
      const invented = error instanceof Error && error.message === `failed with status code ${res.statusCode}`;
      return { ...rest, ...(invented ? {} : { err }), route: routeTemplateOf(req) };
    },
  });
}

function serializeRequest(req: IncomingMessage, redacted: ReadonlySet<string>) {
  const headers: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    headers[name] = redacted.has(canonicalHeaderName(name)) ? '[Redacted]' : value;
  }
  const url = (req as { originalUrl?: string }).originalUrl ?? req.url ?? '';
  return {
    id: req.id,
    method: req.method,
    path: url.split('?', 1)[0],
    headers,
    remoteAddress: req.socket?.remoteAddress,
    remotePort: req.socket?.remotePort,
  };
}

function canonicalHeaderName(name: string): string {
  return name.toLowerCase().replace(/_/g, '-');
}
