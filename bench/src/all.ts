// bench:all — every issue 11 scenario in turn, each as its own nx target's command (so each
// measures in a fresh process, one after the other, never two at once), then bench/README.md
// rendered from all results. The soak (issue 12, 10 minutes) runs only with --with-soak.
// Arguments after the flags are passed to every scenario (e.g. --report-only).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './harness/processes';

const SOAK = 'bench:soak';

/** The scenario targets of bench/project.json, in the order they are listed there. */
export function scenarioTargets(withSoak: boolean): Array<{ target: string; command: string }> {
  const project = JSON.parse(readFileSync(join(repoRoot, 'bench/project.json'), 'utf8')) as {
    targets: Record<string, { command?: string }>;
  };
  return Object.entries(project.targets)
    .filter(([target, { command }]) => target.startsWith('bench:') && command && target !== 'bench:all')
    .filter(([target]) => withSoak || target !== SOAK)
    .map(([target, { command }]) => ({ target, command: command! }));
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  const withSoak = args.includes('--with-soak');
  const passed = args.filter((arg) => arg !== '--with-soak');
  const started = Date.now();
  for (const { target, command } of scenarioTargets(withSoak)) {
    const began = Date.now();
    process.stdout.write(`\n== ${target} (${command}) ==\n`);
    const [program, ...programArgs] = command.split(' ');
    const result = spawnSync(program!, [...programArgs, ...passed], { cwd: repoRoot, stdio: 'inherit' });
    if (result.status !== 0) {
      process.stderr.write(`${target} failed (exit ${result.status ?? result.signal}); stopping\n`);
      process.exit(1);
    }
    process.stdout.write(`== ${target} done in ${Math.round((Date.now() - began) / 1000)} s ==\n`);
  }
  process.stdout.write(`\nevery scenario measured in ${Math.round((Date.now() - started) / 60_000)} min\n`);
}
