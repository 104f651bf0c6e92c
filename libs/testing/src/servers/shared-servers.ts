// The shared servers of a test run: one Redis and one MongoDB-compatible server, published
// through environment variables, which the node:test runner hands to every test process. A
// variable that is already set (e.g. by CI pointing at its own services) is left alone.
// Loaded by global-setup.ts.
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startMongoServer } from './mongo.server';
import { startRedisServer } from './redis.server';
import { TEST_ENV } from './test-servers';

const started: Array<{ stop(): Promise<void> }> = [];

function serverLogDir(): string {
  const existing = process.env[TEST_ENV.serverLogs];
  if (existing) return existing;
  const artifacts = process.env.OBIP_TEST_ARTIFACTS;
  const dir = artifacts ? join(artifacts, 'servers') : mkdtempSync(join(tmpdir(), 'obip-test-servers-'));
  mkdirSync(dir, { recursive: true });
  process.env[TEST_ENV.serverLogs] = dir;
  return dir;
}

/**
 * A server that fails to start does not fail the run: suites that do not need it still run,
 * and those that do fail with the reason (see `testRedisUrl`, `testMongoUrl`).
 */
async function provide(urlVar: string, errorVar: string, start: () => Promise<{ url: string; stop(): Promise<void> }>) {
  if (process.env[urlVar]) return;
  try {
    const server = await start();
    started.push(server);
    process.env[urlVar] = server.url;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    process.env[errorVar] = reason.split('\n')[0] ?? reason;
    process.stderr.write(`[obip test setup] ${reason}\n`);
  }
}

export async function startSharedServers(): Promise<void> {
  const logDir = serverLogDir();
  await Promise.all([
    provide(TEST_ENV.redisUrl, TEST_ENV.redisError, async () => {
      const redis = await startRedisServer({ logDir });
      return { url: redis.url, stop: redis.dispose };
    }),
    provide(TEST_ENV.mongoUrl, TEST_ENV.mongoError, async () => {
      const mongo = await startMongoServer({ logDir });
      process.env[TEST_ENV.mongoKind] = mongo.kind;
      return mongo;
    }),
  ]);
}

export async function stopSharedServers(): Promise<void> {
  await Promise.all(started.splice(0).map((server) => server.stop()));
}
