/**
 * The revocation relay: delivers every pending token cascade (written atomically with the
 * consent's revocation or expiry) to auth-server's tokens.v1 RevokeByConsent, retrying with
 * backoff until it is acknowledged (ARCHITECTURE: "a cascade that fails is retried from a
 * durable outbox, never dropped"). RevokeByConsent is idempotent, so an entry delivered twice
 * (two replicas, a crash after the call) is harmless; the outbox only has to make it rare.
 */

/** One consent whose tokens are still to be revoked. */
export interface PendingCascade {
  consentId: string;
  reason: string;
  attempts: number;
}

/** The durable outbox (`revocation.mongo.ts`: the cascade field of each consent). */
export interface RevocationOutbox {
  /** Claims up to `limit` due entries for `leaseMs`, so that other replicas skip them meanwhile. */
  claimDue(now: Date, leaseMs: number, limit: number): Promise<PendingCascade[]>;
  markDelivered(consentId: string, at: Date): Promise<void>;
  /** Records a failed attempt; the entry is due again at `nextAttemptAt`. */
  markFailed(consentId: string, attempts: number, nextAttemptAt: Date, error: string): Promise<void>;
  /** How many entries are still pending (for metrics and tests). */
  countPending(): Promise<number>;
}

/** auth-server's tokens.v1 RevokeByConsent, as this service needs it (`revocation.grpc.ts`). */
export interface TokenRevoker {
  revokeByConsent(consentId: string, reason: string): Promise<number>;
}

export interface RelayLogger {
  info(bindings: object, message: string): void;
  warn(bindings: object, message: string): void;
}

export interface RevocationRelayOptions {
  outbox: RevocationOutbox;
  revoker: TokenRevoker;
  logger: RelayLogger;
  /** How often due entries are looked for when nothing kicks the relay. */
  pollMs: number;
  /** First retry delay; doubled per attempt up to `maxBackoffMs`, with jitter. */
  initialBackoffMs: number;
  maxBackoffMs: number;
  /** How long a claimed entry is withheld from other replicas. Default 30 000. */
  leaseMs?: number;
  now?: () => Date;
}

export interface RevocationRelay {
  /** Delivers every due entry once; resolves with how many were acknowledged. */
  deliverDue(): Promise<number>;
  /** Asks for a pass soon (after a revocation), without waiting for it. */
  kick(): void;
  start(): void;
  /** Stops polling and waits for a pass under way. */
  stop(): Promise<void>;
}

/**
 * Exponential backoff with jitter in the upper half: attempt 1 waits about `initialMs`, each
 * later one about twice as long, never more than `maxMs`.
 */
export function relayBackoffMs(attempts: number, initialMs: number, maxMs: number): number {
  const base = Math.min(initialMs * 2 ** Math.max(0, attempts - 1), maxMs);
  return Math.round(base / 2 + Math.random() * (base / 2));
}

/**
 * @example
 * const relay = createRevocationRelay({ outbox, revoker, logger, pollMs: 2000, initialBackoffMs: 500, maxBackoffMs: 300_000 });
 * relay.start();
 */
export function createRevocationRelay(options: RevocationRelayOptions): RevocationRelay {
  const now = options.now ?? (() => new Date());
  const leaseMs = options.leaseMs ?? 30_000;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<number> | undefined;
  let again = false;
  let stopped = true;

  async function deliver(entry: PendingCascade): Promise<boolean> {
    try {
      const revoked = await options.revoker.revokeByConsent(entry.consentId, entry.reason);
      await options.outbox.markDelivered(entry.consentId, now());
      options.logger.info(
        { consentId: entry.consentId, revoked, attempts: entry.attempts + 1 },
        'consent tokens revoked',
      );
      return true;
    } catch (error) {
      const attempts = entry.attempts + 1;
      const delay = relayBackoffMs(attempts, options.initialBackoffMs, options.maxBackoffMs);
      const message = error instanceof Error ? error.message : String(error);
      await options.outbox.markFailed(
        entry.consentId,
        attempts,
        new Date(now().getTime() + delay),
        message.slice(0, 200),
      );
      options.logger.warn(
        { consentId: entry.consentId, attempts, retryInMs: delay },
        'token revocation failed; will retry',
      );
      return false;
    }
  }

  function deliverDue(): Promise<number> {
    if (running) {
      again = true; // a kick during a pass: run once more right after it
      return running;
    }
    running = (async () => {
      let delivered = 0;
      try {
        do {
          again = false;
          const entries = await options.outbox.claimDue(now(), leaseMs, 50);
          for (const entry of entries) if (await deliver(entry)) delivered += 1;
        } while (again);
        return delivered;
      } finally {
        running = undefined;
      }
    })();
    return running;
  }

  const pass = () =>
    deliverDue().catch((error: unknown) => options.logger.warn({ err: error }, 'revocation relay pass failed'));

  const tick = () => {
    void pass().finally(() => {
      if (!stopped) timer = setTimeout(tick, options.pollMs);
    });
  };

  return {
    deliverDue,
    kick() {
      if (!stopped) void pass();
    },
    start() {
      if (!stopped) return;
      stopped = false;
      tick();
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running?.catch(() => undefined);
    },
  };
}
