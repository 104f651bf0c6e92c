// The one command shape behind every measured scenario (bench:introspection, token, par, dcr,
// discovery): start the targets, check that each answers the scenario's request for real,
// measure, write bench/results/<scenario>.json and render bench/README.md. With --profile: run
// obip alone under --cpu-prof and print where its time goes in the measured windows (no results
// written). With --report-only: render bench/README.md from the saved results, measuring nothing.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeBenchReadme } from '../readme';
import { summariseCpuProfile } from './cpu-profile';
import { loadAverage1m, machineInfo, sourceState } from './machine';
import type { MonotonicWindow } from './requests';
import { today, writeResults } from './results';

/** One of an issue's targets, marked met or missed from the measured numbers. */
export interface TargetCheck {
  name: string;
  target: string;
  measured: string;
  met: boolean;
}

export type Log = (line: string) => void;

/** A run made under --cpu-prof: its measured window, and how the log names it. */
export interface ProfiledWindow {
  label: string;
  window: MonotonicWindow | undefined;
}

/** What differs between the scenarios' commands. */
export interface ScenarioCommand<Started extends { stop(): unknown }, Results extends object> {
  /** Name of the results file and of the scenario in it, e.g. `token`. */
  scenario: string;
  /** How the log names the benchmark, e.g. `token endpoint`. */
  title: string;
  /** Logged once every target answered for real, e.g. `every target issues a certificate-bound token`. */
  answered: string;
  /** Packages whose versions the results record. */
  packages: readonly string[];
  /** Source paths whose commit and dirty state the results record. */
  sources?: readonly string[];
  start(options?: { serviceNodeOptions?: string }): Promise<Started>;
  /** Throws unless every target answers the scenario's request as the scenario expects. */
  checkAnswers(started: Started): Promise<void>;
  measure(started: Started, log: Log, loadBefore: number): Promise<Results>;
  checkTargets(results: Results): TargetCheck[];
  /** Loads obip alone, as at peak, and returns the measured windows to profile. */
  profile(started: Started, log: Log): Promise<ProfiledWindow[]>;
}

const log: Log = (line) => process.stdout.write(`${line}\n`);

/**
 * @example
 * await runScenarioCommand({ scenario: 'dcr', title: 'DCR registration', ... });
 */
export async function runScenarioCommand<Started extends { stop(): unknown }, Results extends object>(
  command: ScenarioCommand<Started, Results>,
  argv = process.argv,
): Promise<void> {
  if (argv.includes('--profile')) await profile(command);
  else if (argv.includes('--report-only')) {
    await writeBenchReadme();
    log('rewrote bench/README.md from bench/results/*.json');
  } else await benchmark(command);
}

async function benchmark<Started extends { stop(): unknown }, Results extends object>(
  command: ScenarioCommand<Started, Results>,
): Promise<void> {
  const machine = machineInfo(command.packages);
  const source = command.sources ? sourceState(command.sources) : undefined;
  const loadBefore = loadAverage1m();
  log(
    `${command.title} benchmark on ${machine.cores} cores (${machine.cpuModel}), Node ${machine.node}, load ${loadBefore}`,
  );
  const started = await command.start();
  let results;
  try {
    await command.checkAnswers(started);
    log(`${command.answered}; measuring`);
    results = await command.measure(started, log, loadBefore);
  } finally {
    await started.stop();
  }
  const targets = command.checkTargets(results);
  const { scenario } = command;
  writeResults(scenario, {
    scenario,
    measuredAt: today(),
    machine,
    ...(source ? { source } : {}),
    ...results,
    targets,
  });
  await writeBenchReadme();
  for (const check of targets)
    log(`${check.met ? 'met   ' : 'MISSED'} ${check.name}: ${check.measured} (target ${check.target})`);
  log(`wrote bench/results/${scenario}.json and bench/README.md`);
}

async function profile<Started extends { stop(): unknown }, Results extends object>(
  command: ScenarioCommand<Started, Results>,
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'obip-bench-prof-'));
  try {
    const started = await command.start({ serviceNodeOptions: `--cpu-prof --cpu-prof-dir=${dir}` });
    let windows;
    try {
      await command.checkAnswers(started);
      windows = await command.profile(started, log);
    } finally {
      // The profiles are written as the services exit.
      await started.stop();
    }
    // Only the measured runs' samples: not start-up, the warm-up or the waits while requests are signed.
    for (const { label, window } of windows) {
      log(`--- ${label}, measured window only`);
      for (const line of summariseCpuProfile(dir, 30, window)) log(line);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
