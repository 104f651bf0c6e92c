// Child processes of the benchmark: each server and each load generator runs in its own Node
// process (under tsx, as the services do in development), so the process that measures is
// never the one being measured.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';

export const repoRoot = resolve(import.meta.dirname, '../../..');

export interface ChildServer<Ready> {
  readonly child: ChildProcess;
  readonly pid: number;
  /** What the child printed as its `{"ready": ...}` line. */
  readonly ready: Ready;
  output(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it has exited. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Starts `node --import tsx <script>` and waits for a stdout line `{"ready": {...}}`.
 *
 * @example
 * const floor = await startChildServer<{ port: number }>({ script: 'bench/src/introspection/floor.server.ts', env });
 */
export async function startChildServer<Ready>(options: {
  script: string;
  env?: Record<string, string>;
  nodeArgs?: string[];
  timeoutMs?: number;
}): Promise<ChildServer<Ready>> {
  const child = spawn(
    process.execPath,
    [...(options.nodeArgs ?? []), '--import', 'tsx', resolve(repoRoot, options.script)],
    { cwd: repoRoot, env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const lines: string[] = [];
  const exited = once(child, 'exit');
  createInterface({ input: child.stderr! }).on('line', (line) => lines.push(line));
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  process.once('exit', kill);
  try {
    const ready = await new Promise<Ready>((resolveReady, reject) => {
      createInterface({ input: child.stdout! }).on('line', (line) => {
        lines.push(line);
        if (!line.startsWith('{"ready"')) return;
        resolveReady((JSON.parse(line) as { ready: Ready }).ready);
      });
      exited.then(([code]) => reject(new Error(`${options.script} exited with ${code}:\n${lines.join('\n')}`)));
      setTimeout(
        () => reject(new Error(`${options.script} not ready in time:\n${lines.join('\n')}`)),
        options.timeoutMs ?? 30_000,
      ).unref();
    });
    return {
      child,
      pid: child.pid!,
      ready,
      output: () => lines.join('\n'),
      stop: (graceMs = 5_000) => stopChild(child, graceMs),
    };
  } catch (error) {
    kill();
    throw error;
  }
}

/** SIGTERM, then SIGKILL after `graceMs`. */
export async function stopChild(child: ChildProcess, graceMs = 5_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/**
 * Runs `node --import tsx <script> <json argument>` to completion within `timeoutMs` and
 * returns the JSON it printed as its last stdout line.
 */
export async function runJsonChild<Result>(script: string, argument: unknown, timeoutMs: number): Promise<Result> {
  const child = spawn(process.execPath, ['--import', 'tsx', resolve(repoRoot, script), JSON.stringify(argument)], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const [code, signal] = (await once(child, 'exit')) as [number | null, string | null];
  clearTimeout(timer);
  if (code !== 0) throw new Error(`${script} failed (${code ?? signal}):\n${stderr.slice(-4000)}`);
  const last = stdout.trim().split('\n').at(-1) ?? '';
  return JSON.parse(last) as Result;
}

/** VmRSS of a process, in MiB; undefined once it has gone. */
export function rssMiB(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Samples the RSS of `pid` every `intervalMs` until stopped; `stop()` returns the peak (MiB). */
export function sampleRss(pid: number, intervalMs = 250): { stop(): number | undefined } {
  let peak: number | undefined;
  const sample = () => {
    const rss = rssMiB(pid);
    if (rss !== undefined && (peak === undefined || rss > peak)) peak = rss;
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return peak;
    },
  };
}
