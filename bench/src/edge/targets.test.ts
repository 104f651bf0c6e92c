// Smoke test of the edge and scale-out benchmark, not the benchmark: for token-introspection and
// for auth-server's token endpoint, a request through the nginx twin succeeds with the caller's
// client certificate and is refused at the edge without one; direct and through the twins, each
// target holds a short autocannon burst (HTTPS with the client certificate through the twins)
// without errors; behind the second twin both replicas serve requests; each replica starts with
// the chart's runtime environment (NODE_OPTIONS and glibc's malloc settings). Speed is never asserted
// here (issue 11: figures come from `nx run bench:bench:edge`).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { dropTestDatabase, testMongoUrl } from '@obip/testing';
import { serviceLaunch, serviceLaunchEnv } from '../harness/service-runtime';
import { assertHoldsBurst } from '../harness/smoke-load';
import { cpuSeconds } from '../harness/thread-cpu';
import { measureEdgePeak } from './run';
import {
  EDGE_TARGETS,
  postOnce,
  postsServed,
  startEdgeTargets,
  twinUpstreamReport,
  type EdgeService,
  type EdgeTargets,
} from './targets';

/** Requests sent one after another through the second twin, which round-robins them over both replicas. */
const SEQUENTIAL_THROUGH_TWIN_2 = 10;

for (const service of ['introspection', 'token'] as EdgeService[]) {
  describe(`edge benchmark targets: ${service}`, () => {
    let started: EdgeTargets;

    before(async () => {
      started = await startEdgeTargets(service, { mongoUrl: testMongoUrl(), tokenCount: 8, peerDeadlineMs: 10_000 });
    });
    after(async () => {
      await started?.stop();
      if (service === 'token') await dropTestDatabase(testMongoUrl());
    });

    test('every target answers correctly, the twins only to a caller with a client certificate', async () => {
      for (const name of EDGE_TARGETS) await started.check(started.targets[name]);
      const { edge } = started.targets;
      const refused = await postOnce(edge.url, edge.requests.headers, started.body(), { ca: started.caBundlePem });
      assert.equal(refused.status, 400, refused.text);
      assert.match(refused.text, /No required SSL certificate was sent/);
    });

    test('each target holds a short burst without errors, and both replicas serve behind the second twin', async () => {
      const before = await Promise.all(started.replicas.map(postsServed));
      for (const name of EDGE_TARGETS) {
        const target = started.targets[name];
        await assertHoldsBurst(target.url, target.requests, { tls: target.tls, label: name });
      }
      // Which replica a burst's requests reach depends on timing, and the last may reach a replica
      // after its count was read: send some in turn, each answered first.
      const { edge2 } = started.targets;
      for (let sent = 0; sent < SEQUENTIAL_THROUGH_TWIN_2; sent++) {
        const answer = await postOnce(edge2.url, edge2.requests.headers, started.body(), {
          ca: started.caBundlePem,
          ...edge2.tls,
        });
        assert.equal(answer.status, 200, answer.text);
      }
      const served = (await Promise.all(started.replicas.map(postsServed))).map(
        (count, index) => count - before[index]!,
      );
      // Replica 1 served all three bursts, replica 2 only (about half of) the second twin's.
      const ports = started.replicas.map((replica) => replica.ports.http).join(' and ');
      assert.ok(
        served[1]! >= SEQUENTIAL_THROUGH_TWIN_2 / 2 - 1,
        `replica 2 served ${served[1]} requests (replicas on ${ports})\n${twinUpstreamReport(started.twins[1])}`,
      );
      assert.ok(served[0]! > served[1]!, `replica 1 served ${served[0]}, replica 2 ${served[1]}`);
    });

    test("each replica's process starts with the chart's runtime environment", () => {
      // /proc/<pid>/environ is the environment the process was started with: what glibc and V8
      // read at start-up, so MALLOC_MMAP_THRESHOLD_ and NODE_OPTIONS take effect only if here.
      const expected = serviceLaunchEnv(serviceLaunch());
      assert.ok(expected.MALLOC_MMAP_THRESHOLD_ && expected.NODE_OPTIONS, 'the chart sets both');
      assert.equal(started.replicas.length, 2);
      for (const { pid } of started.replicas.map((replica) => replica.child)) {
        const environment = new Map(
          readFileSync(`/proc/${pid}/environ`, 'utf8')
            .split('\0')
            .filter(Boolean)
            .map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)]),
        );
        for (const [name, value] of Object.entries(expected))
          assert.equal(environment.get(name), value, `${pid} ${name}`);
      }
    });

    test('a measured run records the RSS and CPU time of each replica and of nginx', async () => {
      assert.ok(cpuSeconds(process.pid)! > 0);
      const run = await measureEdgePeak(started.targets.edge2, {
        warmupSeconds: 0.5,
        durationSeconds: 1,
        repeats: 1,
        connections: 2,
      });
      assert.deepEqual(
        run.processes.map((process) => process.role),
        ['service', 'service', 'nginx'],
      );
      for (const process of run.processes) {
        assert.ok((process.rssMiB ?? 0) > 0, `${process.role} ${process.pid} RSS`);
        assert.ok((process.cores ?? -1) >= 0, `${process.role} ${process.pid} CPU`);
      }
      assert.equal(run.errors + run.non2xx + run.mismatches, 0);
    });
  });
}
