// Smoke test of the PAR benchmark, not the benchmark: every server takes a real pushed
// authorization request with a signed request object (obip and the engine then accept its
// request_uri at /authorize), and holds ~2 s of low-rate load through each load generator with
// fresh JWTs and no errors. Speed is never asserted here (figures come from `nx run bench:bench:par`).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { dropTestDatabase, testMongoUrl } from '@obip/testing';
import type { EndpointTargetName } from '../auth-server/scenario';
import { rssMiB } from '../harness/processes';
import { assertHoldsShortLoad } from '../harness/smoke-load';
import { checkParAnswers, startParTargets, type ParTargets } from './targets';

describe('PAR benchmark targets', () => {
  let started: ParTargets;

  before(async () => {
    started = await startParTargets({ mongoUrl: testMongoUrl() });
  });
  after(async () => {
    await started?.stop();
    await dropTestDatabase(testMongoUrl());
  });

  for (const name of ['obip', 'engine', 'floor'] as EndpointTargetName[]) {
    test(`${name} takes a pushed request with a signed request object and holds a short low-rate load`, async () => {
      const target = started.targets[name];
      await checkParAnswers(target, started.servers);
      assert.ok((rssMiB(target.pid) ?? 0) > 0, 'its RSS can be read');
      await assertHoldsShortLoad(target.url, target.requests, { rate: 40, pacedBodies: 120 });
    });
  }
});
