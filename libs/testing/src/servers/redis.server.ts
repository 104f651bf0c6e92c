import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findOnPath, freePort, spawnServer, waitUntilReady, type ServerProcess } from './server.process';

export interface StartRedisServerOptions {
  /** Port to listen on; a free one by default. */
  port?: number;
  /** Where the log file goes; the server's temp dir by default. */
  logDir?: string;
  /** Start-up budget. Default 10 s. */
  timeoutMs?: number;
  /**
   * Keep the data here across runs (append-only file, kept by `dispose`), as the sandbox does.
   * Default: a temp dir without persistence, deleted by `dispose`.
   */
  dataDir?: string;
}

export interface RedisServer {
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  readonly logFile: string;
  /** Stops the server (it can be started again with `restart`). */
  stop(): Promise<void>;
  /** Starts it again on the same port, e.g. after `stop()` in an outage test. */
  restart(): Promise<void>;
  /** Output of every run so far (most recent 256 KiB of the current run). */
  logs(): string;
  /** Stops the server and deletes its directory. */
  dispose(): Promise<void>;
}

/**
 * Starts a `redis-server` on 127.0.0.1, ready once it answers PING. Throwaway by default: no
 * persistence (`--save ""`, `--appendonly no`), its working directory in a temp dir. With
 * `dataDir`, an append-only file there keeps the data for the next start.
 *
 * @example
 * const redis = await startRedisServer();
 * t.after(() => redis.dispose());
 * await redis.stop(); // /readyz should now say 503
 */
export async function startRedisServer(options: StartRedisServerOptions = {}): Promise<RedisServer> {
  const binary = process.env.REDIS_SERVER_BIN ?? findOnPath('redis-server');
  if (!binary) throw new Error('redis-server not found: install it or set REDIS_SERVER_BIN');
  const port = options.port ?? (await freePort());
  const persistent = options.dataDir !== undefined;
  const dir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'obip-redis-'));
  if (persistent) mkdirSync(dir, { recursive: true });
  const logFile = join(options.logDir ?? dir, `redis-${port}.log`);
  const timeoutMs = options.timeoutMs ?? 10_000;
  const previousLogs: string[] = [];
  let current: ServerProcess | undefined;

  const start = async (): Promise<void> => {
    const server = spawnServer({
      name: `redis-server :${port}`,
      command: binary,
      args: [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        persistent ? 'yes' : 'no',
        '--dir',
        dir,
        // Tests share one machine: no need for the protected-mode warning dance on 127.0.0.1.
        '--protected-mode',
        'no',
      ],
      logFile,
    });
    current = server;
    await waitUntilReady(server, () => answersPing(port), timeoutMs);
  };
  const stop = async (): Promise<void> => {
    if (!current) return;
    const server = current;
    current = undefined;
    await server.stop();
    previousLogs.push(server.logs());
  };

  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    logFile,
    stop,
    async restart() {
      await stop();
      await start();
    },
    logs: () => [...previousLogs, current?.logs() ?? ''].join(''),
    async dispose() {
      await stop();
      if (!persistent) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Sends an inline PING and expects `+PONG`: enough to know the server accepts commands. */
function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    let reply = '';
    const finish = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => finish(false));
    socket.once('error', () => finish(false));
    socket.on('data', (data) => {
      reply += data.toString();
      if (reply.includes('\r\n')) finish(reply.startsWith('+PONG'));
    });
    socket.connect(port, '127.0.0.1', () => socket.write('PING\r\n'));
  });
}
