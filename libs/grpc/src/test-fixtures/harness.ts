// Shared set-up for the gRPC tests: real servers on port 0, a logger that records, and the
// Tokens contract (tokens.v1) as the service under test.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { tokensV1 } from '@obip/contracts';
import {
  createGrpcServer,
  type GrpcLogger,
  type GrpcServer,
  type GrpcServerOptions,
  type ServiceHandlers,
} from '../index';

export interface LogEntry {
  level: 'info' | 'warn' | 'error';
  bindings: object;
  message: string | undefined;
}

export interface RecordingLogger extends GrpcLogger {
  readonly entries: LogEntry[];
}

/** A GrpcLogger that keeps what it is given, so tests can check what reached the logs. */
export function createRecordingLogger(entries: LogEntry[] = [], base: object = {}): RecordingLogger {
  const record = (level: LogEntry['level']) => (bindings: object, message?: string) => {
    entries.push({ level, bindings: { ...base, ...bindings }, message });
  };
  return {
    entries,
    info: record('info'),
    warn: record('warn'),
    error: record('error'),
    child: (bindings) => createRecordingLogger(entries, { ...base, ...bindings }),
  };
}

type TokensHandlers = ServiceHandlers<typeof tokensV1.TokensService>;

/** Tokens handlers that all succeed with revokedCount 0, with some replaced. */
export function tokensHandlers(overrides: Partial<TokensHandlers> = {}): TokensHandlers {
  return {
    revokeByConsent: () => ({ revokedCount: 0 }),
    revokeByClient: () => ({ revokedCount: 0 }),
    revokeGrant: () => ({ revokedCount: 0 }),
    completeAuthentication: () => ({}),
    ...overrides,
  };
}

export interface StartedServer {
  server: GrpcServer;
  target: string;
  logger: RecordingLogger;
}

/** Starts an in-process server on 127.0.0.1:0 serving Tokens with `handlers`. */
export async function startTokensServer(
  handlers: Partial<TokensHandlers> = {},
  options: Partial<GrpcServerOptions> = {},
  /** A fixed port, e.g. to start a server again where a stopped one was; a free one by default. */
  fixedPort = 0,
): Promise<StartedServer> {
  const logger = createRecordingLogger();
  const server = createGrpcServer({ serviceName: 'grpc-test', logger, ...options });
  server.addService(tokensV1.TokensService, tokensHandlers(handlers));
  const port = await server.listen('127.0.0.1', fixedPort);
  server.health.setServing('', true);
  return { server, target: `127.0.0.1:${port}`, logger };
}

export interface ChildServer {
  port: number;
  pid: number;
  stop(): Promise<void>;
}

/**
 * Starts tokens-server.ts in its own Node process (the way a second pod would run) and waits
 * for the port it prints.
 */
export async function spawnTokensServer(): Promise<ChildServer> {
  const fixture = resolve(import.meta.dirname, 'tokens-server.ts');
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', fixture, '0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (!child.stdout) throw new Error('child has no stdout');
  const lines = createInterface({ input: child.stdout });
  const line = await new Promise<string>((resolveLine, reject) => {
    lines.once('line', resolveLine);
    child.once('exit', (code) => reject(new Error(`tokens-server exited (${code}) before it listened`)));
  });
  lines.close();
  const { port, pid } = JSON.parse(line) as { port: number; pid: number };
  return {
    port,
    pid,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const done = once(child, 'exit');
      child.kill('SIGTERM');
      await done;
    },
  };
}
