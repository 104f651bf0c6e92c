import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { promisify } from 'node:util';
import { createInterface } from 'node:readline';

const repoRoot = resolve(import.meta.dirname, '../../..');

export interface ServiceProcess {
  readonly child: ChildProcess;
  readonly ports: { http?: number; grpc?: number; ops: number };
  /**
   * The lines the service wrote to stdout and stderr so far: its first 1,000 and its last
   * 100,000, with a count of those left out between them.
   */
  output(): string;
  /** Resolves with the exit code (or the signal name) once the process has ended. */
  readonly exited: Promise<number | string>;
  /** Sends SIGKILL if the process is still running. */
  kill(): void;
}

/**
 * How a service runs: `source` is its `main.ts` under tsx, as in development; `bundle` is the
 * esbuild bundle its container image runs (scripts/build-project.mjs), with `NODE_ENV=production`
 * as the image sets it. tsx compiles on a loader thread with its own V8 heap, so only `bundle`
 * shows the memory and start-up of production.
 */
export type ServiceRuntime = 'source' | 'bundle';

/**
 * Where this process's bundles go: beside dist/, which build targets empty and rewrite, and one
 * folder per process, since each build first empties its folder and test files run in parallel.
 */
const BUNDLE_DIR = `tmp/service-bundles/${process.pid}`;
const bundles = new Map<string, Promise<string>>();

/**
 * Bundles the service whose entry is `services/<name>/src/main.ts`, once per process, and returns
 * the bundle's path.
 */
function serviceBundle(entry: string): Promise<string> {
  const projectRoot = dirname(dirname(entry));
  let bundle = bundles.get(projectRoot);
  if (!bundle) {
    bundle = promisify(execFile)(
      process.execPath,
      [resolve(repoRoot, 'scripts/build-project.mjs'), projectRoot, '--outdir', BUNDLE_DIR],
      { cwd: repoRoot },
    ).then(() => resolve(repoRoot, BUNDLE_DIR, projectRoot, 'main.js'));
    if (bundles.size === 0)
      process.once('exit', () => rmSync(resolve(repoRoot, BUNDLE_DIR), { recursive: true, force: true }));
    bundles.set(projectRoot, bundle);
  }
  return bundle;
}

/**
 * A service's output as a test or a failure report needs it: the start-up lines and the latest
 * ones. A benchmark's service logs a line per request, hundreds of thousands in a run, and the
 * harness that would keep them all shares the cores the service is measured on.
 */
export function createLineLog(headLines = 1_000, tailLines = 100_000) {
  const lines: string[] = [];
  let leftOut = 0;
  return {
    add(line: string): void {
      lines.push(line);
      // Trimmed in chunks of `tailLines`, so each line is moved about once.
      if (lines.length >= headLines + 2 * tailLines) {
        const excess = lines.length - headLines - tailLines;
        lines.splice(headLines, excess);
        leftOut += excess;
      }
    },
    text(): string {
      if (leftOut === 0) return lines.join('\n');
      return [...lines.slice(0, headLines), `… ${leftOut} lines left out …`, ...lines.slice(headLines)].join('\n');
    },
  };
}

/**
 * Starts a service as a real child process (its `main.ts` under tsx unless `runtime` is `bundle`)
 * and waits for its `<name> ready` log line, which carries the ports it bound (use port 0 in `env`).
 *
 * @example
 * const service = await startServiceProcess({ entry: 'services/dcr-service/src/main.ts',
 *   env: { HTTP_PORT: '0', GRPC_PORT: '0', OPS_PORT: '0', REDIS_URL: redis.url } });
 */
export async function startServiceProcess(options: {
  entry: string;
  env: Record<string, string>;
  timeoutMs?: number;
  runtime?: ServiceRuntime;
}): Promise<ServiceProcess> {
  const bundled = options.runtime === 'bundle';
  const args = bundled
    ? ['--enable-source-maps', await serviceBundle(options.entry)]
    : ['--import', 'tsx', resolve(repoRoot, options.entry)];
  const child = spawn(process.execPath, args, {
    cwd: repoRoot,
    env: { ...process.env, BIND_HOST: '127.0.0.1', ...(bundled ? { NODE_ENV: 'production' } : {}), ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = createLineLog();
  const exited = once(child, 'exit').then(([code, signal]) => (code ?? signal) as number | string);
  createInterface({ input: child.stderr! }).on('line', (line) => log.add(line));
  let isReady = false;
  const ready = new Promise<ServiceProcess['ports']>((resolveReady, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      log.add(line);
      // Only the lines before the ready line are parsed: a benchmark's service logs every request.
      if (isReady) return;
      try {
        const record = JSON.parse(line) as { msg?: string; ports?: ServiceProcess['ports'] };
        if (record.msg?.endsWith(' ready') && record.ports) {
          isReady = true;
          resolveReady(record.ports);
        }
      } catch {
        // not a JSON log line
      }
    });
    exited.then((code) =>
      reject(new Error(`${options.entry} exited with ${code} before it was ready:\n${log.text()}`)),
    );
    setTimeout(
      () => reject(new Error(`${options.entry} not ready within ${options.timeoutMs ?? 30_000} ms:\n${log.text()}`)),
      options.timeoutMs ?? 30_000,
    ).unref();
  });
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  process.once('exit', kill);
  try {
    const ports = await ready;
    return { child, ports, output: () => log.text(), exited, kill };
  } catch (error) {
    kill();
    throw error;
  }
}

/**
 * Runs a service's `main.ts` to completion and returns its exit code and output, for start-up
 * failures such as invalid settings.
 */
export async function runServiceToExit(options: { entry: string; env: Record<string, string>; timeoutMs?: number }) {
  const child = spawn(process.execPath, ['--import', 'tsx', resolve(repoRoot, options.entry)], {
    cwd: repoRoot,
    env: { ...process.env, BIND_HOST: '127.0.0.1', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk) => (stdout += chunk));
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr };
}
