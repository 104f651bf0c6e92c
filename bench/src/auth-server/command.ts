// The one command behind bench:token and bench:par: start the targets, check that each answers
// the scenario's request for real, measure, write bench/results/<scenario>.json and render
// bench/README.md. With --profile: run obip alone under --cpu-prof for one peak run and print
// where its time goes (no results written). With --report-only: render bench/README.md from the
// saved results, measuring nothing.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeBenchReadme } from '../readme';
import { summariseCpuProfile } from '../harness/cpu-profile';
import { loadAverage1m, machineInfo, sourceState } from '../harness/machine';
import { describeRun, measurePeak, planFromEnvironment } from '../harness/passes';
import { today, writeResults } from '../harness/results';
import type { TargetCheck } from './report';
import { DEFAULT_ENDPOINT_PLAN, runEndpointScenario, type EndpointResults } from './scenario';
import {
  AUTH_SERVER_PACKAGES,
  AUTH_SERVER_SOURCES,
  type AuthServerTargets,
  type EndpointTarget,
  type EndpointTargets,
  type StartAuthServerTargetsOptions,
} from './targets';

/** What differs between the endpoint scenarios' commands. */
export interface EndpointCommand {
  /** Name of the results file and of the scenario in it, e.g. `token`. */
  scenario: string;
  /** How the log names the benchmark, e.g. `token endpoint`. */
  title: string;
  /** Logged once every target answered for real, e.g. `every target issues a certificate-bound token`. */
  answered: string;
  start(options?: StartAuthServerTargetsOptions): Promise<EndpointTargets>;
  /** Throws unless the target answers the scenario's request as the scenario expects. */
  checkAnswers(target: EndpointTarget, servers: AuthServerTargets): Promise<void>;
  checkTargets(results: EndpointResults): TargetCheck[];
}

const log = (line: string) => process.stdout.write(`${line}\n`);

export async function runEndpointCommand(command: EndpointCommand, argv = process.argv): Promise<void> {
  const plan = planFromEnvironment(DEFAULT_ENDPOINT_PLAN);
  if (argv.includes('--profile')) await profile(command, plan);
  else if (argv.includes('--report-only')) {
    await writeBenchReadme();
    log('rewrote bench/README.md from bench/results/*.json');
  } else await benchmark(command, plan);
}

async function benchmark(command: EndpointCommand, plan: typeof DEFAULT_ENDPOINT_PLAN): Promise<void> {
  const machine = machineInfo(AUTH_SERVER_PACKAGES);
  const source = sourceState(AUTH_SERVER_SOURCES);
  const loadBefore = loadAverage1m();
  log(
    `${command.title} benchmark on ${machine.cores} cores (${machine.cpuModel}), Node ${machine.node}, load ${loadBefore}`,
  );
  const started = await command.start();
  let results;
  try {
    for (const target of Object.values(started.targets)) await command.checkAnswers(target, started.servers);
    log(`${command.answered}; measuring`);
    results = await runEndpointScenario(started.targets, started.servers.peers, plan, log, loadBefore);
  } finally {
    await started.stop();
  }
  const targets = command.checkTargets(results);
  const { scenario } = command;
  writeResults(scenario, { scenario, measuredAt: today(), machine, source, ...results, targets });
  await writeBenchReadme();
  for (const check of targets)
    log(`${check.met ? 'met   ' : 'MISSED'} ${check.name}: ${check.measured} (target ${check.target})`);
  log(`wrote bench/results/${scenario}.json and bench/README.md`);
}

async function profile(command: EndpointCommand, plan: typeof DEFAULT_ENDPOINT_PLAN): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'obip-bench-prof-'));
  const started = await command.start({ serviceNodeOptions: `--cpu-prof --cpu-prof-dir=${dir}` });
  let run;
  try {
    const target = started.targets.obip;
    await command.checkAnswers(target, started.servers);
    run = await measurePeak(target, target.requests, plan);
    log(`profiled run (not a result): ${describeRun(run)}`);
  } finally {
    await started.stop();
  }
  // Only the measured run's samples: not start-up, the warm-up or the waits while JWTs are signed.
  for (const line of summariseCpuProfile(dir, 30, run.window)) log(line);
  rmSync(dir, { recursive: true, force: true });
}
