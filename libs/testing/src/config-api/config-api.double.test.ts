import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { configV1 } from '@obip/contracts';
import { createGrpcClient } from '@obip/grpc';
import { subscribeToPlatformConfig, type PlatformConfig } from '@obip/platform-config';
import { startConfigApiDouble, type ConfigApiDouble } from './config-api.double';

const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };

async function waitFor(what: string, predicate: () => boolean, timeoutMs = 5_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > until) assert.fail(`timed out waiting until ${what}`);
    await sleep(10);
  }
}

describe('config-api double', () => {
  let configApi: ConfigApiDouble;
  before(async () => {
    configApi = await startConfigApiDouble();
  });
  after(() => configApi.stop());

  test('answers GetConfig UNAVAILABLE until something is published', async () => {
    const client = createGrpcClient(configV1.ConfigClient, { target: configApi.target, defaultDeadlineMs: 2_000 });
    try {
      await assert.rejects(client.call('getConfig', {}), (error: { kind?: string }) => error.kind === 'unavailable');
    } finally {
      client.close();
    }
  });

  test('publishes each change as the next version to a subscriber, replacing only the parts given', async () => {
    const applied: Array<{ config: PlatformConfig; version: number }> = [];
    assert.equal(configApi.publish(), 1);
    const subscription = await subscribeToPlatformConfig({
      target: configApi.target,
      logger: silent,
      onConfig: (config, version) => void applied.push({ config, version }),
    });
    try {
      await waitFor('version 1 is applied', () => applied.length === 1);
      const directory = {
        id: 'ob',
        name: 'OB Directory',
        issuer: 'OpenBanking Ltd',
        jwksUri: 'https://keystore.example/ob.jwks',
        environment: 'sandbox' as const,
        status: 'active' as const,
      };
      assert.equal(configApi.publish({ directories: [directory] }), 2);
      await waitFor('version 2 is applied', () => applied.length === 2);
      assert.deepEqual(applied[1]?.config.directories, [directory]);
      assert.deepEqual(applied[1]?.config.settings, applied[0]?.config.settings);
      assert.equal(configApi.watchers(), 1);
    } finally {
      await subscription.stop();
    }
    await waitFor('the watch is closed', () => configApi.watchers() === 0);
  });
});
