import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { configV1, tokensV1 } from '@obip/contracts';
import { DependencyUnavailableError, DomainError, NotFoundError } from '@obip/errors';
import { createGrpcClient, createGrpcServer } from './index';
import { createRecordingLogger, spawnTokensServer, startTokensServer, type ChildServer } from './test-fixtures/harness';

async function failure(promise: Promise<unknown>): Promise<DomainError> {
  const error: unknown = await promise.then(
    () => assert.fail('expected the call to fail'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof DomainError, `expected a DomainError, got ${String(error)}`);
  return error;
}

/**
 * A handler that answers only when the test releases it, so only a deadline can end the call.
 * (A sleep plus a wall-clock bound would measure the machine's load, not the deadline: CI's
 * load has stretched such bounds before.)
 */
function holdHandler(): { held: Promise<void>; release: () => void } {
  let release = (): void => undefined;
  const held = new Promise<void>((resolve) => (release = resolve));
  return { held, release };
}

describe('createGrpcClient deadlines', () => {
  test(
    'a handler slower than the deadline surfaces as a 503-class unavailable error, not as not found',
    { timeout: 10_000 },
    async () => {
      const gate = holdHandler();
      const { server, target } = await startTokensServer({
        revokeByConsent: async () => {
          await gate.held;
          return { revokedCount: 1 };
        },
      });
      const client = createGrpcClient(tokensV1.TokensClient, { target: `ipv4:///${target}` });
      try {
        const error = await failure(
          client.call('revokeByConsent', { consentId: 'c-1', reason: '' }, { deadlineMs: 50 }),
        );
        assert.equal(error.kind, 'unavailable');
        assert.equal(error.code, 'temporarily_unavailable');
      } finally {
        gate.release();
        client.close();
        await server.shutdown(1_000);
      }
    },
  );

  test('a call that names no deadline gets the default one', { timeout: 10_000 }, async () => {
    const gate = holdHandler();
    const { server, target } = await startTokensServer({
      revokeGrant: async () => {
        await gate.held;
        return { revokedCount: 1 };
      },
    });
    const client = createGrpcClient(tokensV1.TokensClient, { target: `ipv4:///${target}`, defaultDeadlineMs: 50 });
    try {
      const error = await failure(client.call('revokeGrant', { grantId: 'g-1', reason: '' }));
      assert.equal(error.kind, 'unavailable');
    } finally {
      gate.release();
      client.close();
      await server.shutdown(1_000);
    }
  });

  test('a server that is not there surfaces as unavailable', async () => {
    const { server, target } = await startTokensServer();
    await server.shutdown(100);
    const client = createGrpcClient(tokensV1.TokensClient, { target: `ipv4:///${target}` });
    try {
      const error = await failure(client.call('revokeGrant', { grantId: 'g-1', reason: '' }, { deadlineMs: 300 }));
      assert.equal(error.kind, 'unavailable');
    } finally {
      client.close();
    }
  });
});

describe('createGrpcClient load balancing', () => {
  let servers: ChildServer[] = [];

  before(async () => {
    servers = await Promise.all([spawnTokensServer(), spawnTokensServer()]);
  });
  after(async () => {
    await Promise.all(servers.map((server) => server.stop()));
  });

  test('a deadline exceeded toward another process surfaces as a 503-class error, not as not found', async () => {
    const client = createGrpcClient(tokensV1.TokensClient, { target: `ipv4:///127.0.0.1:${servers[0]!.port}` });
    try {
      const error = await failure(
        client.call('revokeGrant', { grantId: 'g-1', reason: 'slow:500' }, { deadlineMs: 100 }),
      );
      assert.ok(error instanceof DependencyUnavailableError);
      assert.equal(error.kind, 'unavailable');
      assert.notEqual(error.kind, 'not_found');
    } finally {
      client.close();
    }
  });

  test('spreads calls round robin over servers running in two separate processes', async () => {
    const addresses = servers.map((server) => `127.0.0.1:${server.port}`).join(',');
    const client = createGrpcClient(tokensV1.TokensClient, { target: `ipv4:///${addresses}` });
    try {
      const answeredBy = new Map<number, number>();
      for (let i = 0; i < 20; i += 1) {
        const { revokedCount: pid } = await client.call('revokeByConsent', { consentId: `c-${i}`, reason: '' });
        answeredBy.set(pid, (answeredBy.get(pid) ?? 0) + 1);
      }
      assert.deepEqual(
        [...answeredBy.keys()].sort(),
        servers.map((server) => server.pid).sort(),
        `calls per server: ${JSON.stringify([...answeredBy])}`,
      );
    } finally {
      client.close();
    }
  });
});

describe('createGrpcClient retries', () => {
  /** Counts attempts per method; each method fails its first attempt with UNAVAILABLE. */
  const attempts = { revokeByConsent: 0, revokeByClient: 0 };
  let server: Awaited<ReturnType<typeof startTokensServer>>;

  before(async () => {
    server = await startTokensServer({
      revokeByConsent: () => {
        attempts.revokeByConsent += 1;
        if (attempts.revokeByConsent === 1) throw new DependencyUnavailableError('warming up');
        return { revokedCount: 7 };
      },
      revokeByClient: () => {
        attempts.revokeByClient += 1;
        if (attempts.revokeByClient === 1) throw new DependencyUnavailableError('warming up');
        return { revokedCount: 7 };
      },
    });
  });
  after(() => server.server.shutdown(100));

  test('retries an idempotent method that failed with UNAVAILABLE, and succeeds', async () => {
    const client = createGrpcClient(tokensV1.TokensClient, {
      target: `ipv4:///${server.target}`,
      idempotentMethods: ['revokeByConsent'],
    });
    try {
      const response = await client.call('revokeByConsent', { consentId: 'c-1', reason: '' });
      assert.equal(response.revokedCount, 7);
      assert.equal(attempts.revokeByConsent, 2);
    } finally {
      client.close();
    }
  });

  test('does not retry a method that is not declared idempotent', async () => {
    const client = createGrpcClient(tokensV1.TokensClient, {
      target: `ipv4:///${server.target}`,
      idempotentMethods: ['revokeByConsent'],
    });
    try {
      const error = await failure(client.call('revokeByClient', { clientId: 'cl-1', reason: '' }));
      assert.equal(error.kind, 'unavailable');
      assert.equal(attempts.revokeByClient, 1);
    } finally {
      client.close();
    }
  });
});

describe('createGrpcClient streams', () => {
  const snapshot = (version: number) => ({ version, settingsJson: '{}', updatedAt: 1_700_000_000 + version });
  let target = '';
  const server = createGrpcServer({ serviceName: 'grpc-test', logger: createRecordingLogger() });
  server.addService(configV1.ConfigService, {
    getConfig: () => ({ snapshot: snapshot(1) }),
    watchConfig: async ({ knownVersion }, call) => {
      if (knownVersion < 0) throw new NotFoundError('no such version', { code: 'version_not_found' });
      call.write({ snapshot: snapshot(knownVersion + 1) });
      call.write({ snapshot: snapshot(knownVersion + 2) });
    },
  });

  before(async () => {
    target = `ipv4:///127.0.0.1:${await server.listen('127.0.0.1', 0)}`;
  });
  after(() => server.shutdown(100));

  test('yields every message of a server stream, then ends', async () => {
    const client = createGrpcClient(configV1.ConfigClient, { target });
    try {
      const versions: number[] = [];
      for await (const message of client.stream('watchConfig', { knownVersion: 4 })) {
        versions.push(message.snapshot?.version ?? -1);
      }
      assert.deepEqual(versions, [5, 6]);
    } finally {
      client.close();
    }
  });

  test('throws the DomainError a stream handler threw, with its kind and code', async () => {
    const client = createGrpcClient(configV1.ConfigClient, { target });
    try {
      const error = await failure(
        (async () => {
          for await (const message of client.stream('watchConfig', { knownVersion: -1 })) void message;
        })(),
      );
      assert.equal(error.kind, 'not_found');
      assert.equal(error.code, 'version_not_found');
    } finally {
      client.close();
    }
  });
});

describe('createGrpcClient reconnection', () => {
  test('reaches a restarted peer within about a second, however long it was down', async () => {
    const first = await startTokensServer();
    const port = Number(first.target.split(':')[1]);
    const client = createGrpcClient(tokensV1.TokensClient, { target: `ipv4:///${first.target}` });
    const call = () => client.call('revokeGrant', { grantId: 'g-1', reason: '' }, { deadlineMs: 200 });
    let second: Awaited<ReturnType<typeof startTokensServer>> | undefined;
    try {
      await call();
      await first.server.shutdown(100);
      // Five seconds of failed calls: grpc-js's default backoff (1 s × 1.6ⁿ, up to 120 s) would
      // now wait about four more seconds before its next connection attempt.
      const downUntil = Date.now() + 5_000;
      while (Date.now() < downUntil) {
        assert.equal((await failure(call())).kind, 'unavailable');
        await sleep(100);
      }
      second = await startTokensServer({}, {}, port);
      const restartedAt = Date.now();
      for (;;) {
        const answered = await call().then(
          () => true,
          () => false,
        );
        if (answered) break;
        assert.ok(Date.now() - restartedAt < 1_500, 'still unavailable 1.5 s after the peer came back');
        await sleep(50);
      }
    } finally {
      client.close();
      await second?.server.shutdown(100);
    }
  });
});
