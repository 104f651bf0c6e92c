import {
  ApiException,
  CoordinationV1Api,
  CoreV1Api,
  Observable,
  type ConfigurationOptions,
  type KubeConfig,
  type ObservableMiddleware,
  type V1Lease,
  type V1Secret,
} from '@kubernetes/client-node';

/** The Secret calls the sync makes; `CoreV1Api` satisfies it. */
export interface SecretApi {
  readNamespacedSecret(param: { name: string; namespace: string }): Promise<V1Secret>;
  createNamespacedSecret(param: { namespace: string; body: V1Secret }): Promise<V1Secret>;
  replaceNamespacedSecret(param: { name: string; namespace: string; body: V1Secret }): Promise<V1Secret>;
}

/** The Lease calls leader election makes; `CoordinationV1Api` satisfies it. */
export interface LeaseApi {
  readNamespacedLease(param: { name: string; namespace: string }): Promise<V1Lease>;
  createNamespacedLease(param: { namespace: string; body: V1Lease }): Promise<V1Lease>;
  replaceNamespacedLease(param: { name: string; namespace: string; body: V1Lease }): Promise<V1Lease>;
}

/** The logging the sync needs; a pino logger satisfies it. */
export interface KubernetesLogger {
  debug(bindings: object, message: string): void;
  info(bindings: object, message: string): void;
  warn(bindings: object, message: string): void;
  error(bindings: object, message: string): void;
}

export interface KubernetesApis {
  secrets: SecretApi;
  leases: LeaseApi;
}

export interface KubernetesApiTimeouts {
  /** Deadline of one Secret call. Default 10 000 ms. */
  secretRequestTimeoutMs?: number;
  /** Deadline of one Lease call; keep it under the renew interval so a hung call cannot outlive a renewal. Default 5 000 ms. */
  leaseRequestTimeoutMs?: number;
}

/**
 * Builds the Secret and Lease clients from a KubeConfig, each call with a deadline (an AbortSignal
 * set by request middleware), so a hung API server surfaces as an error instead of a stuck loop.
 *
 * @example
 * const kc = new KubeConfig();
 * kc.loadFromCluster();
 * const { secrets, leases } = createKubernetesApis(kc, { leaseRequestTimeoutMs: 4_000 });
 */
export function createKubernetesApis(kubeConfig: KubeConfig, timeouts: KubernetesApiTimeouts = {}): KubernetesApis {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const coordination = kubeConfig.makeApiClient(CoordinationV1Api);
  const secretDeadline = deadlineOptions(timeouts.secretRequestTimeoutMs ?? 10_000);
  const leaseDeadline = deadlineOptions(timeouts.leaseRequestTimeoutMs ?? 5_000);
  return {
    secrets: {
      readNamespacedSecret: (param) => core.readNamespacedSecret(param, secretDeadline),
      createNamespacedSecret: (param) => core.createNamespacedSecret(param, secretDeadline),
      replaceNamespacedSecret: (param) => core.replaceNamespacedSecret(param, secretDeadline),
    },
    leases: {
      readNamespacedLease: (param) => coordination.readNamespacedLease(param, leaseDeadline),
      createNamespacedLease: (param) => coordination.createNamespacedLease(param, leaseDeadline),
      replaceNamespacedLease: (param) => coordination.replaceNamespacedLease(param, leaseDeadline),
    },
  };
}

/** Per-call options whose middleware gives each request its own timeout signal. */
function deadlineOptions(timeoutMs: number): ConfigurationOptions {
  // The generated client's per-call middleware is the Observable flavour (its Promise flavour is
  // not unwrapped on this path in 2.0.1); its Observable wraps a Promise.
  const deadline: ObservableMiddleware = {
    pre(context) {
      context.setSignal(AbortSignal.timeout(timeoutMs));
      return new Observable(Promise.resolve(context));
    },
    post(context) {
      return new Observable(Promise.resolve(context));
    },
  };
  return { middleware: [deadline], middlewareMergeStrategy: 'append' };
}

/** The HTTP status of a failed API call, or undefined for a transport failure or timeout. */
export function apiStatusOf(error: unknown): number | undefined {
  if (error instanceof ApiException) return error.code;
  return undefined;
}

/** A short, secret-free description of a failed API call for logs and error messages. */
export function describeApiError(error: unknown): string {
  if (error instanceof ApiException) {
    const body = typeof error.body === 'string' ? parseStatusBody(error.body) : undefined;
    return body?.reason ? `HTTP ${error.code} ${body.reason}` : `HTTP ${error.code}`;
  }
  if (error instanceof Error) return error.name === 'TimeoutError' ? 'request timed out' : error.message;
  return String(error);
}

function parseStatusBody(text: string): { reason?: string } | undefined {
  try {
    const parsed = JSON.parse(text) as unknown;
    return parsed !== null && typeof parsed === 'object' ? (parsed as { reason?: string }) : undefined;
  } catch {
    return undefined;
  }
}
