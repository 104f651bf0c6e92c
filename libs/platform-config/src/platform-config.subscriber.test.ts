import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { configV1 } from '@obip/contracts';
import { createGrpcServer, type GrpcLogger, type ServerStreamHandler } from '@obip/grpc';
import {
  backoffDelay,
  defaultPlatformSettings,
  readCachedSnapshot,
  subscribeToPlatformConfig,
  type PlatformConfig,
  type PlatformConfigLogger,
  type PlatformConfigSubscription,
} from './index';

const silentGrpcLogger: GrpcLogger = {
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => silentGrpcLogger,
};

type Watcher = Parameters<ServerStreamHandler<configV1.WatchConfigRequest, configV1.WatchConfigResponse>>[1];

/** config-api's Config service as a real gRPC server: publishes snapshots to every open watch. */
async function startConfigServer(options: { port?: number; firstVersion?: number; settingsJson?: string } = {}) {
  let latest: configV1.ConfigSnapshot = {
    version: options.firstVersion ?? 1,
    settingsJson: options.settingsJson ?? configJson(),
    updatedAt: Math.floor(Date.now() / 1000),
  };
  const watchers = new Set<Watcher>();
  const server = createGrpcServer({ serviceName: 'config-api-double', logger: silentGrpcLogger });
  server.addService(configV1.ConfigService, {
    getConfig: async () => ({ snapshot: latest }),
    async watchConfig({ knownVersion }, call) {
      if (latest.version !== knownVersion) call.write({ snapshot: latest });
      watchers.add(call);
      await new Promise<void>((resolve) => {
        call.on('cancelled', resolve);
        call.on('close', resolve);
      });
      watchers.delete(call);
    },
  });
  const port = await server.listen('127.0.0.1', options.port ?? 0);
  return {
    port,
    target: `ipv4:///127.0.0.1:${port}`,
    watchers,
    publish(settingsJson: string) {
      latest = { version: latest.version + 1, settingsJson, updatedAt: Math.floor(Date.now() / 1000) };
      for (const watcher of watchers) watcher.write({ snapshot: latest });
      return latest.version;
    },
    stop: () => server.shutdown(0),
  };
}

function configJson(change: (config: PlatformConfig) => void = () => undefined): string {
  const config: PlatformConfig = {
    settings: defaultPlatformSettings('https://bank.example'),
    directories: [],
    trustAnchors: [],
  };
  change(config);
  return JSON.stringify(config);
}

function recordingLogger(): PlatformConfigLogger & { lines: Array<{ level: string; message: string }> } {
  const lines: Array<{ level: string; message: string }> = [];
  const record = (level: string) => (_bindings: object, message: string) => void lines.push({ level, message });
  return { lines, info: record('info'), warn: record('warn'), error: record('error') };
}

async function waitFor(what: string, predicate: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > until) assert.fail(`timed out waiting until ${what}`);
    await sleep(10);
  }
}

const FAST = { initialMs: 20, maxMs: 100 };

describe('subscribeToPlatformConfig', () => {
  const dirs: string[] = [];
  const subscriptions: PlatformConfigSubscription[] = [];
  const cacheFile = () => {
    const dir = mkdtempSync(join(tmpdir(), 'obip-platform-config-'));
    dirs.push(dir);
    return join(dir, 'nested', 'platform-config.json');
  };
  const subscribe = async (options: Parameters<typeof subscribeToPlatformConfig>[0]) => {
    const subscription = await subscribeToPlatformConfig(options);
    subscriptions.push(subscription);
    return subscription;
  };
  after(async () => {
    await Promise.all(subscriptions.map((subscription) => subscription.stop()));
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  test('applies the current snapshot, then a change config-api pushes later, and caches each', async () => {
    const server = await startConfigServer({ firstVersion: 4 });
    const applied: Array<{ version: number; ttl: number }> = [];
    const file = cacheFile();
    const logger = recordingLogger();
    const subscription = await subscribe({
      target: server.target,
      cacheFile: file,
      logger,
      backoff: FAST,
      onConfig: (config, version) =>
        void applied.push({ version, ttl: config.settings.lifetimes.clientCredentialsSeconds }),
    });
    try {
      await waitFor('version 4 is applied', () => subscription.current()?.version === 4);
      assert.equal(subscription.current()?.source, 'config-api');
      await waitFor('the watch is open', () => server.watchers.size === 1);

      const version = server.publish(
        configJson((config) => (config.settings.lifetimes.clientCredentialsSeconds = 120)),
      );
      await waitFor('the pushed version is applied', () => subscription.current()?.version === version);
      assert.deepEqual(applied, [
        { version: 4, ttl: 300 },
        { version: 5, ttl: 120 },
      ]);
      await waitFor('the cache holds version 5', async () => (await readCachedSnapshot(file))?.version === 5);
      assert.ok(
        logger.lines.some((line) => line.message === 'applied platform config version 5'),
        JSON.stringify(logger.lines),
      );
    } finally {
      await subscription.stop();
      await server.stop();
    }
  });

  test('keeps its version while config-api is gone and reconnects to the one that replaces it', async () => {
    const first = await startConfigServer({ firstVersion: 1 });
    const logger = recordingLogger();
    const applied: number[] = [];
    const subscription = await subscribe({
      target: first.target,
      logger,
      backoff: FAST,
      deadlineMs: 300,
      onConfig: (_config, version) => void applied.push(version),
    });
    await waitFor('version 1 is applied', () => subscription.current()?.version === 1);
    await first.stop();
    await waitFor('the outage is logged', () =>
      logger.lines.some((line) => line.level === 'warn' && /unreachable; keeping version 1/.test(line.message)),
    );
    assert.equal(subscription.current()?.version, 1, 'the last good version stays current');

    const second = await startConfigServer({
      port: first.port,
      firstVersion: 2,
      settingsJson: configJson((config) => (config.settings.requirements.dpopNonces = false)),
    });
    try {
      await waitFor('version 2 from the new server is applied', () => subscription.current()?.version === 2);
      assert.equal(subscription.current()?.config.settings.requirements.dpopNonces, false);
      assert.deepEqual(applied, [1, 2]);
      assert.equal(
        logger.lines.filter((line) => line.message === 'connected to config-api').length,
        2,
        'connected, then connected again after the outage',
      );
    } finally {
      await subscription.stop();
      await second.stop();
    }
  });

  test('starts with the cached snapshot when config-api is unreachable, without waiting for it', async () => {
    const file = cacheFile();
    const server = await startConfigServer({
      firstVersion: 9,
      settingsJson: configJson((config) => (config.settings.defaultFapiProfile = 'fapi1-advanced')),
    });
    const writer = await subscribe({
      target: server.target,
      cacheFile: file,
      logger: recordingLogger(),
      onConfig() {},
    });
    await waitFor('the cache holds version 9', async () => (await readCachedSnapshot(file))?.version === 9);
    await writer.stop();
    await server.stop();
    assert.deepEqual(readdirSync(join(file, '..')), ['platform-config.json'], 'no temporary file is left behind');

    const applied: Array<{ version: number; profile: string }> = [];
    const logger = recordingLogger();
    const startedAt = Date.now();
    const restarted = await subscribe({
      target: server.target,
      cacheFile: file,
      logger,
      backoff: FAST,
      deadlineMs: 200,
      onConfig: (config, version) => void applied.push({ version, profile: config.settings.defaultFapiProfile }),
    });
    assert.ok(Date.now() - startedAt < 1_000, 'start-up does not wait for config-api');
    assert.deepEqual(applied, [{ version: 9, profile: 'fapi1-advanced' }], 'applied before the subscription resolves');
    assert.equal(restarted.current()?.source, 'cache');
    await waitFor('the outage is logged', () =>
      logger.lines.some((line) => /config-api unreachable; keeping version 9/.test(line.message)),
    );
    await restarted.stop();
  });

  test('without a cache or config-api the service keeps its environment and start-up is not held', async () => {
    const logger = recordingLogger();
    const subscription = await subscribe({
      target: 'ipv4:///127.0.0.1:1',
      cacheFile: cacheFile(),
      logger,
      backoff: FAST,
      deadlineMs: 200,
      onConfig: () => assert.fail('nothing to apply'),
    });
    assert.equal(subscription.current(), undefined);
    await waitFor('the outage is logged', () =>
      logger.lines.some((line) => /unreachable; keeping the settings from the environment/.test(line.message)),
    );
    await subscription.stop();
  });

  test('ignores an invalid snapshot and a malformed cache file, keeping the last good version', async () => {
    const server = await startConfigServer({ firstVersion: 1 });
    const logger = recordingLogger();
    const file = cacheFile();
    const applied: number[] = [];
    const subscription = await subscribe({
      target: server.target,
      cacheFile: file,
      logger,
      backoff: FAST,
      onConfig: (_config, version) => void applied.push(version),
    });
    try {
      await waitFor('the watch is open', () => server.watchers.size === 1);
      server.publish(configJson((config) => (config.settings.lifetimes.authorizationCodeSeconds = 600)));
      server.publish('{"settings":');
      await waitFor('both invalid snapshots are logged', () =>
        logger.lines.some((line) => line.message === 'platform config version 3 is invalid; keeping version 1'),
      );
      assert.ok(
        logger.lines.some((line) => line.message === 'platform config version 2 is invalid; keeping version 1'),
      );
      assert.equal(subscription.current()?.version, 1);
      assert.equal((await readCachedSnapshot(file))?.version, 1, 'an invalid snapshot is never cached');

      const version = server.publish(configJson());
      await waitFor('the next valid snapshot is applied', () => subscription.current()?.version === version);
      assert.deepEqual(applied, [1, 4]);
    } finally {
      await subscription.stop();
      await server.stop();
    }

    writeFileSync(file, '{"not":"a snapshot"}');
    const fromBadCache = await subscribe({
      target: 'ipv4:///127.0.0.1:1',
      cacheFile: file,
      logger,
      backoff: FAST,
      deadlineMs: 100,
      onConfig: () => assert.fail('nothing to apply'),
    });
    assert.equal(fromBadCache.current(), undefined);
    assert.ok(logger.lines.some((line) => line.message === 'ignoring an unreadable platform config cache file'));
    await fromBadCache.stop();
  });

  test('a service that fails to apply a version keeps the previous one and gets the next', async () => {
    const server = await startConfigServer({ firstVersion: 1 });
    const logger = recordingLogger();
    const subscription = await subscribe({
      target: server.target,
      logger,
      backoff: FAST,
      onConfig(_config, version) {
        if (version === 2) throw new Error('cannot apply');
      },
    });
    try {
      await waitFor('the watch is open', () => server.watchers.size === 1);
      server.publish(configJson());
      await waitFor('the failure is logged', () =>
        logger.lines.some((line) => line.level === 'error' && /version 2 failed; keeping version 1/.test(line.message)),
      );
      assert.equal(subscription.current()?.version, 1);
      server.publish(configJson());
      await waitFor('version 3 is applied', () => subscription.current()?.version === 3);
    } finally {
      await subscription.stop();
      await server.stop();
    }
  });

  test('stop() ends the watch: nothing is applied afterwards', async () => {
    const server = await startConfigServer({ firstVersion: 1 });
    const applied: number[] = [];
    const subscription = await subscribe({
      target: server.target,
      logger: recordingLogger(),
      onConfig: (_config, version) => void applied.push(version),
    });
    try {
      await waitFor('the watch is open', () => server.watchers.size === 1);
      await subscription.stop();
      await waitFor('the server sees the watch end', () => server.watchers.size === 0);
      server.publish(configJson());
      await sleep(100);
      assert.deepEqual(applied, [1]);
    } finally {
      await server.stop();
    }
  });
});

test('reconnection delays grow exponentially up to the cap, jittered over their upper half', () => {
  const backoff = { initialMs: 500, maxMs: 30_000 };
  assert.equal(
    backoffDelay(0, backoff, () => 0),
    250,
  );
  assert.equal(
    backoffDelay(0, backoff, () => 1),
    500,
  );
  assert.equal(
    backoffDelay(3, backoff, () => 1),
    4_000,
  );
  assert.equal(
    backoffDelay(20, backoff, () => 1),
    30_000,
  );
  assert.equal(
    backoffDelay(1_000, backoff, () => 0),
    15_000,
  );
});
