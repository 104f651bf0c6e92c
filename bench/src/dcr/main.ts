// bench:dcr — one command: start the targets, check that each registers a real client, measure,
// write bench/results/dcr.json and render bench/README.md. With --profile: run obip alone under
// --cpu-prof for one peak run and print where its time goes (no results written). With
// --report-only: render bench/README.md from the saved results, measuring nothing.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeBenchReadme } from '../readme';
import { summariseCpuProfile } from '../harness/cpu-profile';
import { loadAverage1m, machineInfo, sourceState } from '../harness/machine';
import { describeRun, measurePeak, planFromEnvironment } from '../harness/passes';
import { today, writeResults } from '../harness/results';
import { checkDcrTargets } from './report';
import { DEFAULT_DCR_PLAN, runDcrBenchmark } from './run';
import { checkDcrAnswers, DCR_PACKAGES, DCR_SOURCES, startDcrTargets } from './targets';

const log = (line: string) => process.stdout.write(`${line}\n`);
const plan = planFromEnvironment(DEFAULT_DCR_PLAN);

if (process.argv.includes('--profile')) await profile();
else if (process.argv.includes('--report-only')) {
  await writeBenchReadme();
  log('rewrote bench/README.md from bench/results/*.json');
} else await benchmark();

async function benchmark(): Promise<void> {
  const machine = machineInfo(DCR_PACKAGES);
  const source = sourceState(DCR_SOURCES);
  const loadBefore = loadAverage1m();
  log(
    `DCR registration benchmark on ${machine.cores} cores (${machine.cpuModel}), Node ${machine.node}, load ${loadBefore}`,
  );
  const started = await startDcrTargets();
  let results;
  try {
    for (const target of Object.values(started.targets)) await checkDcrAnswers(target, started);
    log('every target registers a client; measuring');
    results = await runDcrBenchmark(started, plan, log, loadBefore);
  } finally {
    await started.stop();
  }
  const targets = checkDcrTargets(results);
  writeResults('dcr', { scenario: 'dcr', measuredAt: today(), machine, source, ...results, targets });
  await writeBenchReadme();
  for (const check of targets)
    log(`${check.met ? 'met   ' : 'MISSED'} ${check.name}: ${check.measured} (target ${check.target})`);
  log('wrote bench/results/dcr.json and bench/README.md');
}

async function profile(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'obip-bench-prof-'));
  const started = await startDcrTargets({ serviceNodeOptions: `--cpu-prof --cpu-prof-dir=${dir}` });
  let run;
  try {
    const target = started.targets.obip;
    await checkDcrAnswers(target, started);
    run = await measurePeak(target, target.requests, plan);
    log(`profiled run (not a result): ${describeRun(run)}`);
  } finally {
    await started.stop();
  }
  // Only the measured run's samples: not start-up, the warm-up or the waits while requests are signed.
  for (const line of summariseCpuProfile(dir, 30, run.window)) log(line);
  rmSync(dir, { recursive: true, force: true });
}
