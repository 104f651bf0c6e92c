import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { tokensV1 } from '@obip/contracts';
import { createGrpcServer, type GrpcServer } from '@obip/grpc';
import { closeMongo, connectMongo } from '@obip/mongo';
import { createLogger } from '@obip/observability';
import { assertDeliveredAtLeastOnce, dropTestDatabase, freePort, testMongoUrl } from '@obip/testing';
import type { Connection } from 'mongoose';
import { createGrpcTokenRevoker } from './revocation.grpc';
import { createMongoRevocationOutbox } from './revocation.mongo';
import { createRevocationDispatcher, revocationBackoffMs } from './revocation.service';

const logger = createLogger({ service: 'test', level: 'silent' });

async function startTokensServer(port: number, calls: string[]): Promise<GrpcServer> {
  const server = createGrpcServer({ serviceName: 'auth-server-twin', logger });
  server.addService(tokensV1.TokensService, {
    revokeByConsent: () => ({ revokedCount: 0 }),
    revokeByClient: ({ clientId }) => {
      calls.push(clientId);
      return { revokedCount: 3 };
    },
    revokeGrant: () => ({ revokedCount: 0 }),
    completeAuthentication: () => ({}),
  });
  await server.listen('127.0.0.1', port);
  return server;
}

async function waitFor(predicate: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Every call was for `clientId`, and {@link assertDeliveredAtLeastOnce} holds for them. */
function assertRevokedAtLeastOnce(calls: string[], clientId: string, failedAttempts: number): void {
  assert.deepEqual(
    calls.filter((call) => call !== clientId),
    [],
    'no call for another client',
  );
  assertDeliveredAtLeastOnce({ calls: calls.length, failedAttempts, what: `RevokeByClient for ${clientId}` });
}

describe('revocation outbox (MongoDB + tokens.v1 over real gRPC)', () => {
  const url = testMongoUrl('outbox');
  let mongo: Connection;
  before(async () => {
    mongo = await connectMongo({ url, serverSelectionTimeoutMS: 5_000 });
  });
  after(async () => {
    await closeMongo(mongo);
    await dropTestDatabase(url);
  });

  const entry = (clientId: string) => mongo.collection('revocation_outbox').findOne({ clientId });

  test('delivers RevokeByClient at once when auth-server is up', async () => {
    const port = await freePort();
    const calls: string[] = [];
    const server = await startTokensServer(port, calls);
    const revoker = createGrpcTokenRevoker({ target: `ipv4:///127.0.0.1:${port}` });
    const dispatcher = createRevocationDispatcher({
      store: await createMongoRevocationOutbox(mongo),
      revoker,
      logger,
      pollMs: 100,
      maxBackoffMs: 1_000,
    });
    dispatcher.start();
    try {
      await dispatcher.revokeClientTokens('client-up', 'client_deleted');
      await waitFor(async () => (await entry('client-up'))?.status === 'delivered');
      assertRevokedAtLeastOnce(calls, 'client-up', (await entry('client-up'))!.attempts);
    } finally {
      await dispatcher.stop();
      revoker.close();
      await server.shutdown(100);
    }
  });

  test('keeps an entry pending while auth-server is down and delivers it when it comes up', async () => {
    const port = await freePort();
    const calls: string[] = [];
    const revoker = createGrpcTokenRevoker({ target: `ipv4:///127.0.0.1:${port}`, deadlineMs: 500 });
    const dispatcher = createRevocationDispatcher({
      store: await createMongoRevocationOutbox(mongo),
      revoker,
      logger,
      pollMs: 50,
      initialBackoffMs: 100,
      maxBackoffMs: 400,
    });
    dispatcher.start();
    let server: GrpcServer | undefined;
    try {
      await dispatcher.revokeClientTokens('client-down', 'client_deleted');
      await waitFor(async () => ((await entry('client-down'))?.attempts ?? 0) >= 2);
      assert.equal((await entry('client-down'))?.status, 'pending');

      const failedWhileDown = (await entry('client-down'))!.attempts;
      server = await startTokensServer(port, calls);
      await waitFor(async () => (await entry('client-down'))?.status === 'delivered');
      assertRevokedAtLeastOnce(calls, 'client-down', (await entry('client-down'))!.attempts - failedWhileDown);
    } finally {
      await dispatcher.stop();
      revoker.close();
      await server?.shutdown(100);
    }
  });

  test('backs off exponentially up to the maximum', () => {
    for (let i = 0; i < 20; i += 1) {
      const first = revocationBackoffMs(1, 500, 60_000);
      assert.ok(first >= 250 && first <= 500);
      const late = revocationBackoffMs(30, 500, 60_000);
      assert.ok(late >= 30_000 && late <= 60_000);
    }
  });
});
