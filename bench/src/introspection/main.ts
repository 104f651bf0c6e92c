// bench:introspection — one command: start the targets, check their answers, measure, write
// bench/results/introspection.json and render bench/README.md. With --profile: run obip alone
// under --cpu-prof for one measured run and print where its time goes (no results written).
// With --report-only: render bench/README.md from the saved results, measuring nothing.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeBenchReadme } from '../readme';
import { machineInfo } from '../harness/machine';
import { planFromEnvironment } from '../harness/passes';
import { runHttpLoad } from '../harness/http-load';
import { summariseCpuProfile } from '../harness/cpu-profile';
import { today, writeResults } from '../harness/results';
import { checkTargets } from './report';
import { DEFAULT_PLAN, runIntrospectionBenchmark } from './run';
import { checkTargetAnswers, startIntrospectionTargets } from './targets';

const TOKEN_COUNT = 256;
const PACKAGES = ['oidc-provider', 'autocannon', 'ioredis', '@grpc/grpc-js', 'tsx', 'typescript'];
const log = (line: string) => process.stdout.write(`${line}\n`);
const plan = planFromEnvironment(DEFAULT_PLAN);

if (process.argv.includes('--profile')) await profile();
else if (process.argv.includes('--report-only')) {
  await writeBenchReadme();
  log('rewrote bench/README.md from bench/results/*.json');
} else await benchmark();

async function benchmark(): Promise<void> {
  const machine = machineInfo(PACKAGES);
  log(`introspection benchmark on ${machine.cores} cores (${machine.cpuModel}), Node ${machine.node}`);
  const started = await startIntrospectionTargets({ tokenCount: TOKEN_COUNT });
  let results;
  try {
    for (const target of Object.values(started.targets)) await checkTargetAnswers(target);
    log('every target answers correctly; measuring');
    results = await runIntrospectionBenchmark(started, plan, log);
  } finally {
    await started.stop();
  }
  writeResults('introspection', {
    scenario: 'introspection',
    measuredAt: today(),
    machine,
    ...results,
    targets: checkTargets(results),
  });
  await writeBenchReadme();
  for (const check of checkTargets(results))
    log(`${check.met ? 'met   ' : 'MISSED'} ${check.name}: ${check.measured} (target ${check.target})`);
  log('wrote bench/results/introspection.json and bench/README.md');
}

async function profile(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'obip-bench-prof-'));
  const started = await startIntrospectionTargets({
    tokenCount: TOKEN_COUNT,
    serviceNodeOptions: `--cpu-prof --cpu-prof-dir=${dir}`,
  });
  let window;
  try {
    const target = started.targets.obip;
    await checkTargetAnswers(target);
    const result = await runHttpLoad({
      url: target.url,
      connections: plan.connections,
      durationSeconds: plan.durationSeconds,
      headers: target.headers,
      bodies: target.bodies(),
    });
    log(`profiled run (not a result): ${Math.round(result.requestsPerSecond)} req/s`);
    window = result.window;
  } finally {
    await started.stop();
  }
  // Only the samples of the measured run: not start-up or the waits around it.
  const summary = summariseCpuProfile(dir, 25, window);
  for (const line of summary) log(line);
  rmSync(dir, { recursive: true, force: true });
}
