import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { loadSettings, SettingsError } from '@obip/config';
import { startFakeKubernetesApi, type FakeKubernetesApi } from '@obip/testing';
import { settingsShape } from '../config';
import { createKubernetesApis, type KubernetesLogger } from './kubernetes.client';
import { KubernetesSyncError } from './kubernetes.errors';
import {
  CA_BUNDLE_KEY,
  SIGNING_KEYS_KEY,
  createDisabledSink,
  createKubernetesSink,
  createLocalTwinSink,
  createPlatformSecretsSink,
  resolveSyncPlan,
  type KubernetesSink,
  type KubernetesSyncSettings,
  type PlatformSecretsSink,
  type PlatformSecretsState,
} from './kubernetes.sync';

const NAMESPACE = 'obip';
const CA_SECRET = 'obip-tpp-trust-bundle';
const KEYS_SECRET = 'obip-signing-keys';

const ANCHORS_V1 = '-----BEGIN CERTIFICATE-----\nMIIBanchorOne\n-----END CERTIFICATE-----\n';
const ANCHORS_V2 = `${ANCHORS_V1}-----BEGIN CERTIFICATE-----\nMIIBanchorTwo\n-----END CERTIFICATE-----\n`;
const KEYS_V1 = JSON.stringify({ keys: [{ kid: 'k1', kty: 'EC', crv: 'P-256', d: 'private' }] });
const KEYS_V2 = JSON.stringify({ keys: [{ kid: 'k2', kty: 'EC', crv: 'P-256', d: 'private' }] });

interface LogEntry {
  level: string;
  bindings: object;
  message: string;
}

function captureLogger(): { logger: KubernetesLogger; entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const at = (level: string) => (bindings: object, message: string) => void entries.push({ level, bindings, message });
  return { logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }, entries };
}

async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function secretValue(api: FakeKubernetesApi, name: string, key: string, namespace = NAMESPACE): string | undefined {
  const value = (api.secrets.get(namespace, name)?.data as Record<string, string> | undefined)?.[key];
  return value === undefined ? undefined : Buffer.from(value, 'base64').toString('utf8');
}

const baseSettings: KubernetesSyncSettings = {
  K8S_SYNC: 'auto',
  KUBERNETES_SERVICE_HOST: undefined,
  KUBECONFIG: undefined,
  K8S_NAMESPACE: undefined,
  LEASE_NAME: 'obip-config-api',
  LEASE_DURATION_SECONDS: 2,
  CA_BUNDLE_SECRET_NAME: CA_SECRET,
  SIGNING_KEYS_SECRET_NAME: KEYS_SECRET,
  POD_NAME: undefined,
  LOCAL_CA_BUNDLE_FILE: undefined,
  LOCAL_SIGNING_KEYS_FILE: undefined,
  LOCAL_RELOAD_COMMAND: [],
};

describe('Kubernetes sink: two config-api replicas and one API server', () => {
  let api: FakeKubernetesApi;
  const sinks: PlatformSecretsSink[] = [];

  before(async () => {
    api = await startFakeKubernetesApi();
  });
  after(async () => {
    await Promise.all(sinks.map((sink) => sink.stop()));
    await api.close();
  });

  function replica(identity: string, state: () => PlatformSecretsState): KubernetesSink {
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromOptions(api.kubeConfig(NAMESPACE));
    const sink = createKubernetesSink({
      apis: createKubernetesApis(kubeConfig, { leaseRequestTimeoutMs: 600 }),
      namespace: NAMESPACE,
      identity,
      leaseName: 'obip-config-api',
      leaseDurationSeconds: 2,
      caBundleSecretName: CA_SECRET,
      signingKeysSecretName: KEYS_SECRET,
      currentState: state,
      logger: captureLogger().logger,
    });
    sinks.push(sink);
    return sink;
  }

  it('writes from the elected replica only, and a new leader converges to the current state', async () => {
    const state: PlatformSecretsState = { trustAnchorsPem: ANCHORS_V1, signingKeysJson: KEYS_V1 };
    const a = replica('config-api-a', () => state);
    const b = replica('config-api-b', () => state);

    // The leader writes both Secrets from the current state as soon as it is elected.
    await waitFor(() => a.isActive() || b.isActive(), 2_000, 'a leader');
    await waitFor(() => secretValue(api, KEYS_SECRET, SIGNING_KEYS_KEY) === KEYS_V1, 2_000, 'the signing keys Secret');
    assert.equal(secretValue(api, CA_SECRET, CA_BUNDLE_KEY), ANCHORS_V1);
    const [leader, follower] = a.isActive() ? [a, b] : [b, a];
    assert.equal(follower.isActive(), false);

    // A follower never writes.
    const seen = api.requests.length;
    await follower.publishTrustAnchors('-----BEGIN CERTIFICATE-----\nfollower\n-----END CERTIFICATE-----\n');
    await follower.publishSigningKeys('{"keys":[]}');
    assert.deepEqual(
      api.requests.slice(seen).filter((r) => r.path.includes('/secrets')),
      [],
      'no Secret request from the follower',
    );
    assert.equal(secretValue(api, CA_SECRET, CA_BUNDLE_KEY), ANCHORS_V1);

    // The leader publishes a change.
    state.trustAnchorsPem = ANCHORS_V2;
    await leader.publishTrustAnchors(ANCHORS_V2);
    assert.equal(secretValue(api, CA_SECRET, CA_BUNDLE_KEY), ANCHORS_V2);

    // A change the leader never published (it stops first) still lands: the successor converges.
    state.signingKeysJson = KEYS_V2;
    await leader.stop();
    await waitFor(() => follower.isActive(), 2_000, 'the follower to take over');
    await waitFor(() => secretValue(api, KEYS_SECRET, SIGNING_KEYS_KEY) === KEYS_V2, 2_000, 'the new signing keys');
    assert.equal(secretValue(api, CA_SECRET, CA_BUNDLE_KEY), ANCHORS_V2);
    assert.equal(leader.isActive(), false);
  });

  it('keeps retrying the convergence of a new leader until the API server accepts it', async () => {
    const name = 'retry-trust-bundle';
    api.failNext('GET', `/api/v1/namespaces/${NAMESPACE}/secrets/${name}`, 500, 5);
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromOptions(api.kubeConfig(NAMESPACE));
    const sink = createKubernetesSink({
      apis: createKubernetesApis(kubeConfig),
      namespace: NAMESPACE,
      identity: 'config-api-c',
      leaseName: 'retry-lease',
      leaseDurationSeconds: 2,
      caBundleSecretName: name,
      signingKeysSecretName: 'retry-signing-keys',
      currentState: () => ({ trustAnchorsPem: ANCHORS_V1, signingKeysJson: undefined }),
      logger: captureLogger().logger,
    });
    sinks.push(sink);
    await waitFor(() => secretValue(api, name, CA_BUNDLE_KEY) === ANCHORS_V1, 4_000, 'the CA bundle Secret');
    assert.equal(api.secrets.get(NAMESPACE, 'retry-signing-keys'), undefined, 'nothing to publish yet');
  });
});

describe('createPlatformSecretsSink', () => {
  it('syncs to the cluster of a KUBECONFIG file, in its context namespace', async () => {
    const api = await startFakeKubernetesApi();
    const folder = await mkdtemp(join(tmpdir(), 'obip-kubeconfig-'));
    try {
      const kubeconfig = join(folder, 'config');
      const options = api.kubeConfig('from-context');
      await writeFile(
        kubeconfig,
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'Config',
          clusters: [{ name: 'fake', cluster: { server: api.url, 'insecure-skip-tls-verify': true } }],
          users: [{ name: 'fake-user', user: { token: 'fake-token' } }],
          contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'fake-user', namespace: 'from-context' } }],
          'current-context': options.currentContext,
        }),
      );
      const { logger, entries } = captureLogger();
      const sink = createPlatformSecretsSink(
        { ...baseSettings, KUBECONFIG: kubeconfig, POD_NAME: 'config-api-0' },
        { logger, currentState: () => ({ trustAnchorsPem: ANCHORS_V1, signingKeysJson: KEYS_V1 }) },
      );
      try {
        await waitFor(() => secretValue(api, CA_SECRET, CA_BUNDLE_KEY, 'from-context') === ANCHORS_V1, 3_000, 'Secret');
        assert.equal(sink.isActive(), true);
        const lease = api.leases.get('from-context', 'obip-config-api');
        assert.equal((lease?.spec as { holderIdentity: string }).holderIdentity, 'config-api-0');
        assert.ok(entries.some((e) => e.message.startsWith('Kubernetes sync enabled')));
      } finally {
        await sink.stop();
      }
    } finally {
      await api.close();
      await rm(folder, { recursive: true, force: true });
    }
  });

  it('logs once, clearly, why the sync is off outside a cluster without a kubeconfig or CA bundle file', async () => {
    const { logger, entries } = captureLogger();
    const sink = createPlatformSecretsSink(baseSettings, { logger, currentState: () => ({}) as PlatformSecretsState });
    assert.equal(sink.isActive(), false);
    await sink.publishTrustAnchors(ANCHORS_V1);
    await sink.publishSigningKeys(KEYS_V1);
    await sink.stop();
    assert.equal(entries.length, 1);
    assert.equal(
      entries[0]?.message,
      'Kubernetes sync disabled: not running in a cluster and no KUBECONFIG or LOCAL_CA_BUNDLE_FILE set',
    );
  });

  it('says K8S_SYNC=off when switched off', () => {
    const { logger, entries } = captureLogger();
    createDisabledSink('K8S_SYNC=off', logger);
    assert.equal(entries[0]?.message, 'Kubernetes sync disabled: K8S_SYNC=off');
  });
});

describe('resolveSyncPlan', () => {
  const plan = (overrides: Partial<KubernetesSyncSettings>) => resolveSyncPlan({ ...baseSettings, ...overrides });

  it('picks Kubernetes in a cluster, preferring an explicit kubeconfig', () => {
    assert.deepEqual(plan({ KUBERNETES_SERVICE_HOST: '10.0.0.1' }), { kind: 'kubernetes', source: 'in-cluster' });
    assert.deepEqual(plan({ KUBECONFIG: '/k', KUBERNETES_SERVICE_HOST: '10.0.0.1' }), {
      kind: 'kubernetes',
      source: 'kubeconfig',
    });
    assert.deepEqual(plan({ KUBERNETES_SERVICE_HOST: '10.0.0.1', LOCAL_CA_BUNDLE_FILE: '/ca.pem' }), {
      kind: 'kubernetes',
      source: 'in-cluster',
    });
  });

  it('picks the local twin outside a cluster when its CA bundle file is set', () => {
    assert.deepEqual(plan({ LOCAL_CA_BUNDLE_FILE: '/ca.pem' }), { kind: 'local' });
    assert.deepEqual(plan({ K8S_SYNC: 'local', LOCAL_CA_BUNDLE_FILE: '/ca.pem', KUBERNETES_SERVICE_HOST: 'x' }), {
      kind: 'local',
    });
  });

  it('is off when told so, even in a cluster', () => {
    assert.deepEqual(plan({ K8S_SYNC: 'off', KUBERNETES_SERVICE_HOST: '10.0.0.1' }), {
      kind: 'off',
      reason: 'K8S_SYNC=off',
    });
  });

  it('refuses a forced mode whose prerequisites are missing', () => {
    for (const mode of ['kubernetes', 'local'] as const) {
      assert.throws(
        () => plan({ K8S_SYNC: mode }),
        (error: unknown) => error instanceof KubernetesSyncError && error.code === 'sync_misconfigured',
      );
    }
  });
});

describe('Kubernetes sync settings', () => {
  const keys = Object.keys(baseSettings) as Array<keyof KubernetesSyncSettings>;
  const shape = Object.fromEntries(keys.map((key) => [key, settingsShape[key]]));

  it('has the documented defaults', () => {
    const settings = loadSettings('config-api', shape, {});
    // Everything else unset: derived at run time (namespace, identity) or not used.
    assert.deepEqual(settings, { ...baseSettings, LEASE_DURATION_SECONDS: 15 });
  });

  it('reads the reload command as a JSON array and refuses bad names and durations', () => {
    const settings = loadSettings('config-api', shape, { LOCAL_RELOAD_COMMAND: '["nginx","-s","reload"]' });
    assert.deepEqual(settings.LOCAL_RELOAD_COMMAND, ['nginx', '-s', 'reload']);
    for (const env of [{ LEASE_DURATION_SECONDS: '1' }, { CA_BUNDLE_SECRET_NAME: 'Not_A_Name' }, { K8S_SYNC: 'yes' }]) {
      assert.throws(() => loadSettings('config-api', shape, env), SettingsError);
    }
  });
});

describe('local twin sink', () => {
  let folder: string;
  before(async () => {
    folder = await mkdtemp(join(tmpdir(), 'obip-local-twin-'));
  });
  after(() => rm(folder, { recursive: true, force: true }));

  /** A reload command that appends a line to `log` each time it runs. */
  const countingReload = (log: string) => [
    process.execPath,
    '-e',
    `require('node:fs').appendFileSync(${JSON.stringify(log)}, 'reload\\n')`,
  ];
  const reloads = async (log: string) =>
    (await readFile(log, 'utf8').catch(() => '')).split('\n').filter(Boolean).length;

  it('writes the CA bundle atomically and reloads only when its content changed', async () => {
    const caBundleFile = join(folder, 'ca', 'tpp-ca-bundle.pem');
    const log = join(folder, 'reloads.log');
    const sink = createLocalTwinSink({
      caBundleFile,
      reloadCommand: countingReload(log),
      logger: captureLogger().logger,
    });
    assert.equal(sink.isActive(), true);

    await sink.publishTrustAnchors(ANCHORS_V1);
    assert.equal(await readFile(caBundleFile, 'utf8'), ANCHORS_V1);
    assert.equal((await stat(caBundleFile)).mode & 0o777, 0o644);
    assert.equal(await reloads(log), 1);
    const firstInode = (await stat(caBundleFile)).ino;

    await sink.publishTrustAnchors(ANCHORS_V1);
    assert.equal(await reloads(log), 1, 'no reload when nothing changed');

    await sink.publishTrustAnchors(ANCHORS_V2);
    assert.equal(await readFile(caBundleFile, 'utf8'), ANCHORS_V2);
    assert.equal(await reloads(log), 2);
    // A rename put a new file in place; nobody could have read a half-written one.
    assert.notEqual((await stat(caBundleFile)).ino, firstInode);
    assert.deepEqual(await readdir(join(folder, 'ca')), ['tpp-ca-bundle.pem'], 'no temporary file left behind');
    await sink.stop();
  });

  it('writes the signing keys with mode 0600 and does not reload for them', async () => {
    const log = join(folder, 'keys-reloads.log');
    const signingKeysFile = join(folder, 'signing-keys.json');
    const sink = createLocalTwinSink({
      caBundleFile: join(folder, 'unused.pem'),
      signingKeysFile,
      reloadCommand: countingReload(log),
      logger: captureLogger().logger,
    });
    await sink.publishSigningKeys(KEYS_V1);
    assert.equal(await readFile(signingKeysFile, 'utf8'), KEYS_V1);
    assert.equal((await stat(signingKeysFile)).mode & 0o777, 0o600);
    assert.equal(await reloads(log), 0);
  });

  it('publishes no signing keys without a signing keys file', async () => {
    const own = await mkdtemp(join(folder, 'no-keys-'));
    const sink = createLocalTwinSink({ caBundleFile: join(own, 'ca.pem'), logger: captureLogger().logger });
    await sink.publishSigningKeys(KEYS_V1);
    assert.deepEqual(await readdir(own), []);
  });

  it('reports a reload command that fails', async () => {
    const sink = createLocalTwinSink({
      caBundleFile: join(folder, 'failing.pem'),
      reloadCommand: [process.execPath, '-e', 'process.exit(3)'],
      logger: captureLogger().logger,
    });
    await assert.rejects(
      sink.publishTrustAnchors(ANCHORS_V1),
      (error: unknown) => error instanceof KubernetesSyncError && error.code === 'local_publish_failed',
    );
  });
});
