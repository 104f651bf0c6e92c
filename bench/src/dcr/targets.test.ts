// Smoke test of the DCR registration benchmark, not the benchmark: every server registers a real
// client from a fresh request (and obip refuses it a second time), refuses a request that is not
// valid without writing anything, and holds ~2 s of low-rate load through each load generator
// with fresh requests and no errors. Speed is never asserted here (issue 11: figures come from
// `nx run bench:bench:dcr`).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { decodeJwt } from 'jose';
import { dropTestDatabase, generateSigningKey, testMongoUrl } from '@obip/testing';
import { assertHoldsShortLoad } from '../harness/smoke-load';
import { rssMiB } from '../harness/processes';
import { registrationRequests } from './requests';
import {
  checkDcrAnswers,
  countDocuments,
  DCR_SIGNING_ALG,
  postRegistration,
  startDcrTargets,
  type DcrTargetName,
  type DcrTargets,
} from './targets';

const NAMES: DcrTargetName[] = ['obip', 'engine', 'floor'];

describe('DCR registration benchmark targets', () => {
  let started: DcrTargets;

  before(async () => {
    started = await startDcrTargets({ mongoUrlFor: (name) => testMongoUrl(`dcr_${name}`) });
  });
  after(async () => {
    await started?.stop();
    for (const name of NAMES) await dropTestDatabase(testMongoUrl(`dcr_${name}`));
  });

  /** A request the target must refuse, in the format it is sent. */
  async function invalidRequest(name: DcrTargetName): Promise<string> {
    if (name === 'engine') {
      // RFC 7591 §2: an authentication method the engine does not support.
      const valid = JSON.parse(started.targets.engine.requests.bodies![0]!) as Record<string, unknown>;
      return JSON.stringify({ ...valid, token_endpoint_auth_method: 'client_secret_basic_typo' });
    }
    // A software statement signed by a key the directory never published.
    const foreign = await generateSigningKey(DCR_SIGNING_ALG);
    return registrationRequests(
      { ...started.template, directory: { privateJwk: foreign.privateJwk, alg: DCR_SIGNING_ALG } },
      1,
    )[0]!;
  }

  for (const name of NAMES) {
    test(`${name} registers a new client per fresh request, refuses an invalid one and holds a short low-rate load`, async () => {
      const target = started.targets[name];
      await checkDcrAnswers(target, started);
      assert.ok((rssMiB(target.pid) ?? 0) > 0, 'its RSS can be read');

      const before = (await countDocuments(started.mongoUrls))[name];
      const refused = await postRegistration(target, await invalidRequest(name));
      assert.equal(refused.status, 400, refused.text);
      assert.equal(typeof refused.body.error, 'string', refused.text);
      assert.equal((await countDocuments(started.mongoUrls))[name], before, 'a refused request writes nothing');

      await assertHoldsShortLoad(target.url, target.requests, { rate: 20, pacedBodies: 120 });
    });
  }

  test('every generated request carries its own SSA and request jti', () => {
    const requests = registrationRequests(started.template, 3).map((request) => decodeJwt(request));
    const ssas = requests.map((request) => decodeJwt(String(request.software_statement)));
    assert.equal(new Set(requests.map((request) => request.jti)).size, 3);
    assert.equal(new Set(ssas.map((ssa) => ssa.jti)).size, 3);
    assert.ok(ssas.every((ssa) => ssa.software_id === started.software.softwareId));
  });
});
