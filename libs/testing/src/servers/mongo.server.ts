import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { closeMongo, connectMongo, mongoHealthCheck } from '@obip/mongo';
import { findOnPath, freePort, isExecutable, isPortOpen, spawnServer, waitUntilReady } from './server.process';

export type MongoServerKind = 'external' | 'mongod' | 'ferretdb';

export interface MongoServer {
  /** `mongodb://127.0.0.1:<port>/` (no database: tests pick their own, see `testMongoUrl`). */
  readonly url: string;
  readonly kind: MongoServerKind;
  /** Log file of a server started here; undefined for an external one. */
  readonly logFile: string | undefined;
  stop(): Promise<void>;
  logs(): string;
}

export interface StartMongoServerOptions {
  /** Where the log file goes; the server's temp dir by default. */
  logDir?: string;
  /** Start-up budget. Default 20 s. */
  timeoutMs?: number;
  /** Keep the data here across runs (kept by `stop`), as the sandbox does. Default: a temp dir, deleted by `stop`. */
  dataDir?: string;
  /** Port to listen on; a free one by default. With `dataDir`, starts a stopped server again where it was (outage tests). */
  port?: number;
}

const repoRoot = resolve(import.meta.dirname, '../../../..');

/**
 * Provides a MongoDB-compatible server, in this order:
 * 1. `MONGO_URL` when set: an existing server, nothing is started;
 * 2. `mongod` on PATH;
 * 3. FerretDB 1.x with its SQLite backend (see {@link findFerretDb}).
 *
 * FerretDB lacks transactions, TTL indexes, `$lookup` and change streams, which obip does not
 * use (ARCHITECTURE.md, Data and state); unique indexes and `findOneAndUpdate` work.
 */
export async function startMongoServer(options: StartMongoServerOptions = {}): Promise<MongoServer> {
  const external = process.env.MONGO_URL;
  if (external) {
    return { url: external, kind: 'external', logFile: undefined, stop: async () => undefined, logs: () => '' };
  }
  const mongod = findOnPath('mongod');
  const ferretdb = mongod ? undefined : findFerretDb();
  if (!mongod && !ferretdb) {
    throw new Error(
      'no MongoDB-compatible server: set MONGO_URL, put mongod on PATH, or build FerretDB ' +
        '(FERRETDB_BIN, <repo>/.tools/bin/ferretdb, PATH, $(go env GOPATH)/bin/ferretdb; see scripts/setup.sh)',
    );
  }

  const port = options.port ?? (await freePort());
  const persistent = options.dataDir !== undefined;
  const dir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'obip-mongo-'));
  if (persistent) mkdirSync(dir, { recursive: true });
  const kind: MongoServerKind = mongod ? 'mongod' : 'ferretdb';
  const logFile = join(options.logDir ?? dir, `${kind}-${port}.log`);
  const server = spawnServer(
    mongod
      ? {
          name: `mongod :${port}`,
          command: mongod,
          args: ['--port', String(port), '--bind_ip', '127.0.0.1', '--dbpath', dir, '--nounixsocket', '--quiet'],
          logFile,
        }
      : {
          name: `ferretdb :${port}`,
          command: ferretdb as string,
          args: [
            '--handler=sqlite',
            `--sqlite-url=file:${dir}/`,
            `--listen-addr=127.0.0.1:${port}`,
            `--state-dir=${dir}`,
            '--telemetry=disable',
            '--debug-addr=-',
            // At "warn" FerretDB dumps every unsupported command (the driver's endSessions on
            // each close), which buries real failures in the log tail.
            `--log-level=${process.env.OBIP_FERRETDB_LOG_LEVEL ?? 'error'}`,
          ],
          logFile,
          // FerretDB reads FERRETDB_* variables as flag defaults; keep a developer's own out.
          env: Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('FERRETDB_'))),
        },
  );
  const url = `mongodb://127.0.0.1:${port}/`;
  await waitUntilReady(
    server,
    async () => (await isPortOpen(port)) && (await answersPing(url)),
    options.timeoutMs ?? 20_000,
  );
  return {
    url,
    kind,
    logFile,
    logs: server.logs,
    async stop() {
      // Throwaway data need not wait out FerretDB's 3 s drain of open client connections (it
      // then gets SIGKILL) or a long mongod shutdown; kept data gets a clean shutdown.
      if (persistent) {
        await server.stop(kind === 'ferretdb' ? 5000 : 15_000);
        return;
      }
      await server.stop(kind === 'ferretdb' ? 300 : 2000);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function answersPing(url: string): Promise<boolean> {
  const conn = await connectMongo({ url, serverSelectionTimeoutMS: 1000, connectDeadlineMs: 0 });
  try {
    await mongoHealthCheck(conn, 1000);
    return true;
  } finally {
    await closeMongo(conn);
  }
}

/**
 * The FerretDB binary: `FERRETDB_BIN`, then `<repo>/.tools/bin/ferretdb` (placed by
 * scripts/setup.sh), then PATH, then `$(go env GOPATH)/bin/ferretdb` (a `go install`).
 */
export function findFerretDb(): string | undefined {
  const explicit = process.env.FERRETDB_BIN;
  if (explicit) {
    if (!isExecutable(explicit)) throw new Error(`FERRETDB_BIN=${explicit} is not an executable file`);
    return explicit;
  }
  const candidates = [join(repoRoot, '.tools/bin/ferretdb'), findOnPath('ferretdb'), join(goPath(), 'bin/ferretdb')];
  return candidates.find((path): path is string => path !== undefined && path !== '' && isExecutable(path));
}

function goPath(): string {
  if (process.env.GOPATH) return process.env.GOPATH.split(':')[0] ?? '';
  const go = findOnPath('go');
  if (go) {
    try {
      return execFileSync(go, ['env', 'GOPATH'], { encoding: 'utf8', timeout: 5000 }).trim();
    } catch {
      // fall through to Go's default
    }
  }
  return join(homedir(), 'go');
}
