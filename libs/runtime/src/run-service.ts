import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ServiceBaseSettings } from '@obip/config';
import { startOpsServer, type Logger, type ServiceMetrics } from '@obip/observability';

/** A store or peer the service needs: checked by /readyz, closed last on shutdown. */
export interface Dependency {
  name: string;
  check(): Promise<void>;
  close(): Promise<void>;
}

/** What the lifecycle needs from a gRPC server (see `@obip/grpc`). */
export interface GrpcEndpoint {
  listen(host: string, port: number): Promise<number>;
  setServing(serving: boolean): void;
  shutdown(graceMs: number): Promise<void>;
}

export interface RunServiceOptions {
  name: string;
  settings: Pick<
    ServiceBaseSettings,
    'BIND_HOST' | 'HTTP_PORT' | 'GRPC_PORT' | 'OPS_PORT' | 'SHUTDOWN_DELAY_MS' | 'SHUTDOWN_GRACE_MS'
  >;
  logger: Logger;
  metrics: ServiceMetrics;
  dependencies: readonly Dependency[];
  http?: RequestListener;
  grpc?: GrpcEndpoint;
  /**
   * Stops the service's own background work (outboxes, sweeps, subscriptions, peer channels)
   * after requests have drained and before the stores it uses are closed. A failure is logged
   * and the stores close anyway.
   */
  stopBackgroundWork?: () => Promise<void> | void;
  /** Install SIGTERM/SIGINT handlers that drain and exit (default true). */
  handleSignals?: boolean;
  /** How the process ends after a shutdown; tests replace it. */
  exit?: (code: number) => void;
}

export interface RunningService {
  ports: { http?: number; grpc?: number; ops: number };
  /** Drains and closes everything; resolves with the exit code it would use (0 clean, 1 forced). */
  shutdown(reason: string): Promise<number>;
}

/**
 * Starts a service's listeners and owns its shutdown, in the order Kubernetes needs:
 * report not-ready, keep serving for SHUTDOWN_DELAY_MS while endpoints are updated, stop
 * accepting, let in-flight requests and RPCs finish within SHUTDOWN_GRACE_MS, then close the
 * stores. A drain that overruns the grace period is cut and the process exits with status 1.
 */
export async function runService(options: RunServiceOptions): Promise<RunningService> {
  const { settings, logger, dependencies } = options;
  const ops = await startOpsServer({
    host: settings.BIND_HOST,
    port: settings.OPS_PORT,
    registry: options.metrics.registry,
    checks: dependencies,
    logger,
  });

  let draining = false;
  let httpServer: Server | undefined;
  let httpPort: number | undefined;
  if (options.http) {
    const listener = options.http;
    httpServer = createServer((req, res) => {
      // Keep-alive connections would hold the drain open; ask clients to reconnect elsewhere.
      if (draining) res.setHeader('connection', 'close');
      // A response that was already under way when draining began still advertised keep-alive;
      // drop its connection as soon as it is idle so the drain does not wait for client timeouts.
      res.once('finish', () => {
        if (draining) setImmediate(() => httpServer?.closeIdleConnections());
      });
      listener(req, res);
    });
    httpServer.headersTimeout = 20_000;
    httpServer.requestTimeout = 60_000;
    httpPort = await listen(httpServer, settings.BIND_HOST, settings.HTTP_PORT);
  }
  const grpcPort = options.grpc ? await options.grpc.listen(settings.BIND_HOST, settings.GRPC_PORT) : undefined;
  options.grpc?.setServing(true);

  const ports = { http: httpPort, grpc: grpcPort, ops: ops.port };
  logger.info({ ports }, `${options.name} ready`);

  let shuttingDown: Promise<number> | undefined;
  const shutdown = (reason: string): Promise<number> => {
    shuttingDown ??= drain(reason);
    return shuttingDown;
  };

  async function drain(reason: string): Promise<number> {
    const startedAt = Date.now();
    logger.info({ reason, delayMs: settings.SHUTDOWN_DELAY_MS, graceMs: settings.SHUTDOWN_GRACE_MS }, 'shutting down');
    draining = true;
    ops.setDraining();
    options.grpc?.setServing(false);
    await sleep(settings.SHUTDOWN_DELAY_MS);

    const deadline = startedAt + settings.SHUTDOWN_DELAY_MS + settings.SHUTDOWN_GRACE_MS;
    const remaining = () => Math.max(0, deadline - Date.now());
    const httpClosed = httpServer ? closeHttp(httpServer) : Promise.resolve();
    const grpcClosed = options.grpc?.shutdown(remaining()) ?? Promise.resolve();
    const drained = await settlesWithin(Promise.all([httpClosed, grpcClosed]), remaining());
    if (!drained) {
      logger.warn('grace period over: closing the connections still open');
      httpServer?.closeAllConnections();
    }
    try {
      await options.stopBackgroundWork?.();
    } catch (error) {
      logger.warn({ err: error }, 'stopping background work failed');
    }
    for (const dependency of dependencies) {
      await dependency
        .close()
        .catch((error: unknown) => logger.warn({ err: error, dependency: dependency.name }, 'close failed'));
    }
    await ops.close();
    logger.info({ drained, tookMs: Date.now() - startedAt }, 'stopped');
    return drained ? 0 : 1;
  }

  if (options.handleSignals ?? true) {
    const exit = options.exit ?? ((code: number) => process.exit(code));
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      process.once(signal, () => {
        shutdown(signal).then(exit, (error: unknown) => {
          logger.error({ err: error }, 'shutdown failed');
          exit(1);
        });
      });
    }
  }
  return { ports, shutdown };
}

function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeHttp(server: Server): Promise<void> {
  return new Promise((resolve) => {
    // close() stops accepting and drops idle keep-alive sockets; busy ones end after their response.
    server.close(() => resolve());
    server.closeIdleConnections();
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** True when `work` settles within `ms`; the timer is cleared either way so it never holds the process. */
async function settlesWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([work.then(() => true as const), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}
