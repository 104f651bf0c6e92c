import type { IncomingMessage } from 'node:http';
import type { Request, RequestHandler } from 'express';
import type { RateLimiter } from '@obip/http';
import type { LiveSettings } from '../live/live.settings';
import {
  claimedClientId,
  clientCounterSubject,
  perMinuteLimitOf,
  rateLimitedEndpoint,
  type RateLimitedEndpoint,
} from './ratelimit.rules';

/** The engine refuses larger form bodies (lib/shared/selective_body.js); beyond it nothing is counted. */
const MAX_FORM_BYTES = 56 * 1024;

export interface RateLimitOptions {
  /** The shared limiter (@obip/http): Redis counter, RATE_LIMIT_WINDOW_MS, refusal metric. */
  limiter: RateLimiter;
  /** The limits in force (live settings), read per request. */
  limits(): LiveSettings['rateLimits'];
  /** RFC 8705 `x5t#S256` of the client certificate the edge verified, if any. */
  certificateThumbprint(req: IncomingMessage): string | undefined;
}

/**
 * Express middleware, mounted before the engine: per-client limits on POST /token and POST /par,
 * counted by the shared limiter (@obip/http: Redis, fixed windows shared by every replica). Over
 * the limit the request ends with 429 `too_many_requests`, `Retry-After` (seconds to the next
 * window) and the OAuth error body, before the engine does any work.
 *
 * The engine authenticates the client only after reading the body, and offers no hook between
 * the two, so the client is the one the request claims ({@link claimedClientId}), and the count
 * is keyed by that id together with the certificate the edge verified
 * ({@link clientCounterSubject}): a caller claiming someone else's client_id fills a counter of
 * its own. Requests that then fail authentication still count, against that caller's counter.
 * When Redis does not answer, the request is let through (the limiter fails open; the engine
 * needs Redis anyway and answers for itself).
 *
 * @example
 * app.use(mtls.capture, rateLimitClients({ limiter, limits: () => engine.settings().rateLimits, certificateThumbprint }), engineHandler(...));
 */
export function rateLimitClients(options: RateLimitOptions): RequestHandler {
  const { limiter } = options;

  /** The refusal for this request, if it is over its client's limit. */
  async function refusalOf(req: Request, endpoint: RateLimitedEndpoint): Promise<Error | undefined> {
    const body = await peekBody(req, MAX_FORM_BYTES);
    const clientId = body && claimedClientId(new URLSearchParams(body.toString('utf8')));
    if (!clientId) return undefined;
    return limiter.check({
      endpoint,
      reason: 'client',
      subject: clientCounterSubject(clientId, options.certificateThumbprint(req)),
      perMinute: perMinuteLimitOf(options.limits(), endpoint),
      log: req.log,
    });
  }

  return (req, _res, next) => {
    const endpoint = rateLimitedEndpoint(req.method, req.path);
    if (!endpoint || !req.is('application/x-www-form-urlencoded') || req.headers['content-length'] === '0') {
      next();
      return;
    }
    refusalOf(req, endpoint).then((refusal) => next(refusal), next);
  };
}

/**
 * Reads a request body without consuming it: the bytes are put back (`unshift`) before the
 * stream ends, so the engine reads the body itself, exactly as it would have (and sees a stream,
 * not a pre-parsed body, which it warns about). Undefined when the body exceeds `limit` (also
 * put back: the engine refuses it).
 */
function peekBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const detach = () => {
      settled = true;
      req.off('readable', onReadable);
      req.off('end', onEnd);
      req.off('close', onClose);
      req.off('error', onError);
    };
    const finish = (complete: boolean) => {
      detach();
      const body = Buffer.concat(chunks, size);
      // Synchronously after the last read(): the stream emits 'end' only on a later tick, and
      // only if its buffer is still empty then.
      if (size > 0) req.unshift(body);
      resolve(complete ? body : undefined);
    };
    function onReadable() {
      for (let chunk = req.read() as Buffer | null; chunk !== null; chunk = req.read() as Buffer | null) {
        chunks.push(chunk);
        size += chunk.length;
        if (size > limit) return finish(false);
      }
      // `complete`: the whole message has arrived, so the read() above drained the body.
      if (req.complete) finish(true);
    }
    // An empty chunked body ends without a 'readable' carrying data; a client may also go away.
    const onEnd = () => !settled && finish(true);
    const onClose = () => !settled && finish(false);
    const onError = (error: Error) => {
      detach();
      reject(error);
    };
    req.on('error', onError);
    req.on('end', onEnd);
    req.on('close', onClose);
    req.on('readable', onReadable);
  });
}
