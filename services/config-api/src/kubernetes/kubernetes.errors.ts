/** Stable codes of the Kubernetes sync's errors; tests and callers branch on these, never on messages. */
export type KubernetesSyncErrorCode =
  /** A Secret kept changing under us: every attempt met a resourceVersion conflict. */
  | 'secret_write_conflict'
  /** The API server refused or failed a request (status in `status`), or did not answer in time. */
  | 'kubernetes_request_failed'
  /** The settings ask for a sync that cannot run (e.g. K8S_SYNC=kubernetes outside a cluster). */
  | 'sync_misconfigured'
  /** The local twin could not write its file or run its reload command. */
  | 'local_publish_failed';

/**
 * The one error class of the Kubernetes sync. The message is safe to log: it names the object and
 * the status, never Secret content; the underlying error is kept as `cause`.
 *
 * @example
 * try {
 *   await sink.publishTrustAnchors(pem);
 * } catch (error) {
 *   if (error instanceof KubernetesSyncError && error.code === 'secret_write_conflict') retryLater();
 * }
 */
export class KubernetesSyncError extends Error {
  readonly code: KubernetesSyncErrorCode;
  /** HTTP status from the API server, when there was one. */
  readonly status: number | undefined;

  constructor(code: KubernetesSyncErrorCode, message: string, options: { status?: number; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'KubernetesSyncError';
    this.code = code;
    this.status = options.status;
  }
}
