import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * Incoming ids we keep: what ingress-nginx (`$req_id`, 32 hex), Envoy (UUID) and tracing
 * systems send. Anything else (longer, other characters, a repeated header that Node joined
 * with ", ") is replaced, so the id is always safe to log and echo. The request log keeps an
 * `x-fapi-interaction-id` only when it has this shape too.
 */
export const SAFE_REQUEST_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

export const REQUEST_ID_HEADER = 'x-request-id';

/**
 * Sets `req.id` from a safe incoming `X-Request-Id`, or a fresh UUID, and echoes it in the
 * response's `X-Request-Id`. Works on plain node:http as well as Express.
 *
 * @example
 * app.use(requestId());
 */
export function requestId() {
  return function assignRequestId(req: IncomingMessage, res: ServerResponse, next: () => void): void {
    const incoming = req.headers[REQUEST_ID_HEADER];
    const id = typeof incoming === 'string' && SAFE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
    req.id = id;
    res.setHeader('X-Request-Id', id);
    next();
  };
}
