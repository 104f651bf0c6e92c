// bench:introspection — one command: start the targets, check their answers, measure, write
// bench/results/introspection.json and bench/README.md. With --profile: run obip alone under
// --cpu-prof for one measured run and print where its time goes (no results written).
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { machineInfo } from '../harness/machine';
import { repoRoot } from '../harness/processes';
import { runHttpLoad } from '../harness/http-load';
import { summariseCpuProfile } from '../harness/cpu-profile';
import { checkTargets, renderReadme } from './report';
import { DEFAULT_PLAN, runIntrospectionBenchmark, type IntrospectionResults, type RunPlan } from './run';
import { checkTargetAnswers, startIntrospectionTargets } from './targets';

/** Writes bench/README.md formatted as `prettier --check .` expects it. */
async function writeReadme(text: string): Promise<void> {
  const path = join(repoRoot, 'bench/README.md');
  const prettier = await import('prettier');
  const config = (await prettier.resolveConfig(path)) ?? {};
  writeFileSync(path, await prettier.format(text, { ...config, filepath: path }));
}

const TOKEN_COUNT = 256;
const PACKAGES = ['oidc-provider', 'autocannon', 'ioredis', '@grpc/grpc-js', 'tsx', 'typescript'];
const log = (line: string) => process.stdout.write(`${line}\n`);

const plan: RunPlan = {
  ...DEFAULT_PLAN,
  // For trying the harness out quickly; the published results use the defaults.
  durationSeconds: Number(process.env.BENCH_DURATION_SECONDS ?? DEFAULT_PLAN.durationSeconds),
  warmupSeconds: Number(process.env.BENCH_WARMUP_SECONDS ?? DEFAULT_PLAN.warmupSeconds),
  repeats: Number(process.env.BENCH_REPEATS ?? DEFAULT_PLAN.repeats),
};

if (process.argv.includes('--profile')) await profile();
else if (process.argv.includes('--report-only')) await rerender();
else await benchmark();

/** Renders bench/README.md again from the saved results (after editing findings.md); measures nothing. */
async function rerender(): Promise<void> {
  const saved = JSON.parse(
    readFileSync(join(repoRoot, 'bench/results/introspection.json'), 'utf8'),
  ) as IntrospectionResults & {
    machine: ReturnType<typeof machineInfo>;
    measuredAt: string;
  };
  const findings = readFileSync(join(import.meta.dirname, 'findings.md'), 'utf8');
  await writeReadme(renderReadme({ results: saved, machine: saved.machine, measuredAt: saved.measuredAt, findings }));
  log('rewrote bench/README.md from bench/results/introspection.json');
}

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
  const measuredAt = new Date().toISOString().slice(0, 10);
  const resultsDir = join(repoRoot, 'bench/results');
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(
    join(resultsDir, 'introspection.json'),
    `${JSON.stringify({ scenario: 'introspection', measuredAt, machine, ...results, targets: checkTargets(results) }, null, 2)}\n`,
  );
  const findings = readFileSync(join(import.meta.dirname, 'findings.md'), 'utf8');
  await writeReadme(renderReadme({ results, machine, measuredAt, findings }));
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
  } finally {
    await started.stop();
  }
  const summary = summariseCpuProfile(dir, 25);
  for (const line of summary) log(line);
  rmSync(dir, { recursive: true, force: true });
}
