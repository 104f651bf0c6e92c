import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';

/**
 * Called once per finished response, e.g. to record `http_request_duration_seconds`.
 * `routeTemplate` is the matched route's pattern (`/register/:clientId`) or `'unmatched'`,
 * never the raw path, so label cardinality stays bounded.
 */
export type ResponseObserver = (routeTemplate: string, method: string, status: number, seconds: number) => void;

export const UNMATCHED_ROUTE = 'unmatched';

const templates = new WeakMap<IncomingMessage, string>();

/**
 * Remembers the route template at the moment Express selects a route, by watching the
 * `req.route` assignment: at that moment `req.baseUrl` is the mount path of the router that
 * owns the route. Later, on the way out of the router, Express restores `baseUrl`, which is
 * why it is read here rather than when the response finishes.
 *
 * Mount routers at literal paths (`app.use('/register', router)`): a parameter in a mount path
 * would appear in `baseUrl` with its value. Parameters belong in route paths.
 */
export function captureRouteTemplate(req: IncomingMessage, _res: ServerResponse, next: () => void): void {
  let route: unknown;
  Object.defineProperty(req, 'route', {
    configurable: true,
    enumerable: true,
    get: () => route,
    set: (value: unknown) => {
      route = value;
      const path = (value as { path?: unknown } | undefined)?.path;
      if (path !== undefined) templates.set(req, joinTemplate((req as { baseUrl?: string }).baseUrl ?? '', path));
    },
  });
  next();
}

/**
 * The route template recorded for this request, or `'unmatched'`.
 *
 * @example
 * routeTemplateOf(req); // '/consents/:consentId'
 */
export function routeTemplateOf(req: IncomingMessage): string {
  return templates.get(req) ?? UNMATCHED_ROUTE;
}

function joinTemplate(baseUrl: string, path: unknown): string {
  const routePath = Array.isArray(path) ? path.map(String).join('|') : String(path);
  if (baseUrl === '') return routePath;
  // router.get('/') under '/register' serves '/register'.
  return routePath === '/' ? baseUrl : baseUrl + routePath;
}

/**
 * Times each request and reports it to `observer` when the response finishes. A throwing
 * observer is logged, never allowed to break the response.
 */
export function observeResponses(observer: ResponseObserver) {
  return function timeResponse(req: IncomingMessage, res: ServerResponse, next: () => void): void {
    const started = process.hrtime.bigint();
    res.once('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      try {
        observer(routeTemplateOf(req), req.method ?? 'UNKNOWN', res.statusCode, seconds);
      } catch (error) {
        (req as { log?: Logger }).log?.warn({ err: error }, 'response observer failed');
      }
    });
    next();
  };
}
