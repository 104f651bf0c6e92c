// Smoke test of the token endpoint benchmark, not the benchmark: every server issues a real
// certificate-bound token for a client_credentials grant with private_key_jwt, and holds ~2 s of
// low-rate load through each load generator with fresh assertions and no errors. Speed is never
// asserted here (issue 11: figures come from `nx run bench:bench:token`).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { dropTestDatabase, testMongoUrl } from '@obip/testing';
import { runHttpLoad } from '../harness/http-load';
import { runPacedLoad } from '../harness/paced-load';
import { rssMiB } from '../harness/processes';
import { withBodyCount } from '../harness/requests';
import { checkTokenAnswers, startTokenTargets, type TokenTargetName, type TokenTargets } from './targets';

describe('token endpoint benchmark targets', () => {
  let started: TokenTargets;

  before(async () => {
    started = await startTokenTargets({ mongoUrl: testMongoUrl() });
  });
  after(async () => {
    await started?.stop();
    await dropTestDatabase(testMongoUrl());
  });

  for (const name of ['obip', 'engine', 'floor'] as TokenTargetName[]) {
    test(`${name} issues a certificate-bound token for a fresh client assertion and holds a short low-rate load`, async () => {
      const target = started.targets[name];
      await checkTokenAnswers(target, started.servers);
      assert.ok((rssMiB(target.pid) ?? 0) > 0, 'its RSS can be read');
      const common = { url: target.url, connections: 2 };
      const paced = await runPacedLoad({
        ...common,
        ...withBodyCount(target.requests, 120),
        rate: 40,
        warmupSeconds: 0.5,
        durationSeconds: 1.5,
      });
      assert.ok(paced.requests >= 40, `paced requests: ${paced.requests}`);
      assert.deepEqual(
        [paced.errors, paced.timeouts, paced.non2xx, paced.mismatches, paced.bodiesReused],
        [0, 0, 0, 0, 0],
      );
      const burst = await runHttpLoad({ ...common, ...withBodyCount(target.requests, 20_000), durationSeconds: 1 });
      assert.ok(burst.requests > 0);
      assert.deepEqual(
        [burst.errors, burst.timeouts, burst.non2xx, burst.mismatches, burst.bodiesReused],
        [0, 0, 0, 0, 0],
      );
    });
  }
});
