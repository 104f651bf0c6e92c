// Everything the introspection benchmark measures, started the same way for the real run and
// the smoke test: Redis, the in-bench gRPC peers, token-introspection as a real process
// (services/token-introspection/src/main.ts), the floor server and the bare engine, each in
// its own process, with the same tokens' worth of records pre-issued for each.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRedis, closeRedis } from '@obip/redis';
import {
  createTestPki,
  startRedisServer,
  startServiceProcess,
  type RedisServer,
  type ServiceProcess,
} from '@obip/testing';
import { serviceLaunch, serviceLaunchEnv } from '../harness/service-runtime';
import { createTokenStore } from '@obip/token-store';
import { nginxCallerCertificate } from '../harness/edge';
import { startChildServer, type ChildServer } from '../harness/processes';
import {
  benchTokenRecord,
  GATEWAY_CLIENT_ID,
  introspectionForm,
  ISSUER,
  kindOf,
  newOpaqueToken,
  TPP_CLIENT_ID,
} from './fixtures';
import { startBenchPeers, type BenchPeers } from './peers';

export type TargetName = 'obip' | 'engine' | 'floor';

export interface Target {
  name: TargetName;
  /** `http://127.0.0.1:<port>/introspect` */
  url: string;
  pid: number;
  tokens: string[];
  /** Headers of every request: the form content type and the edge's certificate headers. */
  headers: Record<string, string>;
  bodies(): string[];
}

export interface IntrospectionTargets {
  targets: Record<TargetName, Target>;
  /** token-introspection's gRPC target. */
  grpcTarget: string;
  service: ServiceProcess;
  peers: BenchPeers;
  stop(): Promise<void>;
}

export interface StartTargetsOptions {
  tokenCount: number;
  /** Node options for the token-introspection process (e.g. `--cpu-prof --cpu-prof-dir=...`). */
  serviceNodeOptions?: string;
  /**
   * token-introspection's PEER_DEADLINE_MS (1 s, production's, when unset). The smoke test raises
   * it: on loaded CI cores a cold first call to the peers has missed 1 s.
   */
  peerDeadlineMs?: number;
}

const SERVICE_ENTRY = 'services/token-introspection/src/main.ts';
const SERVICE_REDIS_PREFIX = 'obip:';

export async function startIntrospectionTargets(options: StartTargetsOptions): Promise<IntrospectionTargets> {
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  const stop = async () => {
    for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch(() => undefined);
  };
  try {
    const dir = mkdtempSync(join(tmpdir(), 'obip-bench-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const redisServer: RedisServer = await startRedisServer();
    cleanups.push(() => redisServer.dispose());

    const pki = await createTestPki({ name: 'obip Bench' });
    const [gatewayPem, tppPem] = await Promise.all([
      pki.issueTppCertificate({ orgId: 'bench-bank', softwareId: 'gateway-bench' }),
      pki.issueTppCertificate({ orgId: 'bench-tpp', softwareId: 'tpp-bench' }),
    ]);
    const gateway = nginxCallerCertificate(gatewayPem.certPem);
    const tppThumbprint = nginxCallerCertificate(tppPem.certPem).thumbprint;
    const headers = { 'content-type': 'application/x-www-form-urlencoded', ...gateway.headers };

    const peers = await startBenchPeers(gateway.subjectDn);
    cleanups.push(() => peers.stop());

    // obip's records, written with libs/token-store as auth-server writes them; the floor reads the same ones.
    const redis = createRedis({ url: redisServer.url, keyPrefix: SERVICE_REDIS_PREFIX });
    const store = createTokenStore(redis);
    const now = Math.floor(Date.now() / 1000);
    const obipTokens: string[] = [];
    for (let index = 0; index < options.tokenCount; index += 1) {
      const token = newOpaqueToken();
      if ((await store.save(token, benchTokenRecord(index, tppThumbprint, now))) !== 'saved')
        throw new Error('a bench token was not saved');
      obipTokens.push(token);
    }
    await closeRedis(redis);

    const launch = serviceLaunch(options.serviceNodeOptions);
    const service = await startServiceProcess({
      entry: SERVICE_ENTRY,
      runtime: launch.runtime,
      env: {
        HTTP_PORT: '0',
        GRPC_PORT: '0',
        OPS_PORT: '0',
        REDIS_URL: redisServer.url,
        REDIS_KEY_PREFIX: SERVICE_REDIS_PREFIX,
        ISSUER,
        INTROSPECTION_ENDPOINT: 'https://mtls.bank.bench/introspect',
        CLIENT_REGISTRY_GRPC_TARGET: peers.target,
        CONSENTS_GRPC_TARGET: peers.target,
        LOG_LEVEL: 'info',
        SHUTDOWN_GRACE_MS: '1000',
        ...serviceLaunchEnv(launch),
        ...(options.peerDeadlineMs ? { PEER_DEADLINE_MS: String(options.peerDeadlineMs) } : {}),
      },
    });
    cleanups.push(async () => {
      service.child.kill('SIGTERM');
      const timer = setTimeout(() => service.kill(), 10_000);
      await service.exited;
      clearTimeout(timer);
    });

    const floor: ChildServer<{ port: number }> = await startChildServer({
      script: 'bench/src/introspection/floor.server.ts',
      env: { REDIS_URL: redisServer.url, REDIS_KEY_PREFIX: SERVICE_REDIS_PREFIX },
    });
    cleanups.push(() => floor.stop());

    const engineTokensFile = join(dir, 'engine-tokens.json');
    const engine: ChildServer<{ port: number }> = await startChildServer({
      script: 'bench/src/introspection/engine.server.ts',
      env: {
        REDIS_URL: redisServer.url,
        TOKENS_FILE: engineTokensFile,
        TOKEN_COUNT: String(options.tokenCount),
        GATEWAY_SUBJECT_DN: gateway.subjectDn,
        TPP_THUMBPRINT: tppThumbprint,
      },
    });
    cleanups.push(() => engine.stop());
    const engineTokens = JSON.parse(readFileSync(engineTokensFile, 'utf8')) as string[];

    const target = (name: TargetName, port: number, pid: number, tokens: string[]): Target => ({
      name,
      url: `http://127.0.0.1:${port}/introspect`,
      pid,
      tokens,
      headers,
      bodies: () => tokens.map(introspectionForm),
    });
    return {
      targets: {
        obip: target('obip', service.ports.http!, service.child.pid!, obipTokens),
        engine: target('engine', engine.ready.port, engine.pid, engineTokens),
        floor: target('floor', floor.ready.port, floor.pid, obipTokens),
      },
      grpcTarget: `ipv4:///127.0.0.1:${service.ports.grpc}`,
      service,
      peers,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * Checks that a target answers correctly before it is measured: a consent-bound and a
 * client_credentials token are active with the right owner, scope and binding, an unknown
 * token is `{"active":false}`. Throws with what was wrong.
 */
export async function checkTargetAnswers(target: Target): Promise<void> {
  const post = async (token: string) => {
    const response = await fetch(target.url, {
      method: 'POST',
      headers: target.headers,
      body: introspectionForm(token),
    });
    const text = await response.text();
    if (response.status !== 200) throw new Error(`${target.name}: ${response.status} ${text}`);
    return JSON.parse(text) as Record<string, unknown>;
  };
  for (const index of [0, 1]) {
    const answer = await post(target.tokens[index]!);
    const expectConsent = kindOf(index) === 'consent_bound';
    const problems = [
      answer.active === true ? undefined : 'not active',
      answer.client_id === TPP_CLIENT_ID ? undefined : `client_id ${String(answer.client_id)}`,
      typeof answer.scope === 'string' && answer.scope.length > 0 ? undefined : 'no scope',
      (answer.cnf as Record<string, unknown> | undefined)?.['x5t#S256'] ? undefined : 'no cnf.x5t#S256',
      !expectConsent || typeof answer.consent_id === 'string' ? undefined : 'no consent_id',
      !expectConsent || typeof answer.sub === 'string' ? undefined : 'no sub',
    ].filter((problem) => problem !== undefined);
    if (problems.length > 0)
      throw new Error(
        `${target.name} answered ${JSON.stringify(answer)} for a ${kindOf(index)} token: ${problems.join(', ')}`,
      );
  }
  const unknown = await post(newOpaqueToken());
  if (JSON.stringify(unknown) !== '{"active":false}')
    throw new Error(`${target.name} answered ${JSON.stringify(unknown)} for an unknown token`);
}

export const CALLER_CLIENT_ID = GATEWAY_CLIENT_ID;
