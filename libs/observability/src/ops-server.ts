import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from 'pino';

/** A real dependency check: resolves when the dependency answers, throws when it does not. */
export interface ReadinessCheck {
  name: string;
  check(): Promise<void>;
}

export interface OpsServer {
  port: number;
  /** From now on /readyz answers 503 `draining`, so the load balancer stops routing here. */
  setDraining(): void;
  close(): Promise<void>;
}

const CHECK_TIMEOUT_MS = 2_000;

/**
 * The ops listener: `/livez`, `/readyz` and `/metrics` on their own port, which the ingress never
 * routes. Readiness runs every check concurrently with a timeout and names the ones that failed.
 */
export async function startOpsServer(options: {
  host: string;
  port: number;
  registry: Registry;
  checks: readonly ReadinessCheck[];
  logger: Logger;
}): Promise<OpsServer> {
  let draining = false;
  const { registry, checks, logger } = options;

  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, body: unknown, type = 'application/json') => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(typeof body === 'string' ? body : JSON.stringify(body));
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, { error: 'method_not_allowed' });
    if (path === '/livez') return send(200, { status: 'ok' });
    if (path === '/metrics') {
      registry.metrics().then(
        (text) => send(200, text, registry.contentType),
        (error: unknown) => {
          logger.error({ err: error }, 'metrics collection failed');
          send(500, { error: 'server_error' });
        },
      );
      return;
    }
    if (path === '/readyz') {
      if (draining) return send(503, { status: 'draining', failed: [], checks: {} });
      runChecks(checks).then((result) => {
        if (result.failed.length > 0) logger.warn({ failed: result.failed }, 'not ready');
        send(result.failed.length === 0 ? 200 : 503, result);
      });
      return;
    }
    send(404, { error: 'not_found' });
  });
  server.keepAliveTimeout = 5_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    setDraining: () => {
      draining = true;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function runChecks(checks: readonly ReadinessCheck[]) {
  const outcomes = await Promise.all(
    checks.map(async ({ name, check }) => {
      try {
        await withTimeout(check(), CHECK_TIMEOUT_MS);
        return [name, 'up'] as const;
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        return [name, `down: ${reason.slice(0, 200)}`] as const;
      }
    }),
  );
  return {
    status: outcomes.every(([, state]) => state === 'up') ? 'ready' : 'not_ready',
    failed: outcomes.filter(([, state]) => state !== 'up').map(([name]) => name),
    checks: Object.fromEntries(outcomes),
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
