// Where each scenario's results live (bench/results/<scenario>.json) and how the markdown they
// are rendered into is written: one file per scenario, rewritten by its command; bench/README.md
// rendered from all of them.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MachineInfo } from './machine';
import { repoRoot } from './processes';

/** What every results file starts with. */
export interface ResultsHeader {
  scenario: string;
  /** YYYY-MM-DD */
  measuredAt: string;
  machine: MachineInfo;
}

export const resultsPath = (scenario: string) => join(repoRoot, 'bench/results', `${scenario}.json`);

export function writeResults(scenario: string, results: object): void {
  mkdirSync(join(repoRoot, 'bench/results'), { recursive: true });
  writeFileSync(resultsPath(scenario), `${JSON.stringify(results, null, 2)}\n`);
}

/** The saved results of a scenario, or undefined when it has not been measured. */
export function readResults<Results>(scenario: string): (Results & ResultsHeader) | undefined {
  const path = resultsPath(scenario);
  if (!existsSync(path)) return undefined;
  return JSON.parse(readFileSync(path, 'utf8')) as Results & ResultsHeader;
}

/** Writes a markdown file formatted as `prettier --check .` expects it. */
export async function writeMarkdown(path: string, text: string): Promise<void> {
  const prettier = await import('prettier');
  const config = (await prettier.resolveConfig(path)) ?? {};
  writeFileSync(path, await prettier.format(text, { ...config, filepath: path }));
}

/** A scenario's findings.md (written by whoever profiled), or a note that there is none yet. */
export function readFindings(dir: string): string {
  const path = join(dir, 'findings.md');
  return existsSync(path) ? readFileSync(path, 'utf8').trim() : '_No profiling notes yet (findings.md)._';
}

/** Today, as results are dated. */
export const today = () => new Date().toISOString().slice(0, 10);
