// Everything the authorisation-code flow benchmark (issue 11 scenario 4) runs: what every
// auth-server scenario starts (../auth-server/targets.ts: Redis, the MongoDB-compatible server,
// the ClientRegistry stand-in serving the bench TPP, auth-server as a real process), plus what
// its login and consent pages need: consent-service as a real process with the bundled sandbox
// customers, the two wired to each other over gRPC as in the cluster. Requests go straight to
// auth-server's port with the edge's headers, as in the other auth-server scenarios.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  freePort,
  serviceMongoEnv,
  startMongoServer,
  startServiceProcess,
  withDatabase,
  type ServiceProcess,
} from '@obip/testing';
import { ISSUER, REDIRECT_URI } from '../auth-server/fixtures';
import { serviceLaunch, serviceLaunchEnv } from '../harness/service-runtime';
import { startAuthServerTargets, type AuthServerTargets } from '../auth-server/targets';
import type { FlowCustomer, FlowSetup } from './flow';

/**
 * The sandbox customers (services/consent-service/src/customers/sandbox-customers.json): each
 * login is a real scrypt check (N = 2^17) in consent-service.
 */
export const SANDBOX_CUSTOMERS: FlowCustomer[] = [
  { username: 'amelia.hart', password: 'Sandbox-Amelia-1' },
  { username: 'rahul.mehta', password: 'Sandbox-Rahul-2' },
  { username: 'grace.okafor', password: 'Sandbox-Grace-3' },
];

/** The processes whose RSS each run samples, by the name the results give them. */
export type FlowProcessName = 'auth-server' | 'consent-service';

export interface FlowTargets {
  servers: AuthServerTargets;
  consentService: ServiceProcess;
  /** What the load child needs to run flows against auth-server (customers chosen per run). */
  setup: Omit<FlowSetup, 'customers'>;
  pids: Record<FlowProcessName, number>;
  stop(): Promise<void>;
}

export interface StartFlowTargetsOptions {
  /** A MongoDB server URL (its database path is replaced); unset: a throwaway server is started. */
  mongoUrl?: string;
  /** Database names, e.g. per test file; default `obip_auth_bench` and `obip_consent_bench`. */
  databases?: { auth: string; consent: string };
  /** auth-server settings over the bench's own (e.g. a longer consent-service deadline in tests). */
  authServerEnv?: Record<string, string>;
  /** Node options of the auth-server process (e.g. `--cpu-prof --cpu-prof-dir=...`). */
  authServerNodeOptions?: string;
}

const CONSENT_SERVICE_ENTRY = 'services/consent-service/src/main.ts';

export async function startFlowTargets(options: StartFlowTargetsOptions = {}): Promise<FlowTargets> {
  const databases = options.databases ?? { auth: 'obip_auth_bench', consent: 'obip_consent_bench' };
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  let mongoUrl = options.mongoUrl;
  if (!mongoUrl) {
    const mongo = await startMongoServer();
    cleanups.push(() => mongo.stop());
    mongoUrl = mongo.url;
  }
  const stopOwn = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await Promise.resolve(cleanup()).catch(() => undefined);
  };
  // auth-server connects to consent-service lazily, so it starts first and is told where
  // consent-service will listen; consent-service is then told where auth-server's Tokens is.
  const consentGrpcPort = await freePort();
  let servers: AuthServerTargets;
  try {
    servers = await startAuthServerTargets({
      mongoUrl: withDatabase(mongoUrl, databases.auth),
      ...(options.authServerNodeOptions ? { serviceNodeOptions: options.authServerNodeOptions } : {}),
      serviceEnv: { CONSENTS_GRPC_TARGET: `ipv4:///127.0.0.1:${consentGrpcPort}`, ...options.authServerEnv },
    });
  } catch (error) {
    await stopOwn();
    throw error;
  }
  servers.onStop(stopOwn);
  try {
    const dir = mkdtempSync(join(tmpdir(), 'obip-bench-flow-'));
    servers.onStop(() => rmSync(dir, { recursive: true, force: true }));
    // Run as auth-server is (../harness/service-runtime.ts: the bundle and the chart's memory settings).
    const launch = serviceLaunch();
    const consentService = await startServiceProcess({
      entry: CONSENT_SERVICE_ENTRY,
      runtime: launch.runtime,
      env: {
        ...serviceLaunchEnv(launch),
        HTTP_PORT: '0',
        GRPC_PORT: String(consentGrpcPort),
        OPS_PORT: '0',
        REDIS_URL: servers.redisUrl,
        REDIS_KEY_PREFIX: 'consent:',
        ...serviceMongoEnv(withDatabase(mongoUrl, databases.consent)),
        // Revocations only (none happen here); connected lazily.
        TOKENS_GRPC_TARGET: `ipv4:///127.0.0.1:${servers.service.ports.grpc}`,
        CLIENT_REGISTRY_GRPC_TARGET: servers.peers.target,
        DEV_KEYS_DIR: join(dir, 'dev-keys'),
        CLIENT_CERT_HEADER_FORMAT: 'nginx',
        TRUSTED_PROXY_CIDRS: '127.0.0.1/32',
        LOG_LEVEL: 'info',
        SHUTDOWN_GRACE_MS: '1000',
      },
      timeoutMs: 60_000,
    });
    servers.onStop(async () => {
      consentService.child.kill('SIGTERM');
      const timer = setTimeout(() => consentService.kill(), 10_000);
      await consentService.exited;
      clearTimeout(timer);
    });
    const { tpp } = servers;
    return {
      servers,
      consentService,
      setup: {
        origin: servers.obip.origin,
        issuer: ISSUER,
        redirectUri: REDIRECT_URI,
        edgeHeaders: tpp.certificate.headers,
        signer: tpp.signer,
      },
      pids: { 'auth-server': servers.obip.pid, 'consent-service': consentService.child.pid! },
      stop: () => servers.stop(),
    };
  } catch (error) {
    await servers.stop();
    throw error;
  }
}
