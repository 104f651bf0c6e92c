// bench:token — one command: start the targets, check that each issues a real token, measure,
// write bench/results/token.json and render bench/README.md. With --profile: run obip alone
// under --cpu-prof for one peak run and print where its time goes (no results written). With
// --report-only: render bench/README.md from the saved results, measuring nothing.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeBenchReadme } from '../readme';
import { summariseCpuProfile } from '../harness/cpu-profile';
import { loadAverage1m, machineInfo, sourceState } from '../harness/machine';
import { describeRun, measurePeak, planFromEnvironment } from '../harness/passes';
import { today, writeResults } from '../harness/results';
import { AUTH_SERVER_PACKAGES, AUTH_SERVER_SOURCES } from '../auth-server/targets';
import { checkTokenTargets } from './report';
import { DEFAULT_PLAN, runTokenBenchmark } from './run';
import { checkTokenAnswers, startTokenTargets } from './targets';

const log = (line: string) => process.stdout.write(`${line}\n`);
const plan = planFromEnvironment(DEFAULT_PLAN);

if (process.argv.includes('--profile')) await profile();
else if (process.argv.includes('--report-only')) {
  await writeBenchReadme();
  log('rewrote bench/README.md from bench/results/*.json');
} else await benchmark();

async function benchmark(): Promise<void> {
  const machine = machineInfo(AUTH_SERVER_PACKAGES);
  const source = sourceState(AUTH_SERVER_SOURCES);
  const loadBefore = loadAverage1m();
  log(
    `token endpoint benchmark on ${machine.cores} cores (${machine.cpuModel}), Node ${machine.node}, load ${loadBefore}`,
  );
  const started = await startTokenTargets();
  let results;
  try {
    for (const target of Object.values(started.targets)) await checkTokenAnswers(target, started.servers);
    log('every target issues a certificate-bound token; measuring');
    results = await runTokenBenchmark(started, plan, log, loadBefore);
  } finally {
    await started.stop();
  }
  const targets = checkTokenTargets(results);
  writeResults('token', { scenario: 'token', measuredAt: today(), machine, source, ...results, targets });
  await writeBenchReadme();
  for (const check of targets)
    log(`${check.met ? 'met   ' : 'MISSED'} ${check.name}: ${check.measured} (target ${check.target})`);
  log('wrote bench/results/token.json and bench/README.md');
}

async function profile(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'obip-bench-prof-'));
  const started = await startTokenTargets({ serviceNodeOptions: `--cpu-prof --cpu-prof-dir=${dir}` });
  let run;
  try {
    const target = started.targets.obip;
    await checkTokenAnswers(target, started.servers);
    run = await measurePeak(target, target.requests, plan);
    log(`profiled run (not a result): ${describeRun(run)}`);
  } finally {
    await started.stop();
  }
  // Only the measured run's samples: not start-up, the warm-up or the waits while assertions are signed.
  for (const line of summariseCpuProfile(dir, 30, run.window)) log(line);
  rmSync(dir, { recursive: true, force: true });
}
