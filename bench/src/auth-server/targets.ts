// What every auth-server scenario starts: Redis and a MongoDB-compatible server (the harness's
// throwaway ones, or the test run's), the ClientRegistry stand-in serving the bench TPP, obip's
// auth-server as a real process (services/auth-server/src/main.ts) and the bare engine
// (engine.server.ts), each in its own process. Scenarios add their floor and their requests.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clientsV1 } from '@obip/contracts';
import {
  createTestPki,
  generateSigningKey,
  serviceMongoEnv,
  startMongoServer,
  startRedisServer,
  startServiceProcess,
  withDatabase,
  type Jwk,
  type ServiceProcess,
} from '@obip/testing';
import { serviceLaunch, serviceLaunchEnv } from '../harness/service-runtime';
import { nginxCallerCertificate, type CallerCertificate } from '../harness/edge';
import type { LoadTarget } from '../harness/passes';
import { startChildServer } from '../harness/processes';
import type { RequestSpec } from '../harness/requests';
import type { ClientAssertionSigner } from './assertions';
import {
  CLIENT_ASSERTION_ALG,
  CLIENT_CREDENTIALS_TTL_SECONDS,
  engineClientOf,
  ISSUER,
  MTLS_BASE_URL,
  TPP_CLIENT_ID,
  TPP_ORG_ID,
  tppMetadata,
} from './fixtures';
import { startAuthServerPeers, type AuthServerPeers } from './peers';
import type { EndpointTargetName } from './scenario';

/** A server under test: where it listens and which process serves it. */
export interface StartedServer {
  /** `http://127.0.0.1:<port>` */
  origin: string;
  pid: number;
}

/** The bench TPP: its certificate as the edge forwards it, and how its assertions are signed. */
export interface BenchTpp {
  clientId: string;
  certificate: CallerCertificate;
  signer: ClientAssertionSigner;
  publicJwk: Jwk;
}

export interface AuthServerTargets {
  obip: StartedServer;
  engine: StartedServer;
  tpp: BenchTpp;
  redisUrl: string;
  service: ServiceProcess;
  peers: AuthServerPeers;
  /** Runs `cleanup` when the targets stop (first added, last run). */
  onStop(cleanup: () => Promise<unknown> | unknown): void;
  stop(): Promise<void>;
}

export interface StartAuthServerTargetsOptions {
  /** A MongoDB URL naming auth-server's database (e.g. the test run's); unset: a throwaway server is started. */
  mongoUrl?: string;
  /** Node options for the auth-server process (e.g. `--cpu-prof --cpu-prof-dir=...`). */
  serviceNodeOptions?: string;
  /** Settings over the bench's own, for an experiment (e.g. `{ LOG_LEVEL: 'warn' }`); never in published runs. */
  serviceEnv?: Record<string, string>;
}

export const AUTH_SERVER_ENTRY = 'services/auth-server/src/main.ts';
/** The versions recorded with auth-server results. */
export const AUTH_SERVER_PACKAGES = [
  'oidc-provider',
  'jose',
  'autocannon',
  'ioredis',
  '@grpc/grpc-js',
  'tsx',
  'typescript',
];
/** The code auth-server results measure, for the uncommitted-changes note. */
export const AUTH_SERVER_SOURCES = ['services/auth-server', 'libs'];
/** auth-server's REDIS_KEY_PREFIX here (its token records are `obip:tok:<sha256>`). */
export const OBIP_REDIS_PREFIX = 'obip:';

/** The bench TPP as the ClientRegistry stand-in serves it: active, FAPI 2.0, signing with `publicJwk`. */
export function benchTppRegistration(publicJwk: Jwk): clientsV1.Client {
  const now = Math.floor(Date.now() / 1000);
  return {
    clientId: TPP_CLIENT_ID,
    status: clientsV1.ClientStatus.CLIENT_STATUS_ACTIVE,
    softwareId: TPP_CLIENT_ID,
    orgId: TPP_ORG_ID,
    metadataJson: JSON.stringify(tppMetadata()),
    jwksJson: JSON.stringify({ keys: [publicJwk] }),
    tlsClientAuthSubjectDn: '',
    fapiProfile: clientsV1.FapiProfile.FAPI_PROFILE_FAPI2_SECURITY,
    createdAt: now,
    updatedAt: now,
    statusReason: '',
  };
}

/** auth-server's settings in every scenario that runs it, so their figures compare. */
export function authServerEnv(options: {
  redisUrl: string;
  /** Naming auth-server's database. */
  mongoUrl: string;
  /** The ClientRegistry (and Consents) stand-in. */
  peersTarget: string;
  devKeysDir: string;
}): Record<string, string> {
  return {
    HTTP_PORT: '0',
    GRPC_PORT: '0',
    OPS_PORT: '0',
    REDIS_URL: options.redisUrl,
    REDIS_KEY_PREFIX: OBIP_REDIS_PREFIX,
    ...serviceMongoEnv(options.mongoUrl),
    ISSUER,
    MTLS_BASE_URL,
    CLIENT_REGISTRY_GRPC_TARGET: options.peersTarget,
    // Never called by these scenarios (login and consent only); connected lazily.
    CONSENTS_GRPC_TARGET: options.peersTarget,
    DEV_KEYS_DIR: options.devKeysDir,
    CLIENT_CERT_HEADER_FORMAT: 'nginx',
    TRUSTED_PROXY_CIDRS: '127.0.0.1/32',
    CLIENT_CREDENTIALS_TTL_SECONDS: String(CLIENT_CREDENTIALS_TTL_SECONDS),
    // One client sends every request: the per-client limit at its maximum (100 000 a minute),
    // still counted in Redis on every request as in production.
    TOKEN_RATE_LIMIT_PER_MINUTE: '100000',
    PAR_RATE_LIMIT_PER_MINUTE: '100000',
    LOG_LEVEL: 'info',
    SHUTDOWN_GRACE_MS: '1000',
  };
}

export async function startAuthServerTargets(options: StartAuthServerTargetsOptions = {}): Promise<AuthServerTargets> {
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  const stop = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await Promise.resolve(cleanup()).catch(() => undefined);
  };
  try {
    const dir = mkdtempSync(join(tmpdir(), 'obip-bench-as-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const redis = await startRedisServer();
    cleanups.push(() => redis.dispose());
    let mongoUrl = options.mongoUrl;
    if (!mongoUrl) {
      const mongo = await startMongoServer();
      cleanups.push(() => mongo.stop());
      mongoUrl = withDatabase(mongo.url, 'obip_auth_bench');
    }

    const pki = await createTestPki({ name: 'obip Bench' });
    const certificate = nginxCallerCertificate(
      (await pki.issueTppCertificate({ orgId: TPP_ORG_ID, softwareId: TPP_CLIENT_ID })).certPem,
    );
    const key = await generateSigningKey(CLIENT_ASSERTION_ALG);
    const tpp: BenchTpp = {
      clientId: TPP_CLIENT_ID,
      certificate,
      signer: { clientId: TPP_CLIENT_ID, audience: ISSUER, privateJwk: key.privateJwk, alg: CLIENT_ASSERTION_ALG },
      publicJwk: key.publicJwk,
    };
    const peers = await startAuthServerPeers([benchTppRegistration(key.publicJwk)]);
    cleanups.push(() => peers.stop());

    const launch = serviceLaunch(options.serviceNodeOptions);
    const service = await startServiceProcess({
      entry: AUTH_SERVER_ENTRY,
      runtime: launch.runtime,
      env: {
        ...authServerEnv({
          redisUrl: redis.url,
          mongoUrl,
          peersTarget: peers.target,
          devKeysDir: join(dir, 'dev-keys'),
        }),
        ...serviceLaunchEnv(launch),
        ...options.serviceEnv,
      },
      timeoutMs: 60_000,
    });
    cleanups.push(async () => {
      service.child.kill('SIGTERM');
      const timer = setTimeout(() => service.kill(), 10_000);
      await service.exited;
      clearTimeout(timer);
    });

    const engine = await startChildServer<{ port: number }>({
      script: 'bench/src/auth-server/engine.server.ts',
      env: { CLIENT: JSON.stringify(engineClientOf(key.publicJwk)) },
    });
    cleanups.push(() => engine.stop());

    return {
      obip: { origin: `http://127.0.0.1:${service.ports.http}`, pid: service.child.pid! },
      engine: { origin: `http://127.0.0.1:${engine.ready.port}`, pid: engine.pid },
      tpp,
      redisUrl: redis.url,
      service,
      peers,
      onStop: (cleanup) => void cleanups.push(cleanup),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Key prefix of the floors' Redis records. */
export const FLOOR_REDIS_PREFIX = 'floor:';

/** One of the three servers an endpoint scenario loads, with the requests each run sends. */
export interface EndpointTarget extends LoadTarget {
  name: EndpointTargetName;
  /** `http://127.0.0.1:<port><path>` */
  url: string;
}

export interface EndpointTargets {
  targets: Record<EndpointTargetName, EndpointTarget>;
  servers: AuthServerTargets;
  stop(): Promise<void>;
}

/** What differs between the endpoint scenarios that post one signed form per request. */
export interface EndpointScenario {
  /** The endpoint's path on every target, e.g. `/token`. */
  path: string;
  /** The scenario's floor server, e.g. `bench/src/token/floor.server.ts`. */
  floorScript: string;
  /** The floor's settings beyond Redis, the TPP and the issuer. */
  floorEnv: Record<string, string>;
  /** The export of ./assertions.ts that signs each run's request bodies in the load child. */
  formsExport: string;
  /** What every target's answer starts with. */
  expectBodyPrefix: string;
}

/**
 * obip's auth-server, the bare engine and the scenario's floor, each in its own process, and
 * the requests each is sent: the scenario's signed forms, the TPP's certificate in the edge's
 * headers.
 */
export async function startEndpointTargets(
  scenario: EndpointScenario,
  options: StartAuthServerTargetsOptions = {},
): Promise<EndpointTargets> {
  const servers = await startAuthServerTargets(options);
  try {
    const { tpp } = servers;
    const floor = await startChildServer<{ port: number }>({
      script: scenario.floorScript,
      env: {
        REDIS_URL: servers.redisUrl,
        REDIS_KEY_PREFIX: FLOOR_REDIS_PREFIX,
        CLIENT_ID: tpp.clientId,
        CLIENT_JWKS: JSON.stringify({ keys: [tpp.publicJwk] }),
        ISSUER,
        ...scenario.floorEnv,
      },
    });
    servers.onStop(() => floor.stop());

    const requests: RequestSpec = {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...tpp.certificate.headers },
      generated: {
        module: 'bench/src/auth-server/assertions.ts',
        exportName: scenario.formsExport,
        argument: tpp.signer,
        count: 0,
      },
      expectBodyPrefix: scenario.expectBodyPrefix,
    };
    const target = (name: EndpointTargetName, origin: string, pid: number): EndpointTarget => ({
      name,
      url: `${origin}${scenario.path}`,
      pid,
      requests,
    });
    return {
      targets: {
        obip: target('obip', servers.obip.origin, servers.obip.pid),
        engine: target('engine', servers.engine.origin, servers.engine.pid),
        floor: target('floor', `http://127.0.0.1:${floor.ready.port}`, floor.pid),
      },
      servers,
      stop: () => servers.stop(),
    };
  } catch (error) {
    await servers.stop();
    throw error;
  }
}
