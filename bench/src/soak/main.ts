// bench:soak — one command for issue 12's soak: runs e2e/src/soak/main.ts (the platform behind
// the edge, the peak search, the paced soak and its verdict) in its own process, saves its
// results as bench/results/soak.json with the machine they were measured on, and renders
// bench/README.md. `--duration 10m` (default) or e.g. `--duration 3m`; `--report-only` renders
// bench/README.md from the saved results. Exits 1 when the soak's verdict failed.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { writeBenchReadme } from '../readme';
import { loadAverage1m, machineInfo, sourceState } from '../harness/machine';
import { repoRoot } from '../harness/processes';
import { today, writeResults } from '../harness/results';
import type { SoakResults } from './report';

const PACKAGES = ['oidc-provider', 'openid-client', 'undici', 'prom-client', 'ioredis', 'mongoose', 'tsx'];
const { values } = parseArgs({
  options: { duration: { type: 'string', default: '10m' }, 'report-only': { type: 'boolean', default: false } },
});
const log = (line: string) => process.stdout.write(`${line}\n`);

if (values['report-only']) {
  await writeBenchReadme();
  log('rewrote bench/README.md from bench/results/*.json');
} else {
  const machine = machineInfo(PACKAGES);
  const source = sourceState(['services', 'libs']);
  const dir = mkdtempSync(join(tmpdir(), 'obip-soak-'));
  const out = join(dir, 'soak.json');
  const before = loadAverage1m();
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'e2e/src/soak/main.ts', '--duration', values.duration, '--out', out],
    { cwd: repoRoot, stdio: 'inherit' },
  );
  const [code] = (await once(child, 'exit')) as [number | null];
  let results: SoakResults;
  try {
    results = JSON.parse(readFileSync(out, 'utf8')) as SoakResults;
  } catch {
    log(`the soak ended (exit ${code}) without results; bench/results/soak.json left as it was`);
    process.exit(code || 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  writeResults('soak', {
    scenario: 'soak',
    measuredAt: today(),
    machine,
    source,
    ...results,
    loadAverage: { before, after: loadAverage1m() },
  });
  await writeBenchReadme();
  log(`wrote bench/results/soak.json and bench/README.md; verdict ${results.passed ? 'passed' : 'FAILED'}`);
  process.exitCode = results.passed ? 0 : 1;
}
