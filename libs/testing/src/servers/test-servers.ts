import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterEach } from 'node:test';
import { closeMongo, connectMongo } from '@obip/mongo';
import type { MongoServerKind } from './mongo.server';
import { tailLines } from './server.process';

/**
 * Environment set by `global-setup.ts` for every test process of a run:
 * - `OBIP_TEST_REDIS_URL`, `OBIP_TEST_MONGO_URL`: the shared servers;
 * - `OBIP_TEST_REDIS_ERROR`, `OBIP_TEST_MONGO_ERROR`: why one could not be started;
 * - `OBIP_TEST_MONGO_KIND`: `external`, `mongod` or `ferretdb`;
 * - `OBIP_TEST_SERVER_LOGS`: the directory holding their log files.
 */
export const TEST_ENV = {
  redisUrl: 'OBIP_TEST_REDIS_URL',
  redisError: 'OBIP_TEST_REDIS_ERROR',
  mongoUrl: 'OBIP_TEST_MONGO_URL',
  mongoError: 'OBIP_TEST_MONGO_ERROR',
  mongoKind: 'OBIP_TEST_MONGO_KIND',
  serverLogs: 'OBIP_TEST_SERVER_LOGS',
} as const;

// One random tag per test process: names stay stable within a file and unique across runs.
const processTag = `${process.pid}_${randomBytes(3).toString('hex')}`;

/** A short slug of the running test file, e.g. `ingress_twin` for `ingress.twin.test.ts`. */
function testFileSlug(): string {
  const file = process.argv[1] ? basename(process.argv[1]) : 'test';
  const slug = file
    .replace(/\.test\.[cm]?[jt]s$/, '')
    .replace(/[^a-zA-Z0-9]+/g, '_')
    .toLowerCase();
  return slug.slice(0, 24) || 'test';
}

function sharedServerUrl(urlVar: string, errorVar: string, what: string): string {
  const url = process.env[urlVar];
  if (url) return url;
  const reason = process.env[errorVar];
  throw new Error(
    reason
      ? `the shared ${what} could not be started for this run: ${reason}`
      : `${urlVar} is not set: run tests with node scripts/run-tests.mjs <project> (its global setup starts ${what})`,
  );
}

/** The shared Redis of this test run, e.g. `redis://127.0.0.1:40123`. */
export function testRedisUrl(): string {
  return sharedServerUrl(TEST_ENV.redisUrl, TEST_ENV.redisError, 'Redis');
}

/**
 * A key prefix unique to this test file (and `name`), e.g. `t:redis_server:4242_a1b2c3:`, so
 * files running in parallel against the shared Redis never see each other's keys.
 */
export function testRedisPrefix(name = ''): string {
  return `t:${testFileSlug()}${name ? `_${name}` : ''}:${processTag}:`;
}

/**
 * The shared MongoDB-compatible server's URL with a database unique to this test file (and
 * `name`): `t_<file>_<pid>_<random>`, within the 63 characters FerretDB allows. The same call
 * returns the same URL for the whole file.
 *
 * @example
 * const conn = await connectMongo({ url: testMongoUrl(), serverSelectionTimeoutMS: 2000 });
 * after(() => dropTestDatabase(testMongoUrl()));
 */
export function testMongoUrl(name = ''): string {
  const base = sharedServerUrl(TEST_ENV.mongoUrl, TEST_ENV.mongoError, 'MongoDB-compatible server');
  const suffix = name ? `_${name.replace(/[^a-zA-Z0-9]+/g, '_')}` : '';
  const dbName = `t_${testFileSlug()}${suffix}`.slice(0, 63 - processTag.length - 1) + `_${processTag}`;
  return withDatabase(base, dbName);
}

/**
 * The settings that point a service at a test database: services open the database named by
 * MONGO_DB (their own by default), not the one in MONGO_URL's path, so both are set.
 */
export function serviceMongoEnv(url: string): { MONGO_URL: string; MONGO_DB: string } {
  const match = /^mongodb(?:\+srv)?:\/\/[^/?]+\/([^?]+)/.exec(url);
  if (!match?.[1]) throw new Error('the MongoDB URL names no database');
  return { MONGO_URL: url, MONGO_DB: decodeURIComponent(match[1]) };
}

/** Replaces the database path of a MongoDB URL, keeping credentials and query options. */
export function withDatabase(url: string, dbName: string): string {
  const match = /^(mongodb(?:\+srv)?:\/\/[^/?]+)(?:\/[^?]*)?(\?.*)?$/.exec(url);
  if (!match) throw new Error('not a mongodb:// URL');
  return `${match[1]}/${dbName}${match[2] ?? ''}`;
}

/**
 * What the shared MongoDB-compatible server is, for tests of behaviour FerretDB 1.x does not
 * have (see `startMongoServer`), e.g.
 * `test('…', { skip: testMongoKind() === 'ferretdb' && 'FerretDB 1.x: …' }, …)`.
 */
export function testMongoKind(): MongoServerKind {
  sharedServerUrl(TEST_ENV.mongoUrl, TEST_ENV.mongoError, 'MongoDB-compatible server');
  return (process.env[TEST_ENV.mongoKind] as MongoServerKind | undefined) ?? 'external';
}

/** Drops the database named in `url`, e.g. in an `after` hook. */
export async function dropTestDatabase(url: string): Promise<void> {
  const conn = await connectMongo({ url, serverSelectionTimeoutMS: 5000, connectDeadlineMs: 5000 });
  try {
    await conn.dropDatabase();
  } finally {
    await closeMongo(conn);
  }
}

/** Anything with logs worth showing when a test fails: a server or the ingress twin. */
export interface LogSource {
  readonly name?: string;
  logs(): string;
}

/**
 * A log source, or a group of them known only when a test fails (a platform started in `before`):
 * each source of a group is shown with its own tail, so one chatty log cannot push the others out.
 */
export type LogSources = LogSource | (() => readonly LogSource[]);

/** The log sources a {@link LogSources} list names, groups expanded. */
export function expandLogSources(sources: readonly LogSources[]): LogSource[] {
  return sources.flatMap((source) => (typeof source === 'function' ? source() : [source]));
}

export interface AttachServerLogsOptions {
  /** Servers this file started itself (the shared ones are always included). */
  sources?: LogSources[];
  /** Lines of each log to show. Default 30. */
  lines?: number;
}

/**
 * Registers an `afterEach` hook that, when a test failed, adds the tail of each server log
 * to the test's output as diagnostics, so a failure report shows what Redis, MongoDB or nginx
 * said at the time.
 *
 * @example
 * attachServerLogsOnFailure({ sources: [twin] });
 */
export function attachServerLogsOnFailure(options: AttachServerLogsOptions = {}): void {
  const lines = options.lines ?? 30;
  afterEach((t) => {
    if (!('passed' in t) || t.passed !== false) return;
    for (const { name, text } of collectLogs(options.sources ?? [])) {
      const tail = tailLines(text, lines);
      if (tail.trim() === '') continue;
      t.diagnostic(`--- ${name} (last ${lines} lines) ---`);
      for (const line of tail.split('\n')) t.diagnostic(line);
    }
  });
}

function collectLogs(sources: LogSources[]): Array<{ name: string; text: string }> {
  const logs = expandLogSources(sources).map((source, index) => ({
    name: source.name ?? `server ${index + 1}`,
    text: source.logs(),
  }));
  const dir = process.env[TEST_ENV.serverLogs];
  if (dir && existsSync(dir)) {
    for (const file of readdirSync(dir)
      .filter((f) => f.endsWith('.log'))
      .sort()) {
      logs.push({ name: file, text: readFileSync(join(dir, file), 'utf8') });
    }
  }
  return logs;
}
