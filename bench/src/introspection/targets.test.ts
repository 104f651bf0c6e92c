// Smoke test of the introspection benchmark, not the benchmark: every server starts, answers
// correctly, and survives ~2 s of low-rate load through each load generator without errors.
// Speed is never asserted here (issue 11: figures come from `nx run bench:bench:introspection`).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { runGrpcLoad } from '../harness/grpc-load';
import { assertHoldsShortLoad } from '../harness/smoke-load';
import { rssMiB } from '../harness/processes';
import { checkTargetAnswers, startIntrospectionTargets, type IntrospectionTargets, type TargetName } from './targets';

describe('introspection benchmark targets', () => {
  let started: IntrospectionTargets;

  before(async () => {
    started = await startIntrospectionTargets({ tokenCount: 8, peerDeadlineMs: 10_000 });
  });
  after(() => started?.stop());

  for (const name of ['obip', 'engine', 'floor'] as TargetName[]) {
    test(`${name} answers active and inactive tokens correctly and holds a short low-rate load`, async () => {
      const target = started.targets[name];
      await checkTargetAnswers(target);
      assert.ok((rssMiB(target.pid) ?? 0) > 0, 'its RSS can be read');
      await assertHoldsShortLoad(
        target.url,
        { headers: target.headers, bodies: target.bodies(), expectBodyPrefix: '{"active":true' },
        { rate: 50 },
      );
    });
  }

  test('obip answers the gRPC Introspect loop', async () => {
    const result = await runGrpcLoad({
      target: started.grpcTarget,
      concurrency: 2,
      warmupSeconds: 0.5,
      durationSeconds: 1,
      tokens: started.targets.obip.tokens,
    });
    assert.ok(result.requests > 0, `no call was answered in the measured window: ${JSON.stringify(result)}`);
    assert.deepEqual([result.errors, result.inactive], [0, 0], JSON.stringify(result));
  });
});
