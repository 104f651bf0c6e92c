import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect, createServer, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import mongoose, { type Connection } from 'mongoose';
import { ConflictError, DependencyUnavailableError } from '@obip/errors';
import { closeMongo, connectMongo, mongoHealthCheck } from './mongo.connection';
import { isMongoUnavailableError, translateMongoError } from './mongo.errors';

// The shared server started by libs/testing's global setup (scripts/run-tests.mjs). Read from
// the environment rather than through @obip/testing, which itself depends on this lib.
function sharedMongoUrl(): string {
  const url = process.env.OBIP_TEST_MONGO_URL;
  if (!url)
    throw new Error(
      `OBIP_TEST_MONGO_URL is not set: ${process.env.OBIP_TEST_MONGO_ERROR ?? 'run via scripts/run-tests.mjs'}`,
    );
  return url;
}

/** A port on which nothing listens. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const dbName = `t_mongo_lib_${process.pid}_${randomBytes(3).toString('hex')}`;

describe('connectMongo against a real MongoDB-compatible server', () => {
  let conn: Connection;
  before(async () => {
    conn = await connectMongo({
      url: sharedMongoUrl(),
      dbName,
      serverSelectionTimeoutMS: 5000,
      appName: 'mongo-lib-test',
    });
  });
  after(async () => {
    await conn.dropDatabase();
    await closeMongo(conn);
  });

  test('returns an open, dedicated connection on the requested database', () => {
    assert.equal(conn.readyState, mongoose.ConnectionStates.connected);
    assert.equal(conn.name, dbName);
    assert.notEqual(conn, mongoose.connection, 'never the global connection');
  });

  test('passes the health check', async () => {
    await mongoHealthCheck(conn, 2000);
  });

  test('translates a duplicate key into ConflictError and rethrows other errors unchanged', async () => {
    const Things = conn.model('Thing', new mongoose.Schema({ key: { type: String, unique: true, required: true } }));
    await Things.init();
    await Things.create({ key: 'k1' });
    const duplicate = await Things.create({ key: 'k1' }).catch((e: unknown) => e);
    assert.throws(() => translateMongoError(duplicate), ConflictError);

    const invalid = await Things.create({}).catch((e: unknown) => e); // a validation error
    assert.ok(invalid instanceof mongoose.Error.ValidationError);
    assert.throws(
      () => translateMongoError(invalid),
      (thrown: unknown) => thrown === invalid,
    );
  });

  test('fails the health check with DependencyUnavailableError once closed', async () => {
    const other = await connectMongo({ url: sharedMongoUrl(), dbName, serverSelectionTimeoutMS: 1000 });
    await closeMongo(other);
    await closeMongo(other);
    await assert.rejects(mongoHealthCheck(other, 500), DependencyUnavailableError);
  });
});

/** A logger for connectMongo that keeps each warning as its details (JSON) and message. */
function recordWarnings(): {
  logger: { info(): void; warn(details: object, message: string): void };
  warnings: string[];
} {
  const warnings: string[] = [];
  return {
    logger: {
      info: () => undefined,
      warn: (details, message) => void warnings.push(JSON.stringify(details) + message),
    },
    warnings,
  };
}

describe('connectMongo when MongoDB cannot be reached', () => {
  test('retries until the deadline, then throws DependencyUnavailableError naming mongodb', async () => {
    const { logger, warnings } = recordWarnings();
    const started = Date.now();
    await assert.rejects(
      connectMongo({
        url: `mongodb://127.0.0.1:${await closedPort()}/x`,
        serverSelectionTimeoutMS: 200,
        connectDeadlineMs: 1500,
        logger,
      }),
      (error: unknown) => {
        assert.ok(error instanceof DependencyUnavailableError);
        assert.match(error.description, /mongodb/);
        assert.ok(isMongoUnavailableError(error.cause), 'the driver error is kept as the cause');
        return true;
      },
    );
    const elapsed = Date.now() - started;
    assert.ok(warnings.length >= 2, `retried ${warnings.length} times`);
    assert.ok(elapsed >= 1000 && elapsed < 4000, `gave up after ${elapsed} ms`);
  });

  test('does not retry a malformed URL', async () => {
    // Each retry is logged as a warning, so the count says it; a time bound would measure load.
    const { logger, warnings } = recordWarnings();
    await assert.rejects(
      connectMongo({ url: 'mongodb://', serverSelectionTimeoutMS: 200, connectDeadlineMs: 5000, logger }),
      (error: unknown) => {
        assert.ok(!(error instanceof DependencyUnavailableError));
        return true;
      },
    );
    assert.deepEqual(warnings, [], 'no retry');
  });

  test('does not log the password of the URL', async () => {
    const { logger, warnings } = recordWarnings();
    await connectMongo({
      url: `mongodb://obip:s3cret@127.0.0.1:${await closedPort()}/x`,
      serverSelectionTimeoutMS: 100,
      connectDeadlineMs: 400,
      logger,
    }).catch(() => undefined);
    assert.ok(warnings.length > 0);
    assert.ok(warnings.every((line) => !line.includes('s3cret')));
  });
});

/** A TCP relay to the shared server that can start swallowing everything: a server that hangs. */
async function startHangableRelay(target: URL): Promise<{ url: string; hang(): void; stop(): Promise<void> }> {
  let hanging = false;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect({ host: target.hostname, port: Number(target.port) });
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => sockets.delete(socket));
    }
    client.on('data', (chunk) => void (hanging || upstream.write(chunk)));
    upstream.on('data', (chunk) => void (hanging || client.write(chunk)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `mongodb://127.0.0.1:${port}/`,
    hang: () => void (hanging = true),
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('connectMongo against a server that hangs', () => {
  test('an operation fails as unavailable within its bounds instead of waiting on the heartbeat', async () => {
    const relay = await startHangableRelay(new URL(sharedMongoUrl()));
    const conn = await connectMongo({
      url: relay.url,
      dbName,
      serverSelectionTimeoutMS: 500,
      operationTimeoutMS: 1_000,
    });
    try {
      await conn.db!.collection('hang').findOne({});
      relay.hang();
      const started = Date.now();
      const outcome = await conn
        .db!.collection('hang')
        .findOne({})
        .then(
          () => 'answered',
          (error: unknown) => error,
        );
      const elapsed = Date.now() - started;
      assert.ok(isMongoUnavailableError(outcome), `expected an unavailable error, got ${String(outcome)}`);
      // Socket timeout, a retry's server selection and connect timeout, with room for a loaded
      // machine; the driver's defaults (no socket timeout, 30 s connect timeout) take over 30 s.
      assert.ok(elapsed < 8_000, `took ${elapsed} ms`);
    } finally {
      await closeMongo(conn).catch(() => undefined);
      await relay.stop();
    }
  });
});
