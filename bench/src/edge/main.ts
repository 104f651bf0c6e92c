// bench:edge — one command for issue 11 scenario 7 (through the nginx edge twin vs. direct) and
// the scale-out (two replicas behind the twin vs. one): both measure the same processes, in the
// same interleaved runs. Starts each service's targets, checks their answers, measures, writes
// bench/results/edge.json and renders bench/README.md. With --report-only: renders
// bench/README.md from the saved results, measuring nothing. BENCH_EDGE_SERVICES=introspection
// (or token) measures one service only, for trying it out.
import { writeBenchReadme } from '../readme';
import { machineInfo, sourceState } from '../harness/machine';
import { planFromEnvironment } from '../harness/passes';
import { today, writeResults } from '../harness/results';
import { DEFAULT_EDGE_PLAN, runEdgeBenchmark } from './run';
import type { EdgeService } from './targets';

const PACKAGES = ['autocannon', 'oidc-provider', 'jose', 'ioredis', '@grpc/grpc-js', 'tsx', 'typescript'];
const SOURCES = ['services/auth-server', 'services/token-introspection', 'libs'];
const log = (line: string) => process.stdout.write(`${line}\n`);

if (process.argv.includes('--report-only')) {
  await writeBenchReadme();
  log('rewrote bench/README.md from bench/results/*.json');
} else {
  const only = process.env.BENCH_EDGE_SERVICES?.split(',').filter(Boolean) as EdgeService[] | undefined;
  const plan = { ...planFromEnvironment(DEFAULT_EDGE_PLAN), ...(only?.length ? { services: only } : {}) };
  const machine = machineInfo(PACKAGES);
  const source = sourceState(SOURCES);
  log(`edge and scale-out benchmark on ${machine.cores} cores (${machine.cpuModel}), Node ${machine.node}`);
  const results = await runEdgeBenchmark(plan, log);
  writeResults('edge', { scenario: 'edge', measuredAt: today(), machine, source, ...results });
  await writeBenchReadme();
  log('wrote bench/results/edge.json and bench/README.md');
}
