import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { KubeConfig, V1MicroTime } from '@kubernetes/client-node';
import { startFakeKubernetesApi, type FakeKubernetesApi } from '@obip/testing';
import { createKubernetesApis, type KubernetesLogger, type LeaseApi } from './kubernetes.client';
import {
  createLeaderElection,
  leaseHolderState,
  nextLeaseSpec,
  releasedLeaseSpec,
  type LeaderElection,
  type LeaderElectionOptions,
} from './kubernetes.leader';

const NAMESPACE = 'obip';
const DURATION_SECONDS = 2;
const leasePath = (name: string) => `/apis/coordination.k8s.io/v1/namespaces/${NAMESPACE}/leases/${name}`;

const quiet: KubernetesLogger = { debug() {}, info() {}, warn() {}, error() {} };

async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<number> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return Date.now() - started;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('leader election against a Kubernetes API server', () => {
  let api: FakeKubernetesApi;
  let leases: LeaseApi;
  const running: LeaderElection[] = [];
  let leaseCounter = 0;

  before(async () => {
    api = await startFakeKubernetesApi();
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromOptions(api.kubeConfig(NAMESPACE));
    leases = createKubernetesApis(kubeConfig, { leaseRequestTimeoutMs: 600 }).leases;
  });
  after(async () => {
    await Promise.all(running.map((election) => election.stop({ release: false })));
    await api.close();
  });

  /** A candidate on its own Lease name per test, counting its callbacks. */
  function candidate(identity: string, leaseName: string, overrides: Partial<LeaderElectionOptions> = {}) {
    const events: string[] = [];
    const election = createLeaderElection({
      coordination: leases,
      namespace: NAMESPACE,
      leaseName,
      identity,
      leaseDurationSeconds: DURATION_SECONDS,
      logger: quiet,
      onStartedLeading: () => void events.push('started'),
      onStoppedLeading: () => void events.push('stopped'),
      ...overrides,
    });
    running.push(election);
    return { election, events };
  }

  const newLeaseName = () => `lease-${++leaseCounter}`;

  it('elects exactly one of two candidates, creating the Lease when it is missing', async () => {
    const leaseName = newLeaseName();
    const a = candidate('pod-a', leaseName);
    const b = candidate('pod-b', leaseName);
    a.election.start();
    b.election.start();
    await waitFor(() => a.election.isLeader() || b.election.isLeader(), 2_000, 'a leader');
    // Let a few renewals and acquisition attempts pass: the election stays settled.
    await sleep(1_000);
    const leaders = [a, b].filter((c) => c.election.isLeader());
    assert.equal(leaders.length, 1);
    const leaderId = a.election.isLeader() ? 'pod-a' : 'pod-b';
    const lease = api.leases.get(NAMESPACE, leaseName);
    assert.equal((lease?.spec as { holderIdentity?: string }).holderIdentity, leaderId);
    assert.equal((lease?.spec as { leaseDurationSeconds?: number }).leaseDurationSeconds, DURATION_SECONDS);
    assert.equal((lease?.spec as { leaseTransitions?: number }).leaseTransitions, 0);
    assert.ok(
      api.requests.some((r) => r.method === 'POST' && r.status === 201),
      'the Lease was created',
    );
    assert.deepEqual(leaders[0]?.events, ['started']);
  });

  it('renews the Lease while leading: acquireTime stays, renewTime advances', async () => {
    const leaseName = newLeaseName();
    const a = candidate('pod-a', leaseName);
    a.election.start();
    await waitFor(() => a.election.isLeader(), 2_000, 'pod-a to lead');
    type Times = { acquireTime: string; renewTime: string };
    const spec = () => api.leases.get(NAMESPACE, leaseName)?.spec as Times;
    const first = spec();
    // Waited for rather than slept on: on busy CI cores no renewal once landed within a fixed second.
    await waitFor(() => Date.parse(spec().renewTime) > Date.parse(first.renewTime), 5_000, 'renewTime to move on');
    const later = spec();
    assert.equal(later.acquireTime, first.acquireTime);
    assert.ok(Date.parse(later.renewTime) > Date.parse(first.renewTime), 'renewTime moved on');
    assert.match(later.renewTime, /\.\d{6}Z$/, 'MicroTime has microsecond precision');
  });

  it('hands over to the other candidate within the lease duration when the leader dies', async () => {
    const leaseName = newLeaseName();
    const a = candidate('pod-a', leaseName);
    a.election.start();
    await waitFor(() => a.election.isLeader(), 2_000, 'pod-a to lead');
    const b = candidate('pod-b', leaseName);
    b.election.start();
    await sleep(500);
    assert.equal(b.election.isLeader(), false, 'a follower while the Lease is renewed');

    // Death: no more renewals and no release.
    await a.election.stop({ release: false });
    const lastRenewal = Date.parse((api.leases.get(NAMESPACE, leaseName)?.spec as { renewTime: string }).renewTime);
    const tookMs = await waitFor(() => b.election.isLeader(), 4_000, 'pod-b to take over');

    // Not before the Lease expired, and within the duration plus one retry interval of the death.
    const spec = api.leases.get(NAMESPACE, leaseName)?.spec as {
      holderIdentity: string;
      acquireTime: string;
      leaseTransitions: number;
    };
    assert.equal(spec.holderIdentity, 'pod-b');
    assert.ok(Date.parse(spec.acquireTime) >= lastRenewal + DURATION_SECONDS * 1000, 'taken only once expired');
    const retryMs = (DURATION_SECONDS * 1000) / 6;
    assert.ok(tookMs <= DURATION_SECONDS * 1000 + retryMs * 1.2 + 300, `took over after ${tookMs} ms`);
    assert.equal(spec.leaseTransitions, 1);
    assert.deepEqual(a.events, ['started', 'stopped']);
  });

  it('releases the Lease on a graceful stop, so the other candidate takes over promptly', async () => {
    const leaseName = newLeaseName();
    const a = candidate('pod-a', leaseName);
    a.election.start();
    await waitFor(() => a.election.isLeader(), 2_000, 'pod-a to lead');
    const b = candidate('pod-b', leaseName);
    b.election.start();
    await sleep(300);

    await a.election.stop();
    assert.equal(a.election.isLeader(), false);
    assert.equal((api.leases.get(NAMESPACE, leaseName)?.spec as { holderIdentity?: string }).holderIdentity, '');
    const tookMs = await waitFor(() => b.election.isLeader(), 2_000, 'pod-b to take over');
    assert.ok(tookMs < (DURATION_SECONDS * 1000) / 2, `took over after ${tookMs} ms, well before expiry`);
    assert.deepEqual(a.events, ['started', 'stopped']);
  });

  it('stays a follower when it loses the race to replace an expired Lease (409 Conflict)', async () => {
    const leaseName = newLeaseName();
    const longAgo = new V1MicroTime(Date.now() - 60_000).toISOString();
    api.leases.put(NAMESPACE, {
      metadata: { name: leaseName },
      spec: { holderIdentity: 'gone', leaseDurationSeconds: 2, acquireTime: longAgo, renewTime: longAgo },
    });
    // Just before our replace lands, a rival takes the Lease: our resourceVersion is now stale.
    api.beforeNext('PUT', leasePath(leaseName), () => {
      const current = api.leases.get(NAMESPACE, leaseName);
      const now = new V1MicroTime(Date.now() + 60_000).toISOString();
      api.leases.put(NAMESPACE, {
        ...current,
        spec: { ...(current?.spec as object), holderIdentity: 'rival', renewTime: now },
      });
    });
    const a = candidate('pod-a', leaseName);
    a.election.start();
    await waitFor(
      () => api.requests.some((r) => r.path === leasePath(leaseName) && r.status === 409),
      2_000,
      'the 409',
    );
    await sleep(500);
    assert.equal(a.election.isLeader(), false);
    assert.equal((api.leases.get(NAMESPACE, leaseName)?.spec as { holderIdentity: string }).holderIdentity, 'rival');
    assert.deepEqual(a.events, []);
  });

  it('stops leading when renewals fail past the renew deadline', async () => {
    const leaseName = newLeaseName();
    const a = candidate('pod-a', leaseName);
    a.election.start();
    await waitFor(() => a.election.isLeader(), 2_000, 'pod-a to lead');
    api.failNext('GET', leasePath(leaseName), 503, 1_000);
    const tookMs = await waitFor(() => !a.election.isLeader(), 3_000, 'pod-a to step down');
    // Renew deadline (2/3 of the duration) plus at most one renew interval and one retry.
    assert.ok(tookMs <= DURATION_SECONDS * 1000, `stepped down after ${tookMs} ms, before anyone may take over`);
    assert.deepEqual(a.events, ['started', 'stopped']);
  });

  it('steps down at once when it finds another holder in the Lease', async () => {
    const leaseName = newLeaseName();
    const a = candidate('pod-a', leaseName);
    a.election.start();
    await waitFor(() => a.election.isLeader(), 2_000, 'pod-a to lead');
    const current = api.leases.get(NAMESPACE, leaseName);
    api.leases.put(NAMESPACE, {
      ...current,
      spec: { ...(current?.spec as object), holderIdentity: 'intruder', renewTime: new V1MicroTime().toISOString() },
    });
    await waitFor(() => !a.election.isLeader(), 1_500, 'pod-a to step down');
    assert.deepEqual(a.events, ['started', 'stopped']);
  });

  it('refuses timing that would let two replicas lead at once', () => {
    assert.throws(
      () =>
        createLeaderElection({
          coordination: leases,
          namespace: NAMESPACE,
          leaseName: 'x',
          identity: 'pod-a',
          leaseDurationSeconds: 2,
          renewDeadlineMs: 2_500,
          logger: quiet,
          onStartedLeading() {},
          onStoppedLeading() {},
        }),
      RangeError,
    );
  });
});

describe('Lease rules (frozen clock)', () => {
  const renewed = new Date('2026-01-01T00:00:00.000Z');
  const held = { holderIdentity: 'pod-b', leaseDurationSeconds: 15, renewTime: renewed, leaseTransitions: 3 };

  it('counts a Lease held by another as held until renewTime plus its duration', () => {
    assert.equal(leaseHolderState(held, 'pod-a', new Date(renewed.getTime() + 14_999), 15), 'held');
    assert.equal(leaseHolderState(held, 'pod-a', new Date(renewed.getTime() + 15_000), 15), 'expired');
  });

  it('reads renewTime as the client returns it, a MicroTime string', () => {
    const spec = { ...held, renewTime: '2026-01-01T00:00:00.000000Z' as unknown as Date };
    assert.equal(leaseHolderState(spec, 'pod-a', new Date(renewed.getTime() + 1_000), 15), 'held');
  });

  it('sees its own Lease as mine and a Lease without holder as free', () => {
    assert.equal(leaseHolderState(held, 'pod-b', new Date(renewed.getTime() + 60_000), 15), 'mine');
    assert.equal(leaseHolderState({ ...held, holderIdentity: '' }, 'pod-a', renewed, 15), 'free');
    assert.equal(leaseHolderState(undefined, 'pod-a', renewed, 15), 'free');
  });

  it('counts one transition when the Lease changes hands, none on renewal', () => {
    const now = new Date(renewed.getTime() + 20_000);
    const taken = nextLeaseSpec(held, 'pod-a', 15, now);
    assert.equal(taken.holderIdentity, 'pod-a');
    assert.equal(taken.leaseTransitions, 4);
    assert.equal(new Date(taken.acquireTime as Date).getTime(), now.getTime());

    const later = new Date(now.getTime() + 5_000);
    const renewal = nextLeaseSpec(taken, 'pod-a', 15, later);
    assert.equal(renewal.leaseTransitions, 4);
    assert.equal(renewal.acquireTime, taken.acquireTime);
    assert.equal(new Date(renewal.renewTime as Date).getTime(), later.getTime());
    assert.equal(nextLeaseSpec(undefined, 'pod-a', 15, now).leaseTransitions, 0);
  });

  it('releases by clearing the holder and keeping the transition count', () => {
    const released = releasedLeaseSpec(held, renewed);
    assert.equal(released.holderIdentity, '');
    assert.equal(released.leaseTransitions, 3);
    assert.equal(leaseHolderState(released, 'pod-a', renewed, 15), 'free');
  });
});
