/**
 * Leader election over a coordination.k8s.io/v1 Lease, with client-go's semantics
 * (k8s.io/client-go/tools/leaderelection), since @kubernetes/client-node has no helper:
 * read the Lease; create it when missing; leave it alone while another holder's
 * `renewTime + leaseDurationSeconds` is in the future; otherwise replace it with ourselves as
 * holder, sending the read `resourceVersion` so that of two replicas racing for it exactly one
 * wins (the other gets 409 Conflict). The leader renews every third of the duration and stops
 * leading when renewals have failed for the renew deadline, which is shorter than the duration,
 * so it steps down before anyone else may take over. On a graceful stop it releases the Lease by
 * clearing `holderIdentity`, so a successor need not wait for it to expire.
 *
 * Expiry is judged from the record's renewTime against the local clock, so replicas rely on
 * their clocks agreeing to within a small fraction of the duration (NTP on cluster nodes).
 */
import { V1MicroTime, type V1Lease, type V1LeaseSpec } from '@kubernetes/client-node';
import { apiStatusOf, describeApiError, type KubernetesLogger, type LeaseApi } from './kubernetes.client';

export interface LeaderElectionOptions {
  coordination: LeaseApi;
  namespace: string;
  leaseName: string;
  /** This replica's holder identity (its pod name). Must differ between replicas. */
  identity: string;
  /** How long the Lease stays ours without a renewal. */
  leaseDurationSeconds: number;
  /** How often the leader renews. Default: a third of the lease duration. */
  renewIntervalMs?: number;
  /** How often a follower tries to acquire, and a leader retries a failed renewal. Default: a sixth of the lease duration. */
  retryIntervalMs?: number;
  /** How long renewals may fail before the leader stops leading. Default: two thirds of the lease duration. */
  renewDeadlineMs?: number;
  logger: KubernetesLogger;
  /** Called (not awaited by the election) when this replica becomes the leader. */
  onStartedLeading(): void | Promise<void>;
  /** Called when this replica stops being the leader: lost, expired or stopped. */
  onStoppedLeading(): void | Promise<void>;
  /** Clock for lease timestamps and expiry; tests may freeze it. */
  now?: () => Date;
}

export interface LeaderElection {
  /** Starts campaigning: the first attempt runs at once. */
  start(): void;
  /**
   * Stops campaigning and, when leading, stops leading. With `release` (the default) the Lease is
   * handed over by clearing its holder; `release: false` simulates a crash, leaving it to expire.
   */
  stop(options?: { release?: boolean }): Promise<void>;
  isLeader(): boolean;
}

/** What a Lease record means to one candidate at one instant. */
export type LeaseHolderState = 'mine' | 'free' | 'expired' | 'held';

/**
 * Whether `identity` may take the Lease at `now`: it is `mine` already, `free` (no holder:
 * released or never held), `expired` (its holder stopped renewing), or validly `held` by another.
 */
export function leaseHolderState(
  spec: V1LeaseSpec | undefined,
  identity: string,
  now: Date,
  fallbackDurationSeconds: number,
): LeaseHolderState {
  const holder = spec?.holderIdentity ?? '';
  if (holder === identity) return 'mine';
  if (holder === '') return 'free';
  const renewed = toDate(spec?.renewTime ?? spec?.acquireTime);
  if (!renewed) return 'expired';
  const durationMs = (spec?.leaseDurationSeconds ?? fallbackDurationSeconds) * 1000;
  return now.getTime() < renewed.getTime() + durationMs ? 'held' : 'expired';
}

/**
 * The spec `identity` writes to acquire or renew the Lease: a renewal keeps acquireTime and the
 * transition count; taking it from another holder (or after a release) counts one transition.
 */
export function nextLeaseSpec(
  previous: V1LeaseSpec | undefined,
  identity: string,
  leaseDurationSeconds: number,
  now: Date,
): V1LeaseSpec {
  const renewing = previous?.holderIdentity === identity;
  const transitions = previous?.leaseTransitions ?? 0;
  return {
    ...previous,
    holderIdentity: identity,
    leaseDurationSeconds,
    acquireTime: renewing && previous?.acquireTime ? previous.acquireTime : new V1MicroTime(now.getTime()),
    renewTime: new V1MicroTime(now.getTime()),
    leaseTransitions: renewing || previous === undefined ? transitions : transitions + 1,
  };
}

/** The spec a leader writes on a graceful stop: no holder, so the next candidate acquires at once. */
export function releasedLeaseSpec(previous: V1LeaseSpec | undefined, now: Date): V1LeaseSpec {
  return {
    ...previous,
    holderIdentity: '',
    // As client-go: a short duration, in case a candidate still reads the old holder from a cache.
    leaseDurationSeconds: 1,
    renewTime: new V1MicroTime(now.getTime()),
  };
}

/** The client deserialises MicroTime fields as strings although they are typed as dates. */
function toDate(value: Date | string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

type Attempt = 'acquired' | 'renewed' | 'held-by-other' | 'lost-race' | 'failed';

/**
 * Creates a leader election for one replica. Nothing happens until `start()`.
 *
 * @example
 * const election = createLeaderElection({
 *   coordination: apis.leases, namespace: 'obip', leaseName: 'obip-config-api', identity: podName,
 *   leaseDurationSeconds: 15, logger,
 *   onStartedLeading: () => syncEverything(), onStoppedLeading: () => logger.info({}, 'follower now'),
 * });
 * election.start();
 * process.once('SIGTERM', () => void election.stop());
 */
export function createLeaderElection(options: LeaderElectionOptions): LeaderElection {
  const { coordination, namespace, leaseName, identity, leaseDurationSeconds, logger } = options;
  const durationMs = leaseDurationSeconds * 1000;
  const renewIntervalMs = options.renewIntervalMs ?? Math.round(durationMs / 3);
  const retryIntervalMs = options.retryIntervalMs ?? Math.round(durationMs / 6);
  const renewDeadlineMs = options.renewDeadlineMs ?? Math.round((durationMs * 2) / 3);
  const now = options.now ?? (() => new Date());
  if (!(renewIntervalMs < renewDeadlineMs && renewDeadlineMs < durationMs && retryIntervalMs <= renewIntervalMs)) {
    throw new RangeError(
      'leader election needs retryInterval <= renewInterval < renewDeadline < leaseDuration ' +
        `(got ${retryIntervalMs}, ${renewIntervalMs}, ${renewDeadlineMs}, ${durationMs} ms)`,
    );
  }
  const where = { namespace, lease: leaseName, identity };

  let leading = false;
  let stopped = true;
  let lastRenewAt = 0;
  /** The Lease as we last wrote it: its resourceVersion makes a release conditional on nobody having taken over. */
  let observed: V1Lease | undefined;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> | undefined;

  async function createLease(): Promise<Attempt> {
    try {
      observed = await coordination.createNamespacedLease({
        namespace,
        body: {
          metadata: { name: leaseName, namespace },
          spec: nextLeaseSpec(undefined, identity, leaseDurationSeconds, now()),
        },
      });
      return 'acquired';
    } catch (error) {
      // 409 AlreadyExists: another replica created it first.
      if (apiStatusOf(error) === 409) return 'lost-race';
      logger.warn({ ...where, reason: describeApiError(error) }, 'could not create the leader election Lease');
      return 'failed';
    }
  }

  async function tryAcquireOrRenew(): Promise<Attempt> {
    let lease: V1Lease;
    try {
      lease = await coordination.readNamespacedLease({ name: leaseName, namespace });
    } catch (error) {
      if (apiStatusOf(error) === 404) return createLease();
      logger.warn({ ...where, reason: describeApiError(error) }, 'could not read the leader election Lease');
      return 'failed';
    }
    const state = leaseHolderState(lease.spec, identity, now(), leaseDurationSeconds);
    if (state === 'held') return 'held-by-other';
    try {
      observed = await coordination.replaceNamespacedLease({
        name: leaseName,
        namespace,
        // The read metadata keeps resourceVersion: the write only lands if nobody wrote in between.
        body: { ...lease, spec: nextLeaseSpec(lease.spec, identity, leaseDurationSeconds, now()) },
      });
      return state === 'mine' ? 'renewed' : 'acquired';
    } catch (error) {
      if (apiStatusOf(error) === 409) return 'lost-race';
      logger.warn({ ...where, reason: describeApiError(error) }, 'could not update the leader election Lease');
      return 'failed';
    }
  }

  function startLeading(): void {
    leading = true;
    logger.info(
      { ...where, leaseTransitions: observed?.spec?.leaseTransitions ?? 0 },
      'became the leader: this replica writes the platform Secrets',
    );
    void Promise.resolve()
      .then(() => options.onStartedLeading())
      .catch((error: unknown) => logger.error({ ...where, err: error }, 'onStartedLeading failed'));
  }

  /** Stops leading; `beforeNotify` runs once this replica no longer counts as leader, before the callback. */
  async function stopLeading(reason: string, beforeNotify?: () => Promise<void>): Promise<void> {
    if (!leading) return;
    leading = false;
    await beforeNotify?.();
    logger.info({ ...where, reason }, 'stopped leading');
    try {
      await options.onStoppedLeading();
    } catch (error) {
      logger.error({ ...where, err: error }, 'onStoppedLeading failed');
    }
  }

  async function step(): Promise<number> {
    const attempt = await tryAcquireOrRenew();
    if (attempt === 'held-by-other') observed = undefined;
    if (stopped) return 0;
    if (attempt === 'acquired' || attempt === 'renewed') {
      lastRenewAt = now().getTime();
      if (!leading) startLeading();
      return renewIntervalMs;
    }
    if (leading) {
      if (attempt === 'held-by-other') await stopLeading('another replica holds the Lease');
      else if (now().getTime() - lastRenewAt >= renewDeadlineMs)
        await stopLeading('renewals failed past the renew deadline');
    }
    // A little jitter so that replicas started together do not poll in lock step.
    return Math.round(retryIntervalMs * (1 + Math.random() * 0.2));
  }

  function schedule(delayMs: number): void {
    timer = setTimeout(() => {
      inFlight = step()
        .then((next) => {
          if (!stopped) schedule(next);
        })
        .catch((error: unknown) => {
          logger.error({ ...where, err: error }, 'leader election step failed');
          if (!stopped) schedule(retryIntervalMs);
        })
        .finally(() => {
          inFlight = undefined;
        });
    }, delayMs);
  }

  async function release(): Promise<void> {
    if (!observed) return;
    try {
      await coordination.replaceNamespacedLease({
        name: leaseName,
        namespace,
        body: { ...observed, spec: releasedLeaseSpec(observed.spec, now()) },
      });
      observed = undefined;
      logger.info(where, 'released the leader election Lease');
    } catch (error) {
      // 409: someone wrote the Lease since our last renewal, so it is no longer ours to release.
      logger.warn({ ...where, reason: describeApiError(error) }, 'could not release the leader election Lease');
    }
  }

  return {
    start() {
      if (!stopped) return;
      stopped = false;
      logger.info({ ...where, leaseDurationSeconds }, 'leader election started');
      schedule(0);
    },
    async stop({ release: shouldRelease = true } = {}) {
      if (stopped) return;
      stopped = true;
      clearTimeout(timer);
      await inFlight;
      // An attempt in flight at stop() may just have acquired the Lease without leading yet: release it too.
      const holding = observed?.spec?.holderIdentity === identity;
      const handOver = shouldRelease && holding ? release : undefined;
      if (leading) {
        // Not leading any more before the Lease is handed over, so no write of ours races the successor.
        await stopLeading(shouldRelease ? 'stopped; Lease released' : 'stopped without releasing the Lease', handOver);
      } else await handOver?.();
    },
    isLeader: () => leading,
  };
}
