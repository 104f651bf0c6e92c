import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';

const repoRoot = resolve(import.meta.dirname, '../../..');

export interface ServiceProcess {
  readonly child: ChildProcess;
  readonly ports: { http?: number; grpc?: number; ops: number };
  /** Every line the service wrote to stdout and stderr so far. */
  output(): string;
  /** Resolves with the exit code (or the signal name) once the process has ended. */
  readonly exited: Promise<number | string>;
  /** Sends SIGKILL if the process is still running. */
  kill(): void;
}

/**
 * Starts a service's `main.ts` as a real child process (under tsx, as in development) and waits
 * for its `<name> ready` log line, which carries the ports it bound (use port 0 in `env`).
 *
 * @example
 * const service = await startServiceProcess({ entry: 'services/dcr-service/src/main.ts',
 *   env: { HTTP_PORT: '0', GRPC_PORT: '0', OPS_PORT: '0', REDIS_URL: redis.url } });
 */
export async function startServiceProcess(options: {
  entry: string;
  env: Record<string, string>;
  timeoutMs?: number;
}): Promise<ServiceProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', resolve(repoRoot, options.entry)], {
    cwd: repoRoot,
    env: { ...process.env, BIND_HOST: '127.0.0.1', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const exited = once(child, 'exit').then(([code, signal]) => (code ?? signal) as number | string);
  createInterface({ input: child.stderr! }).on('line', (line) => lines.push(line));
  const ready = new Promise<ServiceProcess['ports']>((resolveReady, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      lines.push(line);
      try {
        const record = JSON.parse(line) as { msg?: string; ports?: ServiceProcess['ports'] };
        if (record.msg?.endsWith(' ready') && record.ports) resolveReady(record.ports);
      } catch {
        // not a JSON log line
      }
    });
    exited.then((code) =>
      reject(new Error(`${options.entry} exited with ${code} before it was ready:\n${lines.join('\n')}`)),
    );
    setTimeout(
      () =>
        reject(new Error(`${options.entry} not ready within ${options.timeoutMs ?? 30_000} ms:\n${lines.join('\n')}`)),
      options.timeoutMs ?? 30_000,
    ).unref();
  });
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  process.once('exit', kill);
  try {
    const ports = await ready;
    return { child, ports, output: () => lines.join('\n'), exited, kill };
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
