// bench:discovery — one command: start the targets, check their documents, measure, write
// bench/results/discovery.json and render bench/README.md. With --profile: run obip alone under
// --cpu-prof for one peak run per document and print where its time goes (no results written).
// With --report-only: render bench/README.md from the saved results, measuring nothing.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeBenchReadme } from '../readme';
import { summariseCpuProfile } from '../harness/cpu-profile';
import { loadAverage1m, machineInfo, sourceState } from '../harness/machine';
import { describeRun, measurePeak, planFromEnvironment } from '../harness/passes';
import { today, writeResults } from '../harness/results';
import { AUTH_SERVER_PACKAGES, AUTH_SERVER_SOURCES } from '../auth-server/targets';
import { checkDiscoveryTargets } from './report';
import { DEFAULT_PLAN, DOCUMENTS, runDiscoveryBenchmark } from './run';
import { checkDocumentAnswers, startDiscoveryTargets } from './targets';

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
  log(`discovery benchmark on ${machine.cores} cores (${machine.cpuModel}), Node ${machine.node}, load ${loadBefore}`);
  const started = await startDiscoveryTargets();
  let results;
  try {
    for (const document of DOCUMENTS)
      for (const target of Object.values(started.targets[document])) await checkDocumentAnswers(target);
    log('every target serves both documents; measuring');
    results = await runDiscoveryBenchmark(started, plan, log, loadBefore);
  } finally {
    await started.stop();
  }
  const targets = checkDiscoveryTargets(results);
  writeResults('discovery', { scenario: 'discovery', measuredAt: today(), machine, source, ...results, targets });
  await writeBenchReadme();
  for (const check of targets)
    log(`${check.met ? 'met   ' : 'MISSED'} ${check.name}: ${check.measured} (target ${check.target})`);
  log('wrote bench/results/discovery.json and bench/README.md');
}

async function profile(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'obip-bench-prof-'));
  const started = await startDiscoveryTargets({ serviceNodeOptions: `--cpu-prof --cpu-prof-dir=${dir}` });
  const windows = [];
  try {
    for (const document of DOCUMENTS) {
      const target = started.targets[document].obip;
      await checkDocumentAnswers(target);
      const run = await measurePeak(target, target.requests, plan);
      log(`profiled ${document} run (not a result): ${describeRun(run)}`);
      windows.push({ document, window: run.window });
    }
  } finally {
    await started.stop();
  }
  for (const { document, window } of windows) {
    log(`--- ${document}, measured window only`);
    for (const line of summariseCpuProfile(dir, 25, window)) log(line);
  }
  rmSync(dir, { recursive: true, force: true });
}
