// bench:flow — issue 11 scenario 4: complete authorisation-code flows (PAR → authorize → login
// and consent form posts → token) through auth-server and consent-service, at the closed-loop
// peak and at fixed fractions of it; writes bench/results/flow.json and renders bench/README.md.
// --profile: auth-server under --cpu-prof for one closed-loop run, its hottest functions printed
// (nothing written). --report-only: renders bench/README.md from the saved results.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { writeBenchReadme } from '../readme';
import { AUTH_SERVER_PACKAGES } from '../auth-server/targets';
import { summariseCpuProfile } from '../harness/cpu-profile';
import { loadAverage1m, machineInfo, sourceState } from '../harness/machine';
import { planFromEnvironment } from '../harness/passes';
import { today, writeResults } from '../harness/results';
import { runFlow, signFlowCredentials, type FlowSetup } from './flow';
import { DEFAULT_FLOW_PLAN, describeFlowRun, measureFlows, runFlowScenario, type FlowPlan } from './run';
import { SANDBOX_CUSTOMERS, startFlowTargets, type FlowTargets } from './targets';

const log = (line: string) => process.stdout.write(`${line}\n`);
const plan = planFromEnvironment(DEFAULT_FLOW_PLAN);

/**
 * Throws unless a complete flow succeeds before anything is measured. Three tries: the first
 * login of a cold consent-service (its gRPC channel, scrypt's first 128 MiB) can miss the 2 s
 * deadline on a busy machine.
 */
async function checkOneFlow(setup: FlowSetup): Promise<void> {
  const pool = new Pool(setup.origin, { connections: 2 });
  try {
    for (let attempt = 1; ; attempt += 1) {
      try {
        const [credentials] = signFlowCredentials(setup.signer, 1);
        await runFlow(pool, setup, credentials!, setup.customers[0]!);
        return;
      } catch (error) {
        if (attempt >= 3) throw error;
        log(`check flow ${attempt}/3 failed (${String(error)}); trying again`);
      }
    }
  } finally {
    await pool.close();
  }
}

const setupOf = (started: FlowTargets): FlowSetup => ({ ...started.setup, customers: SANDBOX_CUSTOMERS });

async function benchmark(plan: FlowPlan): Promise<void> {
  const machine = machineInfo([...AUTH_SERVER_PACKAGES, 'undici', 'mongoose']);
  const source = sourceState(['services/auth-server', 'services/consent-service', 'libs']);
  const loadBefore = loadAverage1m();
  log(
    `authorisation-code flow benchmark on ${machine.cores} cores (${machine.cpuModel}), Node ${machine.node}, load ${loadBefore}`,
  );
  const started = await startFlowTargets();
  let results;
  try {
    const setup = setupOf(started);
    await checkOneFlow(setup);
    log('one complete flow succeeded; measuring');
    results = await runFlowScenario(setup, started.pids, plan, log, loadBefore);
  } finally {
    await started.stop();
  }
  writeResults('flow', { scenario: 'flow', measuredAt: today(), machine, source, ...results });
  await writeBenchReadme();
  log('wrote bench/results/flow.json and bench/README.md');
}

async function profile(plan: FlowPlan): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'obip-bench-prof-'));
  const started = await startFlowTargets({ authServerNodeOptions: `--cpu-prof --cpu-prof-dir=${dir}` });
  let run;
  try {
    const setup = setupOf(started);
    await checkOneFlow(setup);
    run = await measureFlows(setup, started.pids, plan, { kind: 'closed', concurrency: plan.peakConcurrency });
    log(`profiled run (not a result): ${describeFlowRun(run)}`);
  } finally {
    await started.stop();
  }
  for (const line of summariseCpuProfile(dir, 30, run.window)) log(line);
  rmSync(dir, { recursive: true, force: true });
}

if (process.argv.includes('--report-only')) {
  await writeBenchReadme();
  log('rewrote bench/README.md from bench/results/*.json');
} else if (process.argv.includes('--profile')) await profile(plan);
else await benchmark(plan);
