// API fuzzing, bounded for CI: schemathesis against the OpenAPI documents of dcr-service,
// consent-service and config-api on the running platform (the edge's mTLS host with a TPP's
// transport certificate and tokens; config-api with an admin token), a few cases per operation
// and phase with a fixed seed. Every response must be a non-5xx that the document describes
// (status code, content type, headers, body schema), a request the document calls invalid must be
// refused, and none answered without credentials (CHECKS in fuzz.ts). The full run is
// `npx nx run e2e:fuzz` (main.ts, 200 cases per operation and phase).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { attachServerLogsOnFailure } from '@obip/testing';
import { FUZZ_TARGETS, runSchemathesis, startFuzzPlatform, type FuzzPlatform, type FuzzTargetName } from './fuzz';

/**
 * Small enough for a loaded 2-core CI machine: 5 generated cases per operation and phase, and the
 * coverage phase (deterministic boundary and negative cases, most of the run's time) only in the
 * pass over generated identifiers. The full run has both phases in every pass.
 */
const MAX_EXAMPLES = 5;
const OPTIONS = { maxExamples: MAX_EXAMPLES, seed: 20261122, existingResourcePhases: ['examples', 'fuzzing'] };
const HTTP_METHODS = new Set(['get', 'put', 'post', 'delete', 'patch', 'head', 'options']);

let fuzz: FuzzPlatform | undefined;

attachServerLogsOnFailure({
  sources: [() => fuzz?.logs ?? []],
});

// The platform, config-api, six registrations and a customer's authorisation: on a loaded CI
// machine this can take more than the default 120 s per hook (startFuzzPlatform retries a start).
before(
  async () => {
    fuzz = await startFuzzPlatform();
  },
  { timeout: 240_000 },
);
after(() => fuzz?.stop());

/** How many operations a document declares, to see that schemathesis tested each one. */
async function operationsOf(name: FuzzTargetName): Promise<number> {
  const document = (await (await fetch(fuzz!.targets[name].schemaUrl)).json()) as {
    paths: Record<string, Record<string, unknown>>;
  };
  return Object.values(document.paths).reduce(
    (count, item) => count + Object.keys(item).filter((key) => HTTP_METHODS.has(key)).length,
    0,
  );
}

/** schemathesis's failures and its summary, without the progress lines before them. */
function failuresOf(output: string): string {
  const start = output.search(/^=+ (FAILURES|ERRORS) =+$/m);
  return (start >= 0 ? output.slice(start) : output).slice(0, 20_000);
}

// In this order: config-api can suspend clients and revoke consents of the same platform.
describe('schemathesis against the OpenAPI documents (bounded)', () => {
  for (const name of FUZZ_TARGETS) {
    test(`${name}: no 5xx, and every response as its document describes it`, async (t) => {
      const run = await runSchemathesis(fuzz!, name, OPTIONS);
      t.diagnostic(`${name}: ${run.operations} operations, ${run.testCases} test cases`);
      assert.equal(run.exitCode, 0, `schemathesis found failures in ${name}:\n${failuresOf(run.output)}`);
      assert.equal(run.operations, await operationsOf(name), 'every operation of the document was tested');
      assert.ok(run.testCases >= run.operations * MAX_EXAMPLES, `only ${run.testCases} test cases`);
    });
  }
});
