import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Client, credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { tokensV1 } from '@obip/contracts';
import { DomainError, NotFoundError } from '@obip/errors';
import { service as healthService } from 'grpc-health-check';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { checkGrpcHealth, createGrpcServer, grpcServerMetrics, type GrpcLogger } from './index';
import { createRecordingLogger, startTokensServer, tokensHandlers } from './test-fixtures/harness';

/** Opens `grpc.health.v1.Health/Watch` and returns a function that reads the next status. */
function watchHealth(target: string, service = '') {
  const watch = healthService['Watch'];
  assert.ok(watch);
  const client = new Client(target, credentials.createInsecure());
  const call = client.makeServerStreamRequest(
    watch.path,
    watch.requestSerialize,
    watch.responseDeserialize,
    { service },
    new Metadata(),
    {},
  );
  const messages: AsyncIterator<unknown> = call[Symbol.asyncIterator]();
  return {
    async next(): Promise<unknown> {
      const { value } = await messages.next();
      return typeof value === 'object' && value !== null && 'status' in value ? value.status : undefined;
    },
    close() {
      call.cancel();
      client.close();
    },
  };
}

describe('createGrpcServer health', () => {
  test('reports the server and each added service NOT_SERVING until told otherwise', async () => {
    const server = createGrpcServer({ serviceName: 'grpc-test', logger: createRecordingLogger() });
    server.addService(tokensV1.TokensService, tokensHandlers());
    const target = `127.0.0.1:${await server.listen('127.0.0.1', 0)}`;
    try {
      assert.equal(await checkGrpcHealth(target), 'NOT_SERVING');
      assert.equal(await checkGrpcHealth(target, { service: 'obip.tokens.v1.Tokens' }), 'NOT_SERVING');
      server.health.setServing('obip.tokens.v1.Tokens', true);
      assert.equal(await checkGrpcHealth(target, { service: 'obip.tokens.v1.Tokens' }), 'SERVING');
      assert.equal(await checkGrpcHealth(target), 'NOT_SERVING');
    } finally {
      await server.shutdown(100);
    }
  });

  test('answers SERVICE_UNKNOWN for a service it does not serve', async () => {
    const { server, target } = await startTokensServer();
    try {
      assert.equal(await checkGrpcHealth(target, { service: 'obip.nothing.v1.Nothing' }), 'SERVICE_UNKNOWN');
    } finally {
      await server.shutdown(100);
    }
  });

  test('reports SERVING, then NOT_SERVING as soon as shutdown begins, then stops answering', async () => {
    const { server, target } = await startTokensServer();
    assert.equal(await checkGrpcHealth(target), 'SERVING');
    const watcher = watchHealth(target);
    assert.equal(await watcher.next(), 'SERVING');

    const shutdown = server.shutdown(2_000);
    assert.equal(await watcher.next(), 'NOT_SERVING');
    watcher.close(); // the watch is the last call in flight: closing it lets shutdown finish
    await shutdown;

    const error: unknown = await checkGrpcHealth(target, { deadlineMs: 300 }).catch((e: unknown) => e);
    assert.ok(error instanceof DomainError);
    assert.equal(error.kind, 'unavailable');
  });
});

describe('createGrpcServer metrics', () => {
  test('counts handled calls by grpc_code and times them', async () => {
    const registry = new Registry();
    const { server, target } = await startTokensServer(
      {
        revokeByConsent: ({ consentId }) => {
          if (consentId === 'missing') throw new NotFoundError('no such consent');
          return { revokedCount: 1 };
        },
      },
      { registry },
    );
    const raw = new tokensV1.TokensClient(target, credentials.createInsecure());
    const revoke = (consentId: string) =>
      new Promise<void>((resolve) => raw.revokeByConsent({ consentId, reason: '' }, () => resolve()));
    await revoke('c-1');
    await revoke('c-2');
    await revoke('missing');
    raw.close();
    await server.shutdown(100);

    const labels = { grpc_type: 'unary', grpc_service: 'obip.tokens.v1.Tokens', grpc_method: 'RevokeByConsent' };
    const metrics = grpcServerMetrics(registry);
    const handled = (await metrics.handled.get()).values;
    const count = (grpcCode: string) =>
      handled.find(
        (value) => value.labels['grpc_code'] === grpcCode && value.labels['grpc_method'] === labels.grpc_method,
      )?.value;
    assert.equal(count('OK'), 2);
    assert.equal(count('NotFound'), 1);

    const handling = (await metrics.handling.get()).values;
    const timed = handling.find(
      (value) =>
        value.metricName === 'grpc_server_handling_seconds_count' && value.labels['grpc_method'] === labels.grpc_method,
    );
    assert.equal(timed?.value, 3);
  });

  test('shares its metrics between servers given the same registry', async () => {
    const registry = new Registry();
    const logger = createRecordingLogger();
    createGrpcServer({ serviceName: 'one', logger, registry });
    assert.doesNotThrow(() => createGrpcServer({ serviceName: 'two', logger, registry }));
    assert.equal((await registry.getMetricsAsJSON()).filter((m) => m.name === 'grpc_server_handled_total').length, 1);
  });
});

describe('createGrpcServer limits', () => {
  test('refuses a request over maxReceiveMessageLength with RESOURCE_EXHAUSTED before the handler runs', async () => {
    let handled = 0;
    const { server, target } = await startTokensServer({
      revokeByConsent: () => {
        handled += 1;
        return { revokedCount: 1 };
      },
    });
    const raw = new tokensV1.TokensClient(target, credentials.createInsecure());
    const oversized = { consentId: 'c-1', reason: 'x'.repeat(1024 * 1024 + 1) };
    const error = await new Promise<ServiceError | null>((resolve) =>
      raw.revokeByConsent(oversized, (e) => resolve(e)),
    );
    raw.close();
    await server.shutdown(100);
    assert.equal(error?.code, status.RESOURCE_EXHAUSTED);
    assert.equal(handled, 0);
  });
});

describe('createGrpcServer logging', () => {
  test('accepts a pino logger', async () => {
    const logger: GrpcLogger = pino({ level: 'silent' });
    const server = createGrpcServer({ serviceName: 'grpc-test', logger });
    server.addService(tokensV1.TokensService, tokensHandlers());
    await server.listen('127.0.0.1', 0);
    await server.shutdown(100);
  });
});

describe('createGrpcServer call bound', () => {
  test('answers DEADLINE_EXCEEDED when a call without a deadline runs past maxCallDurationMs', async () => {
    const server = createGrpcServer({
      serviceName: 'grpc-test',
      logger: createRecordingLogger(),
      maxCallDurationMs: 200,
    });
    // A handler waiting on a dependency that never answers.
    server.addService(tokensV1.TokensService, tokensHandlers({ revokeByConsent: () => new Promise(() => undefined) }));
    const target = `127.0.0.1:${await server.listen('127.0.0.1', 0)}`;
    const client = new Client(target, credentials.createInsecure());
    const method = tokensV1.TokensService.revokeByConsent;
    try {
      const startedAt = Date.now();
      const error = await new Promise<ServiceError | null>((resolve) => {
        client.makeUnaryRequest(
          method.path,
          method.requestSerialize,
          method.responseDeserialize,
          { consentId: 'c-1', reason: 'test' },
          new Metadata(),
          {}, // no deadline
          (callError) => resolve(callError),
        );
      });
      assert.equal(error?.code, status.DEADLINE_EXCEEDED);
      assert.ok(Date.now() - startedAt < 5_000, 'bounded by the server, not by the test');
    } finally {
      client.close();
      await server.shutdown(100);
    }
  });
});
