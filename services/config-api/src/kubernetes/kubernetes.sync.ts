import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import type { ConfigApiSettings } from '../config';
import { createKubernetesApis, type KubernetesApis, type KubernetesLogger } from './kubernetes.client';
import { KubernetesSyncError } from './kubernetes.errors';
import { createLeaderElection, type LeaderElection, type LeaderElectionOptions } from './kubernetes.leader';
import { createSecretSync } from './kubernetes.secrets';

const execFileAsync = promisify(execFile);

/** Key of the CA bundle in its Secret: the ingress-nginx `auth-tls-secret` format. */
export const CA_BUNDLE_KEY = 'ca.crt';
/** Key of the private JWKS in its Secret: the file auth-server reads as SIGNING_KEYS_FILE. */
export const SIGNING_KEYS_KEY = 'jwks.json';
/** Where Kubernetes mounts the pod's namespace. */
export const IN_CLUSTER_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

/** What config-api currently wants published; undefined means nothing to publish yet. */
export interface PlatformSecretsState {
  /** PEM bundle of the trusted TPP CAs. */
  trustAnchorsPem: string | undefined;
  /** Private JWKS (JSON text) of the signing keys. */
  signingKeysJson: string | undefined;
}

/**
 * Where config-api publishes what the edge and auth-server read from files: the TPP CA bundle the
 * ingress verifies client certificates with, and the signing keys auth-server mounts. Declared
 * here for the rest of config-api; implementations for Kubernetes, the local twin, and off.
 */
export interface PlatformSecretsSink {
  /** Publishes the CA bundle (when this replica is the one that writes). Rejects with KubernetesSyncError. */
  publishTrustAnchors(pemBundle: string): Promise<void>;
  /** Publishes the private JWKS (when this replica is the one that writes). Rejects with KubernetesSyncError. */
  publishSigningKeys(privateJwksJson: string): Promise<void>;
  /** Whether publishing from this replica takes effect now (the Kubernetes leader, the local twin). */
  isActive(): boolean;
  /** Waits for writes in progress and stops; the Kubernetes sink hands its Lease over. */
  stop(): Promise<void>;
}

/** Runs tasks one after another, so two writes of one Secret or file never interleave. */
function createSerialQueue(): { run<T>(task: () => Promise<T>): Promise<T>; idle(): Promise<void> } {
  let tail: Promise<unknown> = Promise.resolve();
  return {
    run(task) {
      const result = tail.then(task);
      tail = result.catch(() => undefined);
      return result;
    },
    idle: () => tail.then(() => undefined),
  };
}

// ---------------------------------------------------------------------------------------------
// Kubernetes
// ---------------------------------------------------------------------------------------------

export interface KubernetesSinkOptions {
  apis: KubernetesApis;
  namespace: string;
  /** This replica's identity in the Lease (pod name). */
  identity: string;
  leaseName: string;
  leaseDurationSeconds: number;
  caBundleSecretName: string;
  signingKeysSecretName: string;
  /** Read when this replica becomes the leader, which then writes both Secrets so that it converges. */
  currentState(): PlatformSecretsState | Promise<PlatformSecretsState>;
  logger: KubernetesLogger;
  /** Election timing overrides (tests); defaults derive from the lease duration. */
  election?: Pick<LeaderElectionOptions, 'renewIntervalMs' | 'retryIntervalMs' | 'renewDeadlineMs' | 'now'>;
}

/** The Kubernetes sink, with its election exposed for diagnostics and tests. */
export interface KubernetesSink extends PlatformSecretsSink {
  readonly election: LeaderElection;
}

/**
 * Publishes into Kubernetes Secrets from the elected replica only; a follower's publish is a
 * no-op, since the leader publishes the same state. Campaigning starts at once. On becoming the
 * leader it writes the current state (retrying while it stays leader), so a change a previous
 * leader missed still lands.
 *
 * @example
 * const sink = createKubernetesSink({
 *   apis: createKubernetesApis(kubeConfig), namespace: 'obip', identity: podName,
 *   leaseName: 'obip-config-api', leaseDurationSeconds: 15,
 *   caBundleSecretName: 'obip-tpp-trust-bundle', signingKeysSecretName: 'obip-signing-keys',
 *   currentState: () => trust.currentState(), logger,
 * });
 * await sink.publishTrustAnchors(pem);
 */
export function createKubernetesSink(options: KubernetesSinkOptions): KubernetesSink {
  const { namespace, logger } = options;
  const secrets = createSecretSync({ core: options.apis.secrets, namespace, logger });
  const queue = createSerialQueue();
  const convergeRetryMs = Math.round((options.leaseDurationSeconds * 1000) / 3);
  let stopping = false;
  let convergeTimer: NodeJS.Timeout | undefined;

  const writeTrustAnchors = (pem: string) => secrets.writeSecret(options.caBundleSecretName, { [CA_BUNDLE_KEY]: pem });
  const writeSigningKeys = (json: string) =>
    secrets.writeSecret(options.signingKeysSecretName, { [SIGNING_KEYS_KEY]: json });

  async function converge(): Promise<void> {
    if (stopping || !election.isLeader()) return;
    try {
      await queue.run(async () => {
        const state = await options.currentState();
        if (!election.isLeader()) return;
        if (state.trustAnchorsPem !== undefined) await writeTrustAnchors(state.trustAnchorsPem);
        if (state.signingKeysJson !== undefined) await writeSigningKeys(state.signingKeysJson);
      });
    } catch (error) {
      logger.warn({ namespace, err: error, retryInMs: convergeRetryMs }, 'new leader could not write the Secrets yet');
      clearTimeout(convergeTimer);
      convergeTimer = setTimeout(() => void converge(), convergeRetryMs);
    }
  }

  const election = createLeaderElection({
    coordination: options.apis.leases,
    namespace,
    leaseName: options.leaseName,
    identity: options.identity,
    leaseDurationSeconds: options.leaseDurationSeconds,
    logger,
    ...options.election,
    onStartedLeading: converge,
    onStoppedLeading: () => clearTimeout(convergeTimer),
  });

  function publish(what: string, write: () => Promise<unknown>): Promise<void> {
    if (stopping || !election.isLeader()) {
      logger.debug({ namespace, what }, 'not the leader: leaving the Secret to the leader');
      return Promise.resolve();
    }
    return queue.run(async () => {
      // Leadership may have moved while this write waited its turn.
      if (election.isLeader()) await write();
    });
  }

  election.start();
  return {
    election,
    publishTrustAnchors: (pem) => publish('trust anchors', () => writeTrustAnchors(pem)),
    publishSigningKeys: (json) => publish('signing keys', () => writeSigningKeys(json)),
    isActive: () => !stopping && election.isLeader(),
    async stop() {
      stopping = true;
      clearTimeout(convergeTimer);
      await queue.idle();
      await election.stop();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Local twin
// ---------------------------------------------------------------------------------------------

export interface LocalTwinSinkOptions {
  /** PEM file the nginx twin verifies client certificates with. */
  caBundleFile: string;
  /** File for the private JWKS (mode 0600); without it signing keys are not published. */
  signingKeysFile?: string;
  /** Run without a shell after the CA bundle changed, e.g. ['nginx', '-s', 'reload', '-c', conf]. */
  reloadCommand?: readonly string[];
  /** Deadline of the reload command. Default 10 000 ms. */
  reloadTimeoutMs?: number;
  logger: KubernetesLogger;
}

/**
 * Writes `content` to `file` atomically (a temporary file in the same folder, then rename), so a
 * reader never sees half a file. Returns false, writing nothing, when the file already holds it.
 */
export async function writeFileAtomically(file: string, content: string, mode: number): Promise<boolean> {
  const current = await readFile(file, 'utf8').catch(() => undefined);
  if (current === content) return false;
  await mkdir(dirname(file), { recursive: true });
  const temporary = join(dirname(file), `.${basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeFile(temporary, content, { mode, flag: 'wx' });
    await chmod(temporary, mode); // the umask may have narrowed it
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
  return true;
}

/**
 * The local twin's stand-in for the Secrets: files that nginx and auth-server read, and a reload
 * of nginx when the CA bundle changed. Always active: there is one config-api process.
 *
 * @example
 * const sink = createLocalTwinSink({
 *   caBundleFile: '.sandbox/tpp-ca-bundle.pem',
 *   reloadCommand: ['nginx', '-s', 'reload', '-c', '/abs/nginx.conf'],
 *   logger,
 * });
 */
export function createLocalTwinSink(options: LocalTwinSinkOptions): PlatformSecretsSink {
  const { logger } = options;
  const queue = createSerialQueue();
  const reloadTimeoutMs = options.reloadTimeoutMs ?? 10_000;

  async function write(file: string, content: string, mode: number): Promise<boolean> {
    try {
      return await writeFileAtomically(file, content, mode);
    } catch (error) {
      throw new KubernetesSyncError('local_publish_failed', `writing ${file} failed`, { cause: error });
    }
  }

  async function reload(): Promise<void> {
    const [command, ...args] = options.reloadCommand ?? [];
    if (!command) return;
    try {
      await execFileAsync(command, args, { timeout: reloadTimeoutMs });
      logger.info({ command }, 'reload command ran after the CA bundle changed');
    } catch (error) {
      throw new KubernetesSyncError('local_publish_failed', `reload command ${command} failed`, { cause: error });
    }
  }

  return {
    publishTrustAnchors: (pem) =>
      queue.run(async () => {
        const changed = await write(options.caBundleFile, pem, 0o644);
        logger.info({ file: options.caBundleFile, changed }, 'CA bundle file in sync');
        if (changed) await reload();
      }),
    publishSigningKeys: (json) =>
      queue.run(async () => {
        if (!options.signingKeysFile) {
          logger.debug({}, 'no LOCAL_SIGNING_KEYS_FILE: signing keys not published');
          return;
        }
        const changed = await write(options.signingKeysFile, json, 0o600);
        logger.info({ file: options.signingKeysFile, changed }, 'signing keys file in sync');
      }),
    isActive: () => true,
    stop: () => queue.idle(),
  };
}

// ---------------------------------------------------------------------------------------------
// Off
// ---------------------------------------------------------------------------------------------

/** A sink that publishes nothing; it says why once, when created. */
export function createDisabledSink(reason: string, logger: KubernetesLogger): PlatformSecretsSink {
  logger.info({ reason }, `Kubernetes sync disabled: ${reason}`);
  return {
    publishTrustAnchors: async () => undefined,
    publishSigningKeys: async () => undefined,
    isActive: () => false,
    stop: async () => undefined,
  };
}

// ---------------------------------------------------------------------------------------------
// Choosing one from the settings
// ---------------------------------------------------------------------------------------------

export type KubernetesSyncSettings = Pick<
  ConfigApiSettings,
  | 'K8S_SYNC'
  | 'KUBERNETES_SERVICE_HOST'
  | 'KUBECONFIG'
  | 'K8S_NAMESPACE'
  | 'LEASE_NAME'
  | 'LEASE_DURATION_SECONDS'
  | 'CA_BUNDLE_SECRET_NAME'
  | 'SIGNING_KEYS_SECRET_NAME'
  | 'POD_NAME'
  | 'LOCAL_CA_BUNDLE_FILE'
  | 'LOCAL_SIGNING_KEYS_FILE'
  | 'LOCAL_RELOAD_COMMAND'
>;

/** Which sink the settings select. */
export type SyncPlan =
  { kind: 'kubernetes'; source: 'kubeconfig' | 'in-cluster' } | { kind: 'local' } | { kind: 'off'; reason: string };

/**
 * Picks the sink: K8S_SYNC=auto uses Kubernetes when a kubeconfig is given or the pod runs in a
 * cluster, else the local twin when its CA bundle file is set, else nothing. A forced mode whose
 * prerequisites are missing is a configuration error, not a silent fallback.
 */
export function resolveSyncPlan(settings: KubernetesSyncSettings): SyncPlan {
  const cluster = settings.KUBECONFIG
    ? ({ kind: 'kubernetes', source: 'kubeconfig' } as const)
    : settings.KUBERNETES_SERVICE_HOST
      ? ({ kind: 'kubernetes', source: 'in-cluster' } as const)
      : undefined;
  switch (settings.K8S_SYNC) {
    case 'off':
      return { kind: 'off', reason: 'K8S_SYNC=off' };
    case 'kubernetes':
      if (cluster) return cluster;
      throw new KubernetesSyncError(
        'sync_misconfigured',
        'K8S_SYNC=kubernetes, but config-api is not running in a cluster (no KUBERNETES_SERVICE_HOST) and KUBECONFIG is not set',
      );
    case 'local':
      if (settings.LOCAL_CA_BUNDLE_FILE) return { kind: 'local' };
      throw new KubernetesSyncError('sync_misconfigured', 'K8S_SYNC=local needs LOCAL_CA_BUNDLE_FILE');
    case 'auto':
      if (cluster) return cluster;
      if (settings.LOCAL_CA_BUNDLE_FILE) return { kind: 'local' };
      return {
        kind: 'off',
        reason: 'not running in a cluster and no KUBECONFIG or LOCAL_CA_BUNDLE_FILE set',
      };
  }
}

export interface PlatformSecretsSinkDependencies {
  logger: KubernetesLogger;
  /** What to publish when this replica becomes the Kubernetes leader. */
  currentState(): PlatformSecretsState | Promise<PlatformSecretsState>;
  /** Where the in-cluster namespace is read from. Default: the service account mount. */
  namespaceFile?: string;
}

/**
 * Builds the sink the settings select (see resolveSyncPlan). The Kubernetes sink starts
 * campaigning for the Lease at once; call `stop()` on shutdown to hand it over.
 *
 * @example
 * const sink = createPlatformSecretsSink(settings, { logger, currentState: () => trust.currentState() });
 * onShutdown(() => sink.stop());
 */
export function createPlatformSecretsSink(
  settings: KubernetesSyncSettings,
  dependencies: PlatformSecretsSinkDependencies,
): PlatformSecretsSink {
  const { logger } = dependencies;
  const plan = resolveSyncPlan(settings);
  if (plan.kind === 'off') return createDisabledSink(plan.reason, logger);
  if (plan.kind === 'local') {
    return createLocalTwinSink({
      caBundleFile: settings.LOCAL_CA_BUNDLE_FILE as string,
      signingKeysFile: settings.LOCAL_SIGNING_KEYS_FILE,
      reloadCommand: settings.LOCAL_RELOAD_COMMAND,
      logger,
    });
  }

  const kubeConfig = new KubeConfig();
  try {
    if (plan.source === 'kubeconfig') kubeConfig.loadFromFile(settings.KUBECONFIG as string);
    else kubeConfig.loadFromCluster();
  } catch (error) {
    throw new KubernetesSyncError('sync_misconfigured', `could not load the ${plan.source} Kubernetes configuration`, {
      cause: error,
    });
  }
  const namespace =
    settings.K8S_NAMESPACE ??
    (plan.source === 'in-cluster'
      ? readNamespaceFile(dependencies.namespaceFile ?? IN_CLUSTER_NAMESPACE_FILE)
      : kubeConfig.getContextObject(kubeConfig.getCurrentContext())?.namespace) ??
    'default';
  const identity = settings.POD_NAME ?? `${hostname()}-${process.pid}`;
  const leaseDurationMs = settings.LEASE_DURATION_SECONDS * 1000;
  logger.info(
    { source: plan.source, namespace, identity, lease: settings.LEASE_NAME },
    'Kubernetes sync enabled: the elected replica writes the CA bundle and signing-key Secrets',
  );
  return createKubernetesSink({
    // A Lease call must end before the next renewal is due.
    apis: createKubernetesApis(kubeConfig, { leaseRequestTimeoutMs: Math.round(leaseDurationMs / 3) }),
    namespace,
    identity,
    leaseName: settings.LEASE_NAME,
    leaseDurationSeconds: settings.LEASE_DURATION_SECONDS,
    caBundleSecretName: settings.CA_BUNDLE_SECRET_NAME,
    signingKeysSecretName: settings.SIGNING_KEYS_SECRET_NAME,
    currentState: dependencies.currentState,
    logger,
  });
}

function readNamespaceFile(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}
