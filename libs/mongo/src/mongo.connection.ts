import { setTimeout as sleep } from 'node:timers/promises';
import mongoose, { type Connection } from 'mongoose';
import { DependencyUnavailableError } from '@obip/errors';
import { isMongoUnavailableError } from './mongo.errors';

/** The subset of a pino logger this lib writes to. */
export interface MongoLogger {
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
}

export interface ConnectMongoOptions {
  /** `mongodb://` or `mongodb+srv://` connection string. Never logged (it may hold a password). */
  url: string;
  /** Database to use; overrides the one in the URL (one logical database per service). */
  dbName?: string;
  /** How long one operation waits for a usable server before failing. */
  serverSelectionTimeoutMS: number;
  /**
   * How long to keep retrying the initial connection, e.g. while MongoDB starts next to us
   * in the same deployment. Default 30 000 ms.
   */
  connectDeadlineMs?: number;
  /**
   * How long a connection, a heartbeat or an operation may wait on a server that accepted it but
   * does not answer (the driver's connectTimeoutMS and socketTimeoutMS). Default 10 000 ms.
   */
  operationTimeoutMS?: number;
  /** Shown in the server's logs and `currentOp`, e.g. the service name. */
  appName?: string;
  logger?: MongoLogger;
}

const DEFAULT_OPERATION_TIMEOUT_MS = 10_000;

/**
 * Connects a dedicated mongoose `Connection` (never the global `mongoose.connection`, so two
 * services in one test process cannot share state). The initial connection is retried with
 * exponential backoff until `connectDeadlineMs`; after that the driver reconnects on its own.
 *
 * Command buffering is off: with a connection that is already open, a command during an
 * outage goes straight to the driver and fails after `serverSelectionTimeoutMS` instead of
 * waiting in mongoose's buffer.
 *
 * Throws {@link DependencyUnavailableError} when the deadline passes; configuration errors
 * (bad URL, authentication failure) are thrown at once, without retrying.
 *
 * @example
 * const conn = await connectMongo({ url: env.MONGO_URL, dbName: 'obip_dcr', serverSelectionTimeoutMS: 5000 });
 */
export async function connectMongo(options: ConnectMongoOptions): Promise<Connection> {
  const deadline = Date.now() + (options.connectDeadlineMs ?? 30_000);
  const where = describeHosts(options.url);
  for (let attempt = 1; ; attempt += 1) {
    const conn = mongoose.createConnection(options.url, {
      dbName: options.dbName,
      serverSelectionTimeoutMS: options.serverSelectionTimeoutMS,
      // Without these a server that hangs (accepts, never answers: a partition, a stuck process)
      // holds every operation until the heartbeat gives up on the driver's 30 s connect timeout:
      // measured 40 s against a frozen relay, 20 s with these at 10 s.
      socketTimeoutMS: options.operationTimeoutMS ?? DEFAULT_OPERATION_TIMEOUT_MS,
      connectTimeoutMS: options.operationTimeoutMS ?? DEFAULT_OPERATION_TIMEOUT_MS,
      appName: options.appName,
      bufferCommands: false,
    });
    try {
      await conn.asPromise();
      if (attempt > 1) options.logger?.info({ hosts: where, attempt }, 'mongodb connected');
      return conn;
    } catch (error) {
      await conn.close(true).catch(() => undefined);
      if (!isMongoUnavailableError(error)) throw error;
      const delay = Math.min(250 * 2 ** (attempt - 1), 5000);
      if (Date.now() + delay >= deadline) {
        throw new DependencyUnavailableError('mongodb is unavailable', { cause: error });
      }
      options.logger?.warn(
        {
          hosts: where,
          attempt,
          retryInMs: delay,
          err: { name: (error as Error).name, message: (error as Error).message },
        },
        'mongodb connection failed, retrying',
      );
      await sleep(delay);
    }
  }
}

/** Host list of a connection string without credentials, for logs. */
function describeHosts(url: string): string {
  const match = /^[a-z+]+:\/\/(?:[^@/]*@)?([^/?]*)/i.exec(url);
  return match?.[1] ?? 'unknown';
}

/**
 * Readiness check: the `ping` admin command with a deadline. Throws
 * {@link DependencyUnavailableError} naming mongodb when it fails or takes longer than
 * `timeoutMs`.
 *
 * @example
 * await mongoHealthCheck(conn, 1000);
 */
export async function mongoHealthCheck(conn: Connection, timeoutMs: number): Promise<void> {
  const db = conn.db;
  if (!db) throw new DependencyUnavailableError('mongodb connection is not open');
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new DependencyUnavailableError(`mongodb did not answer ping within ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  try {
    await Promise.race([db.admin().command({ ping: 1 }), deadline]);
  } catch (error) {
    if (error instanceof DependencyUnavailableError) throw error;
    // A health check failing for any reason means the dependency is not usable.
    throw new DependencyUnavailableError('mongodb is unavailable', { cause: error });
  } finally {
    clearTimeout(timer);
  }
}

/** Closes the connection and its pool; safe to call twice. */
export async function closeMongo(conn: Connection): Promise<void> {
  await conn.close();
}
