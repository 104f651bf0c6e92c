// `npx nx run e2e:fuzz` (node --import tsx e2e/src/fuzz/main.ts [--max-examples N] [--seed N]
// [--workers N] [--only <service>]): the full schemathesis run against the OpenAPI documents of
// dcr-service, consent-service and config-api, on a platform of its own (Redis and the
// MongoDB-compatible server included). Exits 1 if any document's run failed.
import { parseArgs } from 'node:util';
import { startMongoServer, startRedisServer, TEST_ENV } from '@obip/testing';
import { FUZZ_TARGETS, runSchemathesis, startFuzzPlatform, type FuzzTargetName } from './fuzz';

const USAGE = `usage: node --import tsx e2e/src/fuzz/main.ts [--max-examples N] [--seed N] [--workers N] [--only NAME]
  --max-examples  test cases per operation and phase (default 200)
  --seed          schemathesis seed (default: random; printed in its output)
  --workers       parallel requests (default 1; schemathesis threads trip a CPython 3.11 AST bug)
  --only          one of ${FUZZ_TARGETS.join(', ')}`;

const { values } = parseArgs({
  options: {
    'max-examples': { type: 'string', default: '200' },
    seed: { type: 'string' },
    workers: { type: 'string', default: '1' },
    only: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const targets = values.only ? [values.only as FuzzTargetName] : [...FUZZ_TARGETS];
if (targets.some((target) => !FUZZ_TARGETS.includes(target))) {
  process.stderr.write(`${USAGE}\n`);
  process.exit(2);
}

// The servers the test harness would share, started here for this run only.
const redis = await startRedisServer();
const mongo = await startMongoServer();
process.env[TEST_ENV.redisUrl] = redis.url;
process.env[TEST_ENV.mongoUrl] = mongo.url;
const fuzz = await startFuzzPlatform().catch(async (error: unknown) => {
  await Promise.all([redis.dispose(), mongo.stop()]);
  throw error;
});
const results: string[] = [];
let failed = false;
try {
  // config-api last: it can suspend clients and revoke consents of the platform the others use.
  for (const name of targets) {
    process.stdout.write(`\n=== schemathesis: ${name} ===\n`);
    const run = await runSchemathesis(fuzz, name, {
      maxExamples: Number(values['max-examples']),
      ...(values.seed === undefined ? {} : { seed: Number(values.seed) }),
      workers: Number(values.workers),
      onOutput: (chunk) => process.stdout.write(chunk),
    });
    failed ||= run.exitCode !== 0;
    results.push(
      `${name}: ${run.exitCode === 0 ? 'passed' : `FAILED (exit ${run.exitCode})`}, ${run.operations} operations, ${run.testCases} test cases`,
    );
  }
} finally {
  await fuzz.stop();
  await Promise.all([redis.dispose(), mongo.stop()]);
}
process.stdout.write(`\n${results.join('\n')}\n`);
process.exit(failed ? 1 : 0);
