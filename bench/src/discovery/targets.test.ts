// Smoke test of the discovery and JWKS benchmark, not the benchmark: every server serves both
// documents correctly and holds ~2 s of low-rate load through each load generator without
// errors. Speed is never asserted here (issue 11: figures come from `nx run bench:bench:discovery`).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { dropTestDatabase, testMongoUrl } from '@obip/testing';
import { assertHoldsShortLoad } from '../harness/smoke-load';
import { rssMiB } from '../harness/processes';
import {
  checkDocumentAnswers,
  fetchDocument,
  startDiscoveryTargets,
  type DiscoveryTargetName,
  type DiscoveryTargets,
  type DocumentName,
} from './targets';

describe('discovery and JWKS benchmark targets', () => {
  let started: DiscoveryTargets;

  before(async () => {
    started = await startDiscoveryTargets({ mongoUrl: testMongoUrl() });
  });
  after(async () => {
    await started?.stop();
    await dropTestDatabase(testMongoUrl());
  });

  test("the floor serves obip's documents byte for byte", async () => {
    for (const document of ['discovery', 'jwks'] as DocumentName[]) {
      const { obip, floor } = started.targets[document];
      assert.equal((await fetchDocument(floor)).bytes, (await fetchDocument(obip)).bytes, document);
      assert.deepEqual((await fetchDocument(floor)).json, (await fetchDocument(obip)).json, document);
    }
  });

  for (const name of ['obip', 'engine', 'floor'] as DiscoveryTargetName[]) {
    test(`${name} serves discovery and its JWKS and holds a short low-rate load`, async () => {
      for (const document of ['discovery', 'jwks'] as DocumentName[]) {
        const target = started.targets[document][name];
        await checkDocumentAnswers(target);
        assert.ok((rssMiB(target.pid) ?? 0) > 0, 'its RSS can be read');
        await assertHoldsShortLoad(target.url, target.requests, { rate: 50, pacedSeconds: 1 });
      }
    });
  }
});
