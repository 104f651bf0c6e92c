// The soak, run once from the command line: `node --import tsx e2e/src/soak/main.ts
// [--duration 10m] [--out file.json]` starts the platform and the demo bank, finds the peak
// journey rate, soaks at half of it, prints the verdict and exits 1 when it failed. bench:soak
// (bench/src/soak/main.ts) runs it with --out and renders the figures into bench/README.md.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { startMongoServer, startRedisServer, TEST_ENV } from '@obip/testing';
import { FULL_PLAN, runSoak, startSoakPlatform } from './soak';

const { values } = parseArgs({
  options: { duration: { type: 'string', default: '10m' }, out: { type: 'string' } },
});

/**
 * `600`, `600s` or `10m` as seconds.
 *
 * @example
 * parseDuration('3m'); // 180
 */
function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(s|m)?$/.exec(text.trim());
  if (!match) throw new Error(`--duration: ${text} is not a number of seconds (600, 600s) or minutes (10m)`);
  return Number(match[1]) * (match[2] === 'm' ? 60 : 1);
}

const log = (line: string) => process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
const soakSeconds = parseDuration(values.duration);
const plan = { ...FULL_PLAN, soakSeconds };
// Redis and the MongoDB-compatible server as the test runner's global setup provides them,
// unless the environment already points at some (CI's own services).
const servers: Array<() => Promise<void>> = [];
if (!process.env[TEST_ENV.redisUrl]) {
  const redis = await startRedisServer();
  process.env[TEST_ENV.redisUrl] = redis.url;
  servers.push(redis.dispose);
}
if (!process.env[TEST_ENV.mongoUrl]) {
  const mongo = await startMongoServer();
  process.env[TEST_ENV.mongoUrl] = mongo.url;
  process.env[TEST_ENV.mongoKind] = mongo.kind;
  servers.push(() => mongo.stop());
}
let results;
try {
  const started = await startSoakPlatform(`soak_${process.pid}`);
  try {
    log(`platform up; peak search, then ${soakSeconds} s at ${plan.fraction * 100} % of the peak`);
    results = await runSoak(started, plan, log);
  } finally {
    await started.stop();
  }
} finally {
  await Promise.all(servers.map((stop) => stop()));
}
for (const check of results.checks)
  log(`${check.passed ? 'pass' : 'FAIL'} ${check.name}: ${check.measured} (${check.limit})`);
for (const error of results.errorSamples) log(`error: ${error}`);
log(`verdict: ${results.passed ? 'PASS' : 'FAIL'}`);
if (values.out) writeFileSync(values.out, `${JSON.stringify(results, null, 2)}\n`);
process.exitCode = results.passed ? 0 : 1;
