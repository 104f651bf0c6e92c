import type { V1Secret } from '@kubernetes/client-node';
import { apiStatusOf, describeApiError, type KubernetesLogger, type SecretApi } from './kubernetes.client';
import { KubernetesSyncError } from './kubernetes.errors';

/** The label that marks a Secret as written by this sync (Kubernetes recommended labels). */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'obip-config-api';

export type SecretWriteResult = 'created' | 'updated' | 'unchanged';

export interface SecretSyncOptions {
  core: SecretApi;
  namespace: string;
  logger: KubernetesLogger;
  /** Attempts per write, counting the first. Default 5. */
  maxAttempts?: number;
  /** Delay before the second attempt, doubled each time, with jitter. Default 50 ms. */
  initialBackoffMs?: number;
}

export interface SecretSync {
  /**
   * Makes the Secret `name` hold `data` (plain text values; stored base64 under `data`). Creates it
   * (type Opaque, labelled managed-by obip-config-api) when missing; does nothing when the keys
   * already hold these values; otherwise replaces it, conditional on the resourceVersion it read.
   * Keys it is not given are kept, so an operator may add e.g. `ca.crl` beside `ca.crt`.
   * A write that loses a race (409) is re-read and retried.
   */
  writeSecret(name: string, data: Record<string, string>): Promise<SecretWriteResult>;
}

/** Statuses worth another attempt: conflicts, a Secret deleted under us, throttling, server trouble, no answer. */
function isRetryable(status: number | undefined): boolean {
  return status === undefined || status === 404 || status === 409 || status === 429 || status >= 500;
}

function encode(data: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(data).map(([key, value]) => [key, Buffer.from(value, 'utf8').toString('base64')]),
  );
}

/** Whether every key of `wanted` (base64) already holds the same bytes in `existing`. */
function holdsAll(existing: Record<string, string> | undefined, wanted: Record<string, string>): boolean {
  return Object.entries(wanted).every(([key, value]) => existing?.[key] === value);
}

/**
 * Writes Secrets with optimistic concurrency: read, compare, create or replace with the read
 * resourceVersion, and on a conflict read again. The API server's errors become
 * KubernetesSyncError here and nowhere else.
 *
 * @example
 * const secrets = createSecretSync({ core: apis.secrets, namespace: 'obip', logger });
 * await secrets.writeSecret('obip-tpp-trust-bundle', { 'ca.crt': pemBundle });
 */
export function createSecretSync(options: SecretSyncOptions): SecretSync {
  const { core, namespace, logger } = options;
  const maxAttempts = options.maxAttempts ?? 5;
  const initialBackoffMs = options.initialBackoffMs ?? 50;

  async function attempt(name: string, wanted: Record<string, string>): Promise<SecretWriteResult> {
    let existing: V1Secret | undefined;
    try {
      existing = await core.readNamespacedSecret({ name, namespace });
    } catch (error) {
      if (apiStatusOf(error) !== 404) throw error;
    }
    if (!existing) {
      await core.createNamespacedSecret({
        namespace,
        body: {
          apiVersion: 'v1',
          kind: 'Secret',
          type: 'Opaque',
          metadata: { name, namespace, labels: { [MANAGED_BY_LABEL]: MANAGED_BY } },
          data: wanted,
        },
      });
      return 'created';
    }
    if (holdsAll(existing.data, wanted)) return 'unchanged';
    await core.replaceNamespacedSecret({
      name,
      namespace,
      body: {
        ...existing,
        // The read metadata carries resourceVersion: the replace only lands if nobody wrote since.
        metadata: { ...existing.metadata, labels: { ...existing.metadata?.labels, [MANAGED_BY_LABEL]: MANAGED_BY } },
        data: { ...existing.data, ...wanted },
      },
    });
    return 'updated';
  }

  return {
    async writeSecret(name, data) {
      const wanted = encode(data);
      const keys = Object.keys(data);
      let lastError: unknown;
      let attempts = 0;
      for (let attemptNo = 1; attemptNo <= maxAttempts; attemptNo += 1) {
        attempts = attemptNo;
        try {
          const result = await attempt(name, wanted);
          logger.info({ namespace, secret: name, keys, result, attempts: attemptNo }, 'Secret in sync');
          return result;
        } catch (error) {
          lastError = error;
          const status = apiStatusOf(error);
          if (!isRetryable(status) || attemptNo === maxAttempts) break;
          const delayMs = Math.round(initialBackoffMs * 2 ** (attemptNo - 1) * (0.5 + Math.random() / 2));
          logger.debug(
            { namespace, secret: name, attempt: attemptNo, reason: describeApiError(error), retryInMs: delayMs },
            'Secret write failed; retrying',
          );
          await new Promise((resolve) => setTimeout(resolve, delayMs));
        }
      }
      const status = apiStatusOf(lastError);
      const reason = describeApiError(lastError);
      logger.warn({ namespace, secret: name, keys, reason, attempts }, 'Secret write failed');
      if (status === 409) {
        throw new KubernetesSyncError(
          'secret_write_conflict',
          `Secret ${namespace}/${name} kept changing during ${attempts} attempts to write it`,
          { status, cause: lastError },
        );
      }
      throw new KubernetesSyncError(
        'kubernetes_request_failed',
        `writing Secret ${namespace}/${name} failed: ${reason}`,
        {
          status,
          cause: lastError,
        },
      );
    },
  };
}
