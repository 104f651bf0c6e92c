import express, { type Express } from 'express';
import type { Logger } from 'pino';
import { createRequestLogger } from './request-logging';
import { requestId } from './request-id';
import { type ResponseObserver, captureRouteTemplate, observeResponses } from './route-template';
import { type SecurityHeaderOptions, securityHeaders } from './security-headers';

export interface HttpAppOptions {
  /** The service's pino logger; the request log lines and `req.log` write to it. */
  logger: Logger;
  /**
   * Express `trust proxy`. Off by default: with it on, `req.ip` and `req.protocol` come from
   * `X-Forwarded-*`, which a client can forge unless the ingress overwrites them. Set it to the
   * ingress's hop count or addresses when a service needs the client address.
   */
  trustProxy?: boolean | number | string | readonly string[];
  /** Called once per finished response with the route template, method, status and duration. */
  onResponse?: ResponseObserver;
  /** Overrides for the security headers set on every response. */
  securityHeaders?: SecurityHeaderOptions;
}

/**
 * An Express 5 app with what every obip HTTP service needs before its routes: request id,
 * route timing, request logging (a fixed set of fields, never a credential) and security
 * headers. Mount routers next, then `notFoundHandler` and `errorHandler` in the router's error
 * format.
 *
 * @example
 * const app = createHttpApp({ logger, onResponse: metrics.observeHttp });
 * app.use('/register', registrationRouter);            // ends with router.use(errorHandler('oauth'))
 * app.use(notFoundHandler('oauth'), errorHandler('oauth'));
 */
export function createHttpApp(options: HttpAppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', options.trustProxy ?? false);
  app.use(requestId());
  app.use(captureRouteTemplate);
  if (options.onResponse) app.use(observeResponses(options.onResponse));
  app.use(createRequestLogger(options.logger));
  app.use(securityHeaders(options.securityHeaders));
  return app;
}
