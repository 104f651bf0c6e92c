import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import mongoose, { type Connection } from 'mongoose';
import { ConflictError, DependencyUnavailableError } from '@obip/errors';
import { closeMongo, connectMongo, mongoHealthCheck, translateMongoError } from '@obip/mongo';
import { startMongoServer } from './mongo.server';
import { attachServerLogsOnFailure, dropTestDatabase, testMongoKind, testMongoUrl } from './test-servers';

attachServerLogsOnFailure();

interface Consent {
  consentId: string;
  status: 'AwaitingAuthorisation' | 'Authorised' | 'Revoked';
}

const consentSchema = new mongoose.Schema<Consent>({
  consentId: { type: String, required: true, unique: true },
  status: { type: String, required: true },
});

describe('shared MongoDB-compatible server (mongod or FerretDB)', () => {
  let conn: Connection;
  const url = testMongoUrl();

  before(async () => {
    conn = await connectMongo({ url, serverSelectionTimeoutMS: 5000 });
  });
  after(async () => {
    await closeMongo(conn);
    await dropTestDatabase(url);
  });

  test('gives each test file its own database', () => {
    assert.match(conn.name, /^t_mongo_server_\d+_[0-9a-f]{6}$/);
    assert.equal(testMongoUrl(), url, 'stable within the file');
    assert.notEqual(testMongoUrl('other'), url);
  });

  test('answers the health check', async () => {
    await mongoHealthCheck(conn, 2000);
  });

  test('creates, reads, updates and deletes a document', async () => {
    const Consents = conn.model<Consent>('CrudConsent', consentSchema);
    await Consents.init();
    const created = await Consents.create({ consentId: 'c-1', status: 'AwaitingAuthorisation' });
    assert.equal((await Consents.findById(created._id).lean())?.consentId, 'c-1');
    await Consents.updateOne({ _id: created._id }, { $set: { status: 'Authorised' } });
    assert.equal((await Consents.findById(created._id).lean())?.status, 'Authorised');
    await Consents.deleteOne({ _id: created._id });
    assert.equal(await Consents.findById(created._id).lean(), null);
  });

  test('a duplicate insert on a unique index becomes a ConflictError', async () => {
    const Consents = conn.model<Consent>('UniqueConsent', consentSchema);
    await Consents.init(); // builds the unique index before the first insert
    await Consents.create({ consentId: 'dup-1', status: 'AwaitingAuthorisation' });
    await assert.rejects(
      Consents.create({ consentId: 'dup-1', status: 'AwaitingAuthorisation' }).catch(translateMongoError),
      (error: unknown) => {
        assert.ok(error instanceof ConflictError);
        assert.equal(error.code, 'conflict');
        assert.equal(error.kind, 'conflict');
        return true;
      },
    );
    assert.equal(await Consents.countDocuments({ consentId: 'dup-1' }), 1);
  });

  test('a conditional findOneAndUpdate moves a state once; the second attempt finds nothing', async () => {
    const Consents = conn.model<Consent>('TransitionConsent', consentSchema);
    const { _id } = await Consents.create({ consentId: 'st-1', status: 'AwaitingAuthorisation' });
    const transition = () =>
      Consents.findOneAndUpdate(
        { _id, status: 'AwaitingAuthorisation' },
        { $set: { status: 'Authorised' } },
        { returnDocument: 'after' },
      ).lean();

    const first = await transition();
    assert.equal(first?.status, 'Authorised');
    assert.equal(await transition(), null);
  });

  test(
    'racing conditional findOneAndUpdates: exactly one wins',
    {
      skip:
        testMongoKind() === 'ferretdb' &&
        'FerretDB 1.x runs findAndModify as a query and then an update by _id, so racing transitions can all win',
    },
    async () => {
      const Consents = conn.model<Consent>('RaceConsent', consentSchema);
      const { _id } = await Consents.create({ consentId: 'race-1', status: 'AwaitingAuthorisation' });
      const results = await Promise.all(
        [1, 2, 3, 4].map(() =>
          Consents.findOneAndUpdate({ _id, status: 'AwaitingAuthorisation' }, { $set: { status: 'Revoked' } }).lean(),
        ),
      );
      assert.equal(results.filter((r) => r !== null).length, 1);
    },
  );

  test('racing inserts on a unique index: exactly one succeeds (FerretDB too)', async () => {
    const Consents = conn.model<Consent>('RaceUniqueConsent', consentSchema);
    await Consents.init();
    const results = await Promise.allSettled(
      [1, 2, 3, 4].map(() => Consents.create({ consentId: 'race-u', status: 'AwaitingAuthorisation' })),
    );
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    for (const r of results) {
      if (r.status === 'rejected') assert.throws(() => translateMongoError(r.reason), ConflictError);
    }
  });
});

describe('a MongoDB-compatible server the test stops', () => {
  test(
    'health check and queries fail with DependencyUnavailableError once the server is gone',
    { skip: process.env.MONGO_URL ? 'MONGO_URL names an external server, which this test cannot stop' : false },
    async (t) => {
      const server = await startMongoServer();
      t.after(() => server.stop());
      const conn = await connectMongo({ url: `${server.url}outage`, serverSelectionTimeoutMS: 500 });
      t.after(() => closeMongo(conn));
      const Consents = conn.model<Consent>('OutageConsent', consentSchema);
      await mongoHealthCheck(conn, 2000);

      await server.stop();
      await assert.rejects(mongoHealthCheck(conn, 1000), DependencyUnavailableError);
      const started = Date.now();
      await assert.rejects(
        Consents.findOne({ consentId: 'x' }).lean().catch(translateMongoError),
        DependencyUnavailableError,
      );
      assert.ok(Date.now() - started < 2000, 'bounded by serverSelectionTimeoutMS, not hanging');
    },
  );
});

describe('a MongoDB-compatible server with a data directory (the sandbox)', () => {
  test(
    'keeps its documents for the next start in the same directory',
    { skip: process.env.MONGO_URL ? 'MONGO_URL names an external server, which this test cannot restart' : false },
    async (t) => {
      const dataDir = mkdtempSync(join(tmpdir(), 'obip-mongo-data-test-'));
      t.after(() => rmSync(dataDir, { recursive: true, force: true }));

      const first = await startMongoServer({ dataDir });
      const writer = await connectMongo({ url: `${first.url}kept`, serverSelectionTimeoutMS: 5000 });
      await writer.model<Consent>('KeptConsent', consentSchema).create({ consentId: 'c-kept', status: 'Authorised' });
      await closeMongo(writer);
      await first.stop();

      const second = await startMongoServer({ dataDir });
      t.after(() => second.stop());
      const reader = await connectMongo({ url: `${second.url}kept`, serverSelectionTimeoutMS: 5000 });
      t.after(() => closeMongo(reader));
      const kept = await reader.model<Consent>('KeptConsent', consentSchema).findOne({ consentId: 'c-kept' }).lean();
      assert.equal(kept?.status, 'Authorised');
    },
  );
});
