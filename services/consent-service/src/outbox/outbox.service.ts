/**
 * The relay of a durable outbox: consent-service's deliveries to auth-server (token revocation
 * cascades, customers' decisions on decoupled authentications) are written to MongoDB together
 * with the change that causes them, then delivered from there, retried with backoff until the
 * peer acknowledges them or answers that it never will (ARCHITECTURE: "retried from a durable
 * outbox, never dropped").
 *
 * An entry can be delivered twice — a lease that runs out during a slow call, two replicas on
 * FerretDB (whose claims are not atomic), a crash after the call — so every delivery must be
 * idempotent at the peer; the outbox only has to make a repeat rare.
 */

/** What every outbox entry carries for the relay. */
export interface OutboxEntry {
  /** Failed attempts so far. */
  attempts: number;
}

/**
 * The delivery state an outbox keeps inside the document whose change caused it (a consent's
 * `cascade`, a decoupled authentication's `delivery`), so that one single-document write records
 * the change and its pending delivery together (ARCHITECTURE: no multi-document transactions).
 */
export interface OutboxDeliveryFields {
  state: 'pending' | 'delivered' | 'abandoned';
  attempts: number;
  nextAttemptAt: Date;
  lastError: string;
  deliveredAt: Date | null;
}

/** The durable store of entries (`outbox.mongo.ts`). */
export interface Outbox<Entry extends OutboxEntry> {
  /** Claims up to `limit` due entries for `leaseMs`, so that other replicas skip them meanwhile. */
  claimDue(now: Date, leaseMs: number, limit: number): Promise<Entry[]>;
  markDelivered(entry: Entry, at: Date): Promise<void>;
  /** Records a failed attempt; the entry is due again at `nextAttemptAt`. */
  markFailed(entry: Entry, attempts: number, nextAttemptAt: Date, error: string): Promise<void>;
  /** The peer's answer is final: the entry is kept, no longer pending, with the reason. */
  markAbandoned(entry: Entry, reason: string): Promise<void>;
  /** How many entries are still pending (for metrics and tests). */
  countPending(): Promise<number>;
}

/** How one delivery ended when it did not throw (a throw means "retry later"). */
export type DeliveryResult =
  | { outcome: 'delivered'; details?: object }
  /** The peer refused for good (e.g. the request it concerns no longer exists): never retried. */
  | { outcome: 'abandoned'; reason: string; details?: object };

export type OutboxOutcome = 'delivered' | 'retried' | 'abandoned';

export interface RelayLogger {
  info(bindings: object, message: string): void;
  warn(bindings: object, message: string): void;
}

/** When a relay looks for due entries and how it backs off; the same for every outbox of the service. */
export interface OutboxTiming {
  /** How often due entries are looked for when nothing kicks the relay. */
  pollMs: number;
  /** First retry delay; doubled per attempt up to `maxBackoffMs`, with jitter. */
  initialBackoffMs: number;
  maxBackoffMs: number;
  /** How long a claimed entry is withheld from other replicas. Default 30 000. */
  leaseMs?: number;
  /** Told how each attempt ended (metrics). */
  onOutcome?: (outcome: OutboxOutcome) => void;
  now?: () => Date;
}

export interface OutboxRelayOptions<Entry extends OutboxEntry> extends OutboxTiming {
  /** What the outbox delivers, in words, for logs (e.g. `token revocation`). */
  label: string;
  outbox: Outbox<Entry>;
  /** Delivers one entry. Throwing schedules a retry with backoff. */
  deliver(entry: Entry): Promise<DeliveryResult>;
  /** Log bindings that identify an entry (ids only, never secrets). */
  describe(entry: Entry): object;
  logger: RelayLogger;
}

export interface OutboxRelay {
  /** Delivers every due entry once; resolves with how many were settled (delivered or abandoned). */
  deliverDue(): Promise<number>;
  /** Asks for a pass soon (after an entry was written), without waiting for it. */
  kick(): void;
  start(): void;
  /** Stops polling and waits for a pass under way. */
  stop(): Promise<void>;
}

/** Entries claimed per query; a pass claims again while a kick arrived during it. */
const CLAIM_BATCH = 50;

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
 * const relay = createOutboxRelay({ label: 'token revocation', outbox, deliver, describe, logger, pollMs: 5000, initialBackoffMs: 500, maxBackoffMs: 300_000 });
 * relay.start();
 */
export function createOutboxRelay<Entry extends OutboxEntry>(options: OutboxRelayOptions<Entry>): OutboxRelay {
  const now = options.now ?? (() => new Date());
  const leaseMs = options.leaseMs ?? 30_000;
  const { label, logger } = options;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<number> | undefined;
  let again = false;
  let stopped = true;

  async function attempt(entry: Entry): Promise<boolean> {
    const attempts = entry.attempts + 1;
    let result: DeliveryResult;
    try {
      result = await options.deliver(entry);
    } catch (error) {
      const delay = relayBackoffMs(attempts, options.initialBackoffMs, options.maxBackoffMs);
      const message = error instanceof Error ? error.message : String(error);
      await options.outbox.markFailed(entry, attempts, new Date(now().getTime() + delay), message.slice(0, 200));
      logger.warn(
        { ...options.describe(entry), attempts, retryInMs: delay, err: error },
        `${label} failed; will retry`,
      );
      options.onOutcome?.('retried');
      return false;
    }
    if (result.outcome === 'abandoned') {
      await options.outbox.markAbandoned(entry, result.reason.slice(0, 200));
      logger.warn(
        { ...options.describe(entry), ...result.details, attempts, reason: result.reason },
        `${label} refused for good; not retried`,
      );
    } else {
      await options.outbox.markDelivered(entry, now());
      logger.info({ ...options.describe(entry), ...result.details, attempts }, `${label} delivered`);
    }
    options.onOutcome?.(result.outcome);
    return true;
  }

  function deliverDue(): Promise<number> {
    if (running) {
      again = true; // a kick during a pass: run once more right after it
      return running;
    }
    running = (async () => {
      let settled = 0;
      try {
        do {
          again = false;
          const entries = await options.outbox.claimDue(now(), leaseMs, CLAIM_BATCH);
          for (const entry of entries) if (await attempt(entry)) settled += 1;
        } while (again);
        return settled;
      } finally {
        running = undefined;
      }
    })();
    return running;
  }

  const pass = () => deliverDue().catch((error: unknown) => logger.warn({ err: error }, `${label} relay pass failed`));

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
