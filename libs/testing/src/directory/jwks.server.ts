import { createServer, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

/** A JSON Web Key Set as served: public keys only. */
export interface JsonWebKeySet {
  keys: Array<Record<string, unknown>>;
}

/** What a path answers when it is not a JWKS: for tests of a fetcher's limits. */
export interface RawResponse {
  status?: number;
  headers?: OutgoingHttpHeaders;
  body?: string | Buffer;
  /** Wait this long before answering (a slow or hung peer). */
  delayMs?: number;
}

export interface JwksServer {
  /**
   * `http://127.0.0.1:<port>` (`https://` with {@link StartJwksServerOptions.tls}) — a loopback URL,
   * which production SSRF rules refuse by default.
   */
  readonly url: string;
  readonly port: number;
  /** Publishes `jwks` at `path` (replacing what was there) and returns its absolute URL. */
  publish(path: string, jwks: JsonWebKeySet): string;
  /** Makes `path` answer `response` instead, and returns its absolute URL. */
  respond(path: string, response: RawResponse): string;
  /** How many requests `path` has received. */
  hits(path: string): number;
  stop(): Promise<void>;
}

export interface StartJwksServerOptions {
  /**
   * Serve over TLS, for a consumer that accepts https URLs only: `certPem` is what the server
   * presents (the `chainPem` of `pki.issueServerCertificate({ hostnames: ['127.0.0.1'] })`), and
   * the client must trust its root.
   */
  tls?: { certPem: string; keyPem: string };
  /** Default 0 (any free port); a fixed one keeps published URLs stable across restarts. */
  port?: number;
}

/**
 * Starts a real HTTP server on 127.0.0.1, port 0, that serves JSON Web Key Sets (and, for
 * negative tests, any raw response) by path. Used by the test directory for its own JWKS and
 * each software's `software_jwks_endpoint`, and by tests of JWKS fetchers (slow peers,
 * oversized bodies, redirects).
 *
 * @example
 * const keys = await startJwksServer();
 * const jwksUri = keys.publish('/tpp/jwks', { keys: [signingKey.publicJwk] });
 * after(() => keys.stop());
 */
export async function startJwksServer(options: StartJwksServerOptions = {}): Promise<JwksServer> {
  const routes = new Map<string, RawResponse>();
  const counts = new Map<string, number>();
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    counts.set(path, (counts.get(path) ?? 0) + 1);
    const route = routes.get(path);
    const answer = (): void => {
      if (!route) {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not_found"}');
        return;
      }
      res.writeHead(route.status ?? 200, route.headers ?? {});
      res.end(route.body ?? '');
    };
    if (route?.delayMs) {
      const timer = setTimeout(answer, route.delayMs);
      res.once('close', () => clearTimeout(timer));
    } else answer();
  };
  const server = options.tls
    ? createHttpsServer({ cert: options.tls.certPem, key: options.tls.keyPem }, handle)
    : createServer(handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', resolve);
  });
  const port = (server.address() as AddressInfo).port;
  const url = `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`;

  return {
    url,
    port,
    publish(path, jwks) {
      routes.set(path, {
        headers: { 'content-type': 'application/json', 'cache-control': 'max-age=60' },
        body: JSON.stringify(jwks),
      });
      return `${url}${path}`;
    },
    respond(path, response) {
      routes.set(path, response);
      return `${url}${path}`;
    },
    hits: (path) => counts.get(path) ?? 0,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
