// Smoke test of the token endpoint benchmark, not the benchmark: every server issues a real
// certificate-bound token for a client_credentials grant with private_key_jwt, and holds ~2 s of
// low-rate load through each load generator with fresh assertions and no errors. Speed is never
// asserted here (issue 11: figures come from `nx run bench:bench:token`).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { dropTestDatabase, testMongoUrl } from '@obip/testing';
import { rssMiB } from '../harness/processes';
import { assertHoldsShortLoad } from '../harness/smoke-load';
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
      await assertHoldsShortLoad(target.url, target.requests, { rate: 40, pacedBodies: 120 });
    });
  }
});
