import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { delimiter, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { finished } from 'node:stream';

/** A server process spawned for tests, with its output captured. */
export interface ServerProcess {
  readonly name: string;
  readonly pid: number;
  /** Everything the process wrote (stdout and stderr), most recent 256 KiB. */
  logs(): string;
  /** Resolves once the process has exited. */
  readonly exited: Promise<void>;
  /** SIGTERM, then SIGKILL after `graceMs`. Resolves once the process has exited. */
  stop(graceMs?: number): Promise<void>;
}

const LOG_LIMIT = 256 * 1024;
const live = new Set<ChildProcess>();
let cleanupInstalled = false;

/**
 * Kills every live server synchronously. Runs on `exit` (the only work Node allows there is
 * synchronous) and on SIGINT/SIGTERM, so a failed or interrupted run leaves nothing behind.
 */
function killAll(): void {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  live.clear();
}

function installCleanup(): void {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  process.on('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    const onSignal = (): void => {
      // A program that handles the signal itself (the sandbox) stops its servers gracefully —
      // Redis and the database keep their data, nginx takes its workers down; the exit hook
      // still kills whatever it leaves running.
      if (process.listenerCount(signal) > 1) return;
      killAll();
      process.off(signal, onSignal);
      // Keep the default behaviour (terminate).
      process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

/** Finds an executable on PATH, or undefined. */
export function findOnPath(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, command);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

export function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

// `setpriv --pdeathsig` asks the kernel to SIGKILL the server when this process dies, even by
// SIGKILL, where no exit handler runs. Without setpriv the exit handlers above still apply.
const setpriv = findOnPath('setpriv');

export interface SpawnServerOptions {
  name: string;
  command: string;
  args: string[];
  cwd?: string;
  /** File that receives the process output, appended across restarts. */
  logFile: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * Spawns a long-running server for tests. Its output goes to `logFile` and to an in-memory
 * tail; it is killed when this process exits.
 */
export function spawnServer(options: SpawnServerOptions): ServerProcess {
  installCleanup();
  mkdirSync(dirname(options.logFile), { recursive: true });
  const log: WriteStream = createWriteStream(options.logFile, { flags: 'a' });
  // The file opens on libuv's pool, which a loaded test process may not reach before a short test
  // has stopped the server and removed its folder: the log is a debugging aid, losing it is no failure.
  log.on('error', () => undefined);
  let tail = '';
  const append = (chunk: Buffer | string): void => {
    const text = chunk.toString();
    // A child's own children (nginx workers) can still hold the pipes after it exited.
    if (!log.writableEnded) log.write(text);
    tail = (tail + text).slice(-LOG_LIMIT);
  };

  const [command, args] = setpriv
    ? [setpriv, ['--pdeathsig', 'SIGKILL', '--', options.command, ...options.args]]
    : [options.command, options.args];
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);

  const exited = new Promise<void>((resolve) => {
    const done = (): void => {
      live.delete(child);
      // Resolved once the file is closed (or failed), so a caller may remove its folder next.
      finished(log.end(), () => resolve());
    };
    child.once('exit', (code, signal) => {
      append(`\n[${options.name} exited: ${signal ?? `code ${code}`}]\n`);
      done();
    });
    child.once('error', (error) => {
      append(`\n[${options.name} failed to start: ${error.message}]\n`);
      done();
    });
  });

  return {
    name: options.name,
    pid: child.pid ?? -1,
    logs: () => tail,
    exited,
    async stop(graceMs = 5000) {
      if (child.exitCode !== null || child.signalCode !== null || !live.has(child)) return exited;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * A TCP port that was free a moment ago on 127.0.0.1. The OS may hand it to another test process
 * before the caller binds it: a caller must check that its own server took the port (an open
 * port proves nothing) and start again on a fresh one (startOnFreshPorts).
 */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not allocate a port'));
      });
    });
  });
}

/**
 * Runs `start` (which takes its ports from freePort) again, up to `attempts` times in all, while it
 * fails because another process took one of those ports first.
 */
export async function startOnFreshPorts<T>(start: () => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await start();
    } catch (error) {
      if (attempt >= attempts || !/EADDRINUSE|Address already in use/.test(String((error as Error)?.message)))
        throw error;
    }
  }
}

/** True when something accepts TCP connections on 127.0.0.1:`port`. */
export async function isPortOpen(port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const finish = (open: boolean): void => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
    socket.connect(port, '127.0.0.1');
  });
}

/**
 * Polls `probe` until it returns true. Fails early, with the server's log tail, when the server
 * exits, and after `timeoutMs` otherwise.
 */
export async function waitUntilReady(
  server: ServerProcess,
  probe: () => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  let exited = false;
  void server.exited.then(() => {
    exited = true;
  });
  const deadline = Date.now() + timeoutMs;
  for (let delay = 20; ; delay = Math.min(delay * 2, 250)) {
    if (exited) throw new Error(`${server.name} exited during start-up:\n${tailLines(server.logs(), 40)}`);
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) {
      await server.stop(1000);
      throw new Error(`${server.name} was not ready within ${timeoutMs} ms:\n${tailLines(server.logs(), 40)}`);
    }
    await sleep(delay);
  }
}

/** The last `count` lines of `text`. */
export function tailLines(text: string, count: number): string {
  const lines = text.trimEnd().split('\n');
  return lines.slice(-count).join('\n');
}
