import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { configV1 } from '@obip/contracts';
import { createGrpcServer } from '@obip/grpc';
import { createLogger } from '@obip/observability';
import { subscribeToPlatformConfig } from '@obip/platform-config';
import { composeConfigApi, type ConfigApiComponents } from '../compose';
import { startConfigApiHarness, type ConfigApiHarness } from '../testing/config-api.harness';

const quiet = createLogger({ service: 'test', level: 'silent' });

let harness: ConfigApiHarness;
before(async () => {
  harness = await startConfigApiHarness({ name: 'config-publication' });
});
after(() => harness.stop());

async function waitFor<T>(read: () => T | undefined, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are read field by field and checked against the OpenAPI document
async function putSettings(change: (settings: any) => void): Promise<void> {
  const read = await harness.call('/v1/settings');
  const settings = await read.json();
  change(settings);
  const response = await harness.call('/v1/settings', {
    method: 'PUT',
    headers: { 'content-type': 'application/json', 'if-match': read.headers.get('etag')! },
    body: JSON.stringify(settings),
  });
  assert.equal(response.status, 200);
}

describe('config.v1.Config', () => {
  it('GetConfig returns the current settings, directories and trust anchors as one validated document', async () => {
    const subscription = await subscribeToPlatformConfig({
      target: harness.grpcTarget,
      logger: quiet,
      onConfig: () => undefined,
    });
    try {
      const applied = await waitFor(() => subscription.current(), 'the first snapshot');
      assert.equal(applied.source, 'config-api');
      assert.equal(applied.config.settings.lifetimes.accessTokenSeconds, 300);
      assert.deepEqual(applied.config.directories, []);
    } finally {
      await subscription.stop();
    }
  });

  it('streams a change made on this replica to a subscriber at once', async () => {
    const subscription = await subscribeToPlatformConfig({
      target: harness.grpcTarget,
      logger: quiet,
      onConfig: () => undefined,
    });
    try {
      const first = await waitFor(() => subscription.current(), 'the first snapshot');
      await putSettings((settings) => {
        settings.lifetimes.clientCredentialsSeconds = 120;
      });
      const changed = await waitFor(
        () =>
          subscription.current()!.config.settings.lifetimes.clientCredentialsSeconds === 120
            ? subscription.current()
            : undefined,
        'the changed snapshot',
      );
      assert.ok(changed.version > first.version);
    } finally {
      await subscription.stop();
    }
  });

  it('a watch on another replica sees the change through the shared version, and ends on shutdown', async () => {
    // A second replica on the same database, with its own gRPC server.
    const replica: ConfigApiComponents = await composeConfigApi({
      settings: harness.settings,
      logger: quiet,
      mongo: harness.mongo,
      registry: new Registry(),
      sink: { publishTrustAnchors: async () => undefined, publishSigningKeys: async () => undefined },
    });
    await replica.start();
    const server = createGrpcServer({ serviceName: 'config-api-replica', logger: quiet });
    server.addService(configV1.ConfigService, replica.configHandlers);
    const port = await server.listen('127.0.0.1', 0);
    const subscription = await subscribeToPlatformConfig({
      target: `127.0.0.1:${port}`,
      logger: quiet,
      onConfig: () => undefined,
    });
    try {
      await waitFor(() => subscription.current(), 'the first snapshot from the replica');
      const created = await harness.call('/v1/directories', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          name: 'Replica test directory',
          issuer: 'Replica Test Ltd',
          jwksUri: 'https://directory.example/jwks',
          environment: 'production',
        }),
      });
      assert.equal(created.status, 201);
      const applied = await waitFor(
        () => (subscription.current()!.config.directories.length === 1 ? subscription.current() : undefined),
        'the directory, published by the other replica',
      );
      assert.equal(applied.config.directories[0]!.issuer, 'Replica Test Ltd');
    } finally {
      await subscription.stop();
      // Streams end when the publication stops, so the server drains well within its grace.
      replica.stop();
      const started = Date.now();
      await server.shutdown(5_000);
      assert.ok(Date.now() - started < 4_000, 'the gRPC server drained without waiting for the grace period');
    }
  });
});
