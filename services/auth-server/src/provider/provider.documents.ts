import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type Provider from 'oidc-provider';
import { ENGINE_ROUTES, OIDC_DISCOVERY_PATH } from './provider.routes';

/**
 * How long TPPs, resource servers and the edge may reuse discovery and JWKS without asking again.
 * Short next to config-api's KEY_ACTIVATION_DELAY_SECONDS (a rotated-in key is published an hour
 * before it signs, so every verifier holding a copy at most this old already has it); a live
 * settings change reaches clients within it.
 */
export const ENGINE_DOCUMENT_MAX_AGE_SECONDS = 300;

/** The documents served from the cache: they change only when a new engine is built. */
const CACHED_PATHS: ReadonlySet<string> = new Set([OIDC_DISCOVERY_PATH, ENGINE_ROUTES.jwks]);

const CACHE_CONTROL = `public, max-age=${ENGINE_DOCUMENT_MAX_AGE_SECONDS}`;

interface EngineDocument {
  body: Buffer;
  contentType: string;
  /** Strong: the SHA-256 of the exact bytes, so every replica serving them gives the same tag. */
  etag: string;
}

export interface EngineDocuments {
  /**
   * For a GET or HEAD of discovery or JWKS: answers from the cache of `engine` and returns true,
   * or, when the cache has no copy yet, arranges for the engine's answer to fill it and returns
   * false. Returns false for every other request, untouched.
   */
  answer(engine: Provider, req: IncomingMessage, res: ServerResponse, path: string, origin: URL): boolean;
}

/**
 * Discovery (`/.well-known/openid-configuration`, also served as RFC 8414 metadata) and JWKS
 * (`/jwks`) as the engine renders them, kept per engine: node-oidc-provider builds both on every
 * request (the discovery document and its FAPI completion, then the JSON), and Koa and the engine's
 * middleware run for it, while they only change when live.engine.ts builds a new engine (live
 * settings, signing or cookie keys). A new engine has an empty cache, so a key rotation or a
 * settings change is served from the next request on; a copy is never shared between engines.
 * The key includes the forwarded origin and path, so a document that differed by host would be
 * kept per host.
 *
 * The first GET per engine goes to the engine, whose 200 body is kept; later requests are
 * answered here with the same bytes and headers (content type, CORS as the engine sets them),
 * `Cache-Control: public, max-age=300`, a strong `ETag`, and 304 to a matching `If-None-Match`
 * (RFC 9110 §13.1.2).
 *
 * @example
 * const documents = createEngineDocuments();
 * if (!documents.answer(engine, req, res, path, publicOrigin)) engineCallback(req, res);
 */
export function createEngineDocuments(): EngineDocuments {
  // Weakly held: a replaced engine is released with its copies.
  const byEngine = new WeakMap<Provider, Map<string, EngineDocument>>();

  function remember(engine: Provider, key: string, document: EngineDocument): void {
    let documents = byEngine.get(engine);
    if (!documents) {
      documents = new Map();
      byEngine.set(engine, documents);
    }
    documents.set(key, document);
  }

  return {
    answer(engine, req, res, path, origin) {
      if ((req.method !== 'GET' && req.method !== 'HEAD') || !CACHED_PATHS.has(path)) return false;
      const key = origin.host + path;
      const cached = byEngine.get(engine)?.get(key);
      if (cached) {
        sendDocument(req, res, cached);
        return true;
      }
      if (req.method === 'GET') keepAnswer(res, (document) => remember(engine, key, document));
      return false;
    },
  };
}

function sendDocument(req: IncomingMessage, res: ServerResponse, document: EngineDocument): void {
  // As the engine's CORS middleware answers these routes (lib/shared/cors.js): open to any origin.
  res.setHeader('Access-Control-Allow-Origin', req.headers.origin ?? '*');
  res.setHeader('Vary', 'Origin');
  res.setHeader('Cache-Control', CACHE_CONTROL);
  res.setHeader('ETag', document.etag);
  if (matchesIfNoneMatch(req.headers['if-none-match'], document.etag)) {
    res.statusCode = 304;
    res.end();
    return;
  }
  res.statusCode = 200;
  res.setHeader('Content-Type', document.contentType);
  res.setHeader('Content-Length', document.body.length);
  res.end(req.method === 'HEAD' ? undefined : document.body);
}

/**
 * Keeps the body of the engine's answer on `res` when it is a 200, and marks that answer
 * cacheable too. Koa ends a response with its whole body in one `res.end(body)`, headers unsent.
 */
function keepAnswer(res: ServerResponse, keep: (document: EngineDocument) => void): void {
  const end = res.end;
  res.end = function endAndKeep(this: ServerResponse, ...args: unknown[]) {
    res.end = end;
    const [chunk] = args;
    const contentType = res.getHeader('content-type');
    if (
      res.statusCode === 200 &&
      !res.headersSent &&
      typeof contentType === 'string' &&
      (typeof chunk === 'string' || Buffer.isBuffer(chunk))
    ) {
      const body = Buffer.from(chunk);
      const document = { body, contentType, etag: `"${createHash('sha256').update(body).digest('base64url')}"` };
      keep(document);
      res.setHeader('Cache-Control', CACHE_CONTROL);
      res.setHeader('ETag', document.etag);
    }
    return (end as (...endArgs: unknown[]) => ServerResponse).apply(this, args);
  } as ServerResponse['end'];
}

/**
 * RFC 9110 §13.1.2: `*`, or a list of entity tags compared weakly (a `W/` prefix is ignored).
 *
 * @example
 * matchesIfNoneMatch('W/"a", "b"', '"b"'); // true
 */
export function matchesIfNoneMatch(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return header.split(',').some((candidate) => {
    const tag = candidate.trim();
    return tag === '*' || (tag.startsWith('W/') ? tag.slice(2) : tag) === etag;
  });
}
