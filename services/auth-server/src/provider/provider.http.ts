import type { IncomingMessage, ServerResponse } from 'node:http';
import type Provider from 'oidc-provider';
import type { RequestHandler } from 'express';
import { createEngineDocuments } from './provider.documents';
import { isEngineRoute, isMtlsRoute, OAUTH_METADATA_PATH, OIDC_DISCOVERY_PATH } from './provider.routes';

export interface EngineHandlerOptions {
  /** Origin of the public host (the issuer). */
  publicOrigin: string;
  /** Origin of the mTLS host. */
  mtlsOrigin: string;
}

/**
 * Express middleware that hands the engine's routes to node-oidc-provider and passes every other
 * request on (interactions, then 404 in our error format). `currentEngine` is asked once per
 * request: a request runs to its end on the engine that was current when it arrived, while the
 * next one may already go to a newer engine (live.engine.ts).
 *
 * X-Forwarded-Proto and X-Forwarded-Host are overwritten here, from configuration, with the
 * origin of the host the edge routes the path through (routes.json): the mTLS host for /par,
 * /token, /revoke, /userinfo and /bc-authorize, the public host for the rest. The engine
 * (provider.proxy = true) prints and checks URLs from them, so they never come from a client or
 * depend on the edge's Host handling. X-Forwarded-For is left as the edge set it (ingress-nginx
 * overwrites it); the engine uses the client address for nothing it decides.
 *
 * Discovery and JWKS are answered from a copy kept per engine once the engine has rendered them
 * (provider.documents.ts), with `Cache-Control`, `ETag` and 304.
 *
 * @example
 * app.use(mtls.capture, engineHandler(() => engine.provider(), { publicOrigin, mtlsOrigin }));
 */
export function engineHandler(currentEngine: () => Provider, options: EngineHandlerOptions): RequestHandler {
  // One Koa callback per engine; weakly held, so a replaced engine is released with it.
  const callbacks = new WeakMap<Provider, ReturnType<Provider['callback']>>();
  const callbackOf = (provider: Provider) => {
    let callback = callbacks.get(provider);
    if (!callback) {
      callback = provider.callback();
      callbacks.set(provider, callback);
    }
    return callback;
  };
  const publicOrigin = new URL(options.publicOrigin);
  const mtlsOrigin = new URL(options.mtlsOrigin);
  const documents = createEngineDocuments();

  return (req, res, next) => {
    let path = req.path;
    // RFC 8414 §3: the same metadata under the OAuth well-known name (FAPI 2.0 SP 5.3.2.1-1).
    if (path === OAUTH_METADATA_PATH && (req.method === 'GET' || req.method === 'HEAD')) {
      req.url = OIDC_DISCOVERY_PATH;
      path = OIDC_DISCOVERY_PATH;
    }
    if (!isEngineRoute(path)) return next();
    const origin = isMtlsRoute(path) ? mtlsOrigin : publicOrigin;
    const engine = currentEngine();
    if (documents.answer(engine, req, res, path, origin)) return;
    req.headers['x-forwarded-proto'] = origin.protocol.replace(/:$/, '');
    req.headers['x-forwarded-host'] = origin.host;
    callbackOf(engine)(req as IncomingMessage, res as ServerResponse);
  };
}
