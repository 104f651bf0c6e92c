/**
 * The revocation outbox: every token of a deleted client is revoked through auth-server's
 * tokens.v1 RevokeByClient, retried with backoff until auth-server acknowledges it
 * (ARCHITECTURE: "a cascade that fails is retried from a durable outbox, never dropped").
 * RevokeByClient is idempotent, so delivering an entry twice (two replicas, a crash after the
 * call) is harmless; the store only has to make it rare.
 */

/** One pending revocation. */
export interface OutboxEntry {
  id: string;
  clientId: string;
  reason: string;
  attempts: number;
}

/** The durable store of the outbox (`revocation.mongo.ts`). */
export interface RevocationOutboxStore {
  /** Adds a pending entry, due at once. */
  enqueue(clientId: string, reason: string): Promise<void>;
  /**
   * Claims up to `limit` due entries for `leaseMs` (they are not due again until the lease
   * ends), and returns them.
   */
  claimDue(now: Date, leaseMs: number, limit: number): Promise<OutboxEntry[]>;
  markDelivered(id: string, now: Date): Promise<void>;
  /** Records a failed attempt; the entry is due again at `nextAttemptAt`. */
  markFailed(id: string, attempts: number, nextAttemptAt: Date, error: string): Promise<void>;
}

/** auth-server's tokens.v1 RevokeByClient, as this service needs it (`revocation.grpc.ts`). */
export interface TokenRevoker {
  revokeByClient(clientId: string, reason: string): Promise<number>;
}

export interface RevocationLogger {
  info(bindings: object, message: string): void;
  warn(bindings: object, message: string): void;
}

export interface RevocationDispatcherOptions {
  store: RevocationOutboxStore;
  revoker: TokenRevoker;
  logger: RevocationLogger;
  /** How often due entries are looked for when nothing kicks the dispatcher. */
  pollMs: number;
  /** First retry delay; doubled per attempt up to `maxBackoffMs`, with jitter. Default 500. */
  initialBackoffMs?: number;
  maxBackoffMs: number;
  /** How long a claimed entry is withheld from other dispatchers. Default 30 000. */
  leaseMs?: number;
  now?: () => Date;
}

export interface RevocationDispatcher {
  /** Queues the revocation durably, then tries to deliver it at once. */
  revokeClientTokens(clientId: string, reason: string): Promise<void>;
  /** Delivers every due entry once; resolves with how many were delivered. */
  deliverDue(): Promise<number>;
  start(): void;
  stop(): Promise<void>;
}

/**
 * Exponential backoff with full jitter in the upper half: attempt 1 waits about `initial`,
 * each later one about twice as long, never more than `max`.
 */
export function revocationBackoffMs(attempts: number, initialMs: number, maxMs: number): number {
  const base = Math.min(initialMs * 2 ** Math.max(0, attempts - 1), maxMs);
  return Math.round(base / 2 + Math.random() * (base / 2));
}

export function createRevocationDispatcher(options: RevocationDispatcherOptions): RevocationDispatcher {
  const now = options.now ?? (() => new Date());
  const initial = options.initialBackoffMs ?? 500;
  const leaseMs = options.leaseMs ?? 30_000;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<number> | undefined;
  let stopped = true;

  async function deliver(entry: OutboxEntry): Promise<boolean> {
    try {
      const revoked = await options.revoker.revokeByClient(entry.clientId, entry.reason);
      await options.store.markDelivered(entry.id, now());
      options.logger.info({ clientId: entry.clientId, revoked }, 'client tokens revoked');
      return true;
    } catch (error) {
      const attempts = entry.attempts + 1;
      const delay = revocationBackoffMs(attempts, initial, options.maxBackoffMs);
      const reason = error instanceof Error ? error.message : String(error);
      await options.store.markFailed(entry.id, attempts, new Date(now().getTime() + delay), reason.slice(0, 200));
      options.logger.warn(
        { clientId: entry.clientId, attempts, retryInMs: delay },
        'token revocation failed; will retry',
      );
      return false;
    }
  }

  function deliverDue(): Promise<number> {
    // One pass at a time per process; a kick during a pass is picked up by the next tick.
    running ??= (async () => {
      try {
        const entries = await options.store.claimDue(now(), leaseMs, 50);
        let delivered = 0;
        for (const entry of entries) if (await deliver(entry)) delivered += 1;
        return delivered;
      } finally {
        running = undefined;
      }
    })();
    return running;
  }

  const tick = () => {
    deliverDue()
      .catch((error: unknown) => options.logger.warn({ err: error }, 'revocation outbox pass failed'))
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, options.pollMs);
      });
  };

  return {
    async revokeClientTokens(clientId, reason) {
      await options.store.enqueue(clientId, reason);
      if (!stopped) void deliverDue().catch(() => undefined);
    },
    deliverDue,
    start() {
      if (!stopped) return;
      stopped = false;
      timer = setTimeout(tick, 0);
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running?.catch(() => undefined);
    },
  };
}
