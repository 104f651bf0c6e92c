import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { tokensV1 } from '@obip/contracts';
import { createGrpcServer, type GrpcServer } from '@obip/grpc';
import { closeMongo, connectMongo } from '@obip/mongo';
import { assertDeliveredAtLeastOnce, attachServerLogsOnFailure, freePort } from '@obip/testing';
import { silentLogger, startConsentFixture, type ConsentFixture } from '../test-fixtures/consent-fixture';
import { createGrpcTokensClient } from '../tokens/tokens.grpc';
import { createMongoRevocationOutbox } from './revocation.mongo';
import { createRevocationRelay, type RevocationRelay } from './revocation.service';

const AMELIA = 'cust-7f3a9c1e-amelia';

/** A stand-in for auth-server's tokens.v1.Tokens that records what it is asked to revoke. */
async function startTokensPeer(
  port: number,
): Promise<{ server: GrpcServer; revoked: Array<{ consentId: string; reason: string }> }> {
  const revoked: Array<{ consentId: string; reason: string }> = [];
  const server = createGrpcServer({ serviceName: 'auth-server-stand-in', logger: silentLogger });
  server.addService(tokensV1.TokensService, {
    revokeByConsent: (request) => {
      revoked.push({ consentId: request.consentId, reason: request.reason });
      return { revokedCount: 2 };
    },
    revokeByClient: () => ({ revokedCount: 0 }),
    revokeGrant: () => ({ revokedCount: 0 }),
    completeAuthentication: () => ({}),
  });
  await server.listen('127.0.0.1', port);
  return { server, revoked };
}

async function eventually(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail('the condition did not hold in time');
    await sleep(50);
  }
}

describe('revocation cascade to auth-server through the durable outbox', () => {
  let fixture: ConsentFixture;
  let relay: RevocationRelay | undefined;
  before(async () => {
    fixture = await startConsentFixture('revocation', { onCascadePending: () => relay?.kick() });
  });
  after(async () => {
    await relay?.stop();
    await fixture.close();
  });
  attachServerLogsOnFailure();

  /** A relay as main.ts builds it; `clockOffsetMs` moves its clock along with the service's. */
  const startRelay = (connection = fixture.mongo, target: string, clockOffsetMs = 0) => {
    const revoker = createGrpcTokensClient({ target, deadlineMs: 500 });
    const started = createRevocationRelay({
      outbox: createMongoRevocationOutbox(connection),
      revoker,
      logger: silentLogger,
      pollMs: 50,
      initialBackoffMs: 50,
      maxBackoffMs: 200,
      now: () => new Date(Date.now() + clockOffsetMs),
    });
    started.start();
    return {
      relay: started,
      async stop() {
        await started.stop();
        revoker.close();
      },
    };
  };

  const revokedConsent = async () => {
    const consent = await fixture.consents.createAccountAccessConsent({
      clientId: 'tpp-r',
      permissions: ['ReadBalances'],
      request: {},
      risk: {},
      expiresAt: undefined,
    });
    await fixture.consents.authorise({
      consentId: consent.id,
      subject: AMELIA,
      accountIds: ['acc-22289-current'],
      actor: 'a',
    });
    const revoked = await fixture.consents.revoke({
      consentId: consent.id,
      actor: `customer:${AMELIA}`,
      reason: 'portal',
    });
    assert.equal(revoked.status, 'Revoked', 'the revocation is accepted whatever auth-server’s state');
    return consent.id;
  };
  const cascadeOf = async (consentId: string) => (await fixture.repository.findById(consentId))?.cascade;

  test('peer down: the revocation is accepted and stays pending; delivered once the peer starts', async () => {
    const port = await freePort();
    const running = startRelay(fixture.mongo, `127.0.0.1:${port}`, 61_000);
    relay = running.relay;
    try {
      const consentId = await revokedConsent();
      await eventually(async () => ((await cascadeOf(consentId))?.attempts ?? 0) >= 2);
      assert.equal((await cascadeOf(consentId))?.state, 'pending');

      const peer = await startTokensPeer(port);
      try {
        await eventually(async () => (await cascadeOf(consentId))?.state === 'delivered');
        assert.deepEqual(
          peer.revoked.filter((call) => call.consentId === consentId),
          [{ consentId, reason: 'consent_revoked' }],
        );
      } finally {
        await peer.server.shutdown(500);
      }
    } finally {
      relay = undefined;
      await running.stop();
    }
  });

  test('nothing is lost across a restart: a new process delivers what the old one could not', async () => {
    const port = await freePort();
    const first = startRelay(fixture.mongo, `127.0.0.1:${port}`);
    relay = first.relay;
    const consentId = await revokedConsent();
    await eventually(async () => ((await cascadeOf(consentId))?.attempts ?? 0) >= 1);
    relay = undefined;
    await first.stop(); // the old process goes away with the entry still pending

    const failedWhileDown = (await cascadeOf(consentId))!.attempts;
    const peer = await startTokensPeer(port);
    const connection = await connectMongo({ url: fixture.mongoUrl, serverSelectionTimeoutMS: 5_000 });
    const second = startRelay(connection, `127.0.0.1:${port}`);
    try {
      await eventually(async () => (await cascadeOf(consentId))?.state === 'delivered');
      assertDeliveredAtLeastOnce({
        calls: peer.revoked.filter((call) => call.consentId === consentId).length,
        failedAttempts: (await cascadeOf(consentId))!.attempts - failedWhileDown,
        what: `RevokeByConsent for ${consentId}`,
      });
      assert.equal(await createMongoRevocationOutbox(connection).countPending(), 0);
    } finally {
      await second.stop();
      await closeMongo(connection);
      await peer.server.shutdown(500);
    }
  });

  test('a consent that expires after authorisation cascades too', async () => {
    const port = await freePort();
    const peer = await startTokensPeer(port);
    const running = startRelay(fixture.mongo, `127.0.0.1:${port}`, 61_000);
    relay = running.relay;
    try {
      const consent = await fixture.consents.createAccountAccessConsent({
        clientId: 'tpp-r',
        permissions: ['ReadBalances'],
        request: {},
        risk: {},
        expiresAt: new Date(Date.now() + 60_000),
      });
      await fixture.consents.authorise({
        consentId: consent.id,
        subject: AMELIA,
        accountIds: ['acc-22289-current'],
        actor: 'a',
      });
      fixture.clock.now = new Date(Date.now() + 61_000);
      await fixture.consents.expireDue();
      await eventually(async () =>
        peer.revoked.some((call) => call.consentId === consent.id && call.reason === 'consent_expired'),
      );
    } finally {
      fixture.clock.now = new Date();
      relay = undefined;
      await running.stop();
      await peer.server.shutdown(500);
    }
  });
});
