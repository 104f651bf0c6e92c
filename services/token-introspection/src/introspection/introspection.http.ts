// POST /introspect on plain node:http: the platform's hot path (issue 6) skips Express and its
// middleware stack. Every other path goes to the Express app (openapi.json, the OAuth 404).
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { BadRequestError, toDomainError, type DomainError } from '@obip/errors';
import {
  HttpStatusError,
  PayloadTooLargeError,
  requestId,
  securityHeaders,
  statusForKind,
  UnsupportedMediaTypeError,
  type ClientCertificateReader,
  type ResponseObserver,
} from '@obip/http';
import type { Logger } from '@obip/observability';
import { INVALID_CLIENT_CHALLENGE, type CallerAuthenticator, type Caller } from '../callers/callers.service';
import type { IntrospectionService } from './introspection.service';
import { SIGNED_RESPONSE_MEDIA_TYPE, type ResponseSigner } from './introspection.signing';

export const INTROSPECTION_PATH = '/introspect';
/** A form with a token and a client assertion fits in a few KiB. */
export const MAX_BODY_BYTES = 16 * 1024;

export interface IntrospectionListenerOptions {
  introspection: IntrospectionService;
  callers: CallerAuthenticator;
  readCertificate: ClientCertificateReader;
  /** RFC 9701 signer; without one a request for a signed response is answered 406. */
  signer?: ResponseSigner;
  /** Serves every other path (the Express app). */
  fallback: RequestListener;
  logger: Logger;
  onResponse?: ResponseObserver;
  /**
   * Rate limits (compose.ts, over @obip/http's limiter): each returns the 429 refusal of a
   * request over its limit. `address` runs before the body is read, `caller` once the caller is
   * authenticated.
   */
  rateLimits?: {
    address(req: IncomingMessage): Promise<DomainError | undefined>;
    caller(req: IncomingMessage, clientId: string): Promise<DomainError | undefined>;
  };
}

interface IntrospectionForm {
  token: string;
  tokenTypeHint?: string;
  clientId?: string;
  clientAssertionType?: string;
  clientAssertion?: string;
}

const noop = () => undefined;
const assignRequestId = requestId();
const setSecurityHeaders = securityHeaders({ strictTransportSecurity: false });

/**
 * The node:http listener of the service: POST /introspect is handled here in six steps (read
 * the form, read the edge certificate, authenticate the caller, choose the response format,
 * introspect, respond); anything else is handed to `fallback`.
 *
 * @example
 * await runService({ ..., http: createIntrospectionListener({ introspection, callers, readCertificate, fallback: app, logger }) });
 */
export function createIntrospectionListener(options: IntrospectionListenerOptions): RequestListener {
  const { introspection, callers, readCertificate, signer, logger, rateLimits } = options;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'POST') throw methodNotAllowed();
    if (rateLimits) await refuseOverLimit(rateLimits.address(req));
    const form = parseForm(await readFormBody(req));
    const caller = await callers.authenticate({
      clientId: form.clientId,
      clientAssertionType: form.clientAssertionType,
      clientAssertion: form.clientAssertion,
      certificate: readCertificate(req),
    });
    if (rateLimits) await refuseOverLimit(rateLimits.caller(req, caller.clientId));
    const signedWith = chooseSignedResponse(req, caller, signer);
    const response = await introspection.introspect({ token: form.token, tokenTypeHint: form.tokenTypeHint });
    if (signedWith === undefined) {
      send(res, 200, 'application/json; charset=utf-8', JSON.stringify(response));
    } else {
      const jwt = await signer!.sign({ audience: caller.clientId, response, alg: signedWith || undefined });
      send(res, 200, SIGNED_RESPONSE_MEDIA_TYPE, jwt);
    }
  }

  return function introspectionListener(req, res) {
    const url = req.url ?? '/';
    const queryAt = url.indexOf('?');
    if ((queryAt === -1 ? url : url.slice(0, queryAt)) !== INTROSPECTION_PATH) {
      options.fallback(req, res);
      return;
    }
    const startedAt = performance.now();
    if (options.onResponse) {
      const observe = options.onResponse;
      res.once('finish', () =>
        observe(INTROSPECTION_PATH, req.method ?? 'POST', res.statusCode, (performance.now() - startedAt) / 1000),
      );
    }
    assignRequestId(req, res, noop);
    setSecurityHeaders(req, res, noop);
    handle(req, res).catch((error: unknown) => sendError(req, res, error, logger));
  };
}

// ---- steps ----

async function refuseOverLimit(refusal: Promise<DomainError | undefined>): Promise<void> {
  const refused = await refusal;
  if (refused) throw refused;
}

function methodNotAllowed(): DomainError {
  return new HttpStatusError(405, {
    kind: 'bad_request',
    code: 'invalid_request',
    description: 'the introspection endpoint accepts POST only',
    headers: { Allow: 'POST' },
  });
}

/** RFC 7662 §2.1: an application/x-www-form-urlencoded body (UTF-8), read up to MAX_BODY_BYTES. */
function readFormBody(req: IncomingMessage): Promise<string> {
  const contentType = req.headers['content-type'] ?? '';
  const [mediaType, ...parameters] = contentType.split(';').map((part) => part.trim().toLowerCase());
  if (mediaType !== 'application/x-www-form-urlencoded')
    return Promise.reject(new UnsupportedMediaTypeError('Content-Type must be application/x-www-form-urlencoded'));
  if (parameters.some((parameter) => parameter.startsWith('charset=') && !/^charset="?utf-8"?$/.test(parameter)))
    return Promise.reject(new UnsupportedMediaTypeError('the form must be UTF-8'));
  const encoding = req.headers['content-encoding'];
  if (encoding !== undefined && encoding.toLowerCase() !== 'identity')
    return Promise.reject(new UnsupportedMediaTypeError('Content-Encoding is not supported'));
  if (Number(req.headers['content-length'] ?? 0) > MAX_BODY_BYTES) return Promise.reject(new PayloadTooLargeError());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        req.removeAllListeners('data');
        req.resume();
        reject(new PayloadTooLargeError());
      } else chunks.push(chunk);
    });
    req.once('end', () =>
      resolve(chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8')),
    );
    req.once('error', reject);
  });
}

/** RFC 6749 §3.2 / RFC 7662 §2.1: parameters sent more than once are refused; `token` is required. */
function parseForm(body: string): IntrospectionForm {
  const params = new URLSearchParams(body);
  const seen = new Set<string>();
  for (const name of params.keys()) {
    if (seen.has(name)) throw new BadRequestError(`the ${name} parameter is repeated`);
    seen.add(name);
  }
  const get = (name: string): string | undefined => {
    const value = params.get(name);
    return value === null || value === '' ? undefined : value;
  };
  const token = get('token');
  if (token === undefined) throw new BadRequestError('the token parameter is required');
  return {
    token,
    tokenTypeHint: get('token_type_hint'),
    clientId: get('client_id'),
    clientAssertionType: get('client_assertion_type'),
    clientAssertion: get('client_assertion'),
  };
}

/**
 * RFC 9701 §4: `Accept: application/token-introspection+jwt` asks for a signed response.
 * Returns undefined for plain JSON, '' for the signer's default algorithm, or the algorithm the
 * caller registered (`introspection_signed_response_alg`, RFC 9701 §6). A signed response that
 * cannot be produced is a 406: no keys configured, no key for the registered algorithm, or an
 * encrypted response registered (not supported).
 */
function chooseSignedResponse(
  req: IncomingMessage,
  caller: Caller,
  signer: ResponseSigner | undefined,
): string | undefined {
  const accept = req.headers.accept;
  if (accept === undefined || !acceptsSignedResponse(accept)) return undefined;
  if (!signer) throw notAcceptable('signed introspection responses are not configured on this server');
  if (caller.metadata.introspection_encrypted_response_alg !== undefined)
    throw notAcceptable('encrypted introspection responses are not supported');
  const registered = caller.metadata.introspection_signed_response_alg;
  if (registered === undefined) return '';
  if (typeof registered !== 'string' || !signer.algorithms.includes(registered as never))
    throw notAcceptable('no signing key for the registered introspection_signed_response_alg');
  return registered;
}

function acceptsSignedResponse(accept: string): boolean {
  return accept
    .split(',')
    .some(
      (range) =>
        range.split(';')[0]!.trim().toLowerCase() === SIGNED_RESPONSE_MEDIA_TYPE &&
        !/;\s*q=0(\.0*)?\s*(;|$)/.test(range),
    );
}

function notAcceptable(description: string): DomainError {
  return new HttpStatusError(406, { kind: 'bad_request', code: 'invalid_request', description });
}

// ---- responses: one serialiser, the same exposure rule as @obip/http's errorHandler('oauth') ----

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, {
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
  });
  res.end(body);
}

function sendError(req: IncomingMessage, res: ServerResponse, thrown: unknown, logger: Logger): void {
  const error = toDomainError(thrown);
  const status = error.expose ? (error instanceof HttpStatusError ? error.status : statusForKind(error.kind)) : 500;
  if (!error.expose) logger.error({ err: error, requestId: req.id }, 'unexpected error');
  else if (status >= 500) logger.warn({ err: error, code: error.code, status, requestId: req.id }, 'request failed');
  else logger.info({ code: error.code, status, requestId: req.id }, 'request rejected');
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (error.expose) {
    for (const [name, value] of Object.entries(error.headers)) res.setHeader(name, value);
    // RFC 6749 §5.2: every invalid_client answer carries a challenge, the edge-certificate reader's included.
    if (status === 401 && !res.hasHeader('WWW-Authenticate'))
      res.setHeader('WWW-Authenticate', INVALID_CLIENT_CHALLENGE);
    if (status === 503) res.setHeader('Retry-After', '1');
  }
  // A body we stopped reading would be parsed as the next request: close the connection.
  if (status === 413) res.setHeader('Connection', 'close');
  const body = error.expose
    ? { error: oauthText(error.code), error_description: oauthText(error.description) }
    : { error: 'server_error', error_description: 'the server encountered an unexpected error' };
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(body));
}

/** RFC 6749 §5.2: error and error_description use %x20-21 / %x23-5B / %x5D-7E only. */
function oauthText(text: string): string {
  return text.replace(/[^\x20\x21\x23-\x5B\x5D-\x7E]/g, (ch) => (ch === '"' ? "'" : '?'));
}
