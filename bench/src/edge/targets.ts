// What the edge and scale-out benchmark measures (issue 11 scenario 7 and "scale-out"), started
// the same way for the measured run and the smoke test: one service (token-introspection, or
// auth-server's token endpoint) as two real replicas on the same Redis and peers, and two nginx
// ingress twins (libs/testing startIngressTwin): one proxying to replica 1 only, one balancing
// over both. Three targets share those processes:
//   direct  replica 1's own port, the edge's certificate headers sent by the load generator
//           (what every other scenario measures);
//   edge    the twin's mTLS host over HTTPS, the caller presenting its client certificate,
//           nginx verifying it and forwarding it, to replica 1;
//   edge2   the same through the second twin, to replicas 1 and 2 (round robin).
// Replica 2 idles while direct and edge are measured.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closeRedis, createRedis } from '@obip/redis';
import {
  createTestPki,
  generateSigningKey,
  startIngressTwin,
  startMongoServer,
  startRedisServer,
  startServiceProcess,
  withDatabase,
  type IngressTwin,
  type IssuedCertificate,
  type ServiceProcess,
} from '@obip/testing';
import { serviceLaunch, serviceLaunchEnv } from '../harness/service-runtime';
import { createTokenStore } from '@obip/token-store';
import { clientCredentialsForms, type ClientAssertionSigner } from '../auth-server/assertions';
import {
  CLIENT_ASSERTION_ALG,
  ISSUER as AUTH_ISSUER,
  TPP_CLIENT_ID as AUTH_TPP_CLIENT_ID,
  TPP_ORG_ID,
} from '../auth-server/fixtures';
import { AUTH_SERVER_ENTRY, authServerEnv, benchTppRegistration, OBIP_REDIS_PREFIX } from '../auth-server/targets';
import { startAuthServerPeers } from '../auth-server/peers';
import { nginxCallerCertificate } from '../harness/edge';
import type { RequestSpec } from '../harness/requests';
import {
  benchTokenRecord,
  introspectionForm,
  ISSUER as INTROSPECTION_ISSUER,
  newOpaqueToken,
  TPP_CLIENT_ID as INTROSPECTION_TPP_CLIENT_ID,
} from '../introspection/fixtures';
import { startBenchPeers } from '../introspection/peers';

export type EdgeService = 'introspection' | 'token';
export type EdgeTargetName = 'direct' | 'edge' | 'edge2';
export const EDGE_TARGETS: readonly EdgeTargetName[] = ['direct', 'edge', 'edge2'];

/** A process whose RSS and CPU time each run records. */
export interface WatchedProcess {
  role: 'service' | 'nginx';
  pid: number;
}

export interface EdgeTarget {
  name: EdgeTargetName;
  /** `http://127.0.0.1:<port><path>` or `https://127.0.0.1:<twin port><path>` */
  url: string;
  /** The replicas this target reaches, then its nginx. */
  processes: WatchedProcess[];
  requests: RequestSpec;
  /** Through a twin: the caller's certificate chain and key (PEM), presented in the TLS handshake. */
  tls?: { cert: string; key: string };
}

export interface EdgeTargets {
  service: EdgeService;
  targets: Record<EdgeTargetName, EdgeTarget>;
  replicas: ServiceProcess[];
  /** [to replica 1, to replicas 1 and 2] */
  twins: [IngressTwin, IngressTwin];
  /** Trusts the twins' server certificate. */
  caBundlePem: string;
  /** Throws unless `target` answers the scenario's request correctly (see checkIntrospection, checkToken). */
  check(target: EdgeTarget): Promise<void>;
  /** One request's body as the scenario sends it (a fresh assertion for the token endpoint). */
  body(): string;
  stop(): Promise<void>;
}

export interface StartEdgeTargetsOptions {
  /** A MongoDB URL naming auth-server's database (e.g. the test run's); unset: a throwaway server. */
  mongoUrl?: string;
  /** Pre-issued introspection tokens. Default 256, as scenario 1. */
  tokenCount?: number;
  /** token-introspection's PEER_DEADLINE_MS; the smoke test raises it for cold loaded CI cores. */
  peerDeadlineMs?: number;
}

/** Pre-issued introspection tokens, as in scenario 1. */
export const INTROSPECTION_TOKEN_COUNT = 256;
/** Idle keep-alive connections nginx keeps to the replicas (ingress-nginx keeps up to 320). */
export const UPSTREAM_KEEPALIVE = 32;
const REPLICAS = 2;
/** Both services' REDIS_KEY_PREFIX, as in scenarios 1 and 2. */
const REDIS_PREFIX = OBIP_REDIS_PREFIX;

/** The route each service is reached by on the mTLS host, and its name in charts/obip/files/routes.json. */
export const EDGE_ROUTES: Record<EdgeService, { path: string; routeService: string }> = {
  introspection: { path: '/introspect', routeService: 'token-introspection' },
  token: { path: '/token', routeService: 'auth-server' },
};

/** What differs between the two services: their peers, records and settings, and what a correct answer is. */
interface ServiceSetup {
  caller: IssuedCertificate;
  entry: string;
  env: Record<string, string>;
  /** Request headers besides the edge's certificate headers. */
  headers: Record<string, string>;
  spec: Omit<RequestSpec, 'headers'>;
  body(): string;
  check(answer: { status: number; text: string }, target: EdgeTarget): Promise<string[]>;
}

type Cleanups = Array<() => Promise<unknown> | unknown>;

export async function startEdgeTargets(
  service: EdgeService,
  options: StartEdgeTargetsOptions = {},
): Promise<EdgeTargets> {
  const cleanups: Cleanups = [];
  const stop = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await Promise.resolve(cleanup()).catch(() => undefined);
  };
  try {
    const dir = mkdtempSync(join(tmpdir(), 'obip-bench-edge-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const redis = await startRedisServer();
    cleanups.push(() => redis.dispose());
    const pki = await createTestPki({ name: 'obip Bench' });
    const setup =
      service === 'introspection'
        ? await introspectionSetup(pki, redis.url, cleanups, options)
        : await tokenSetup(pki, redis.url, dir, cleanups, options);

    // One after the other: the first auth-server replica writes the development keys both share.
    const replicas: ServiceProcess[] = [];
    const launch = serviceLaunch();
    for (let index = 0; index < REPLICAS; index += 1) {
      const replica = await startServiceProcess({
        entry: setup.entry,
        runtime: launch.runtime,
        env: { ...setup.env, ...serviceLaunchEnv(launch) },
        timeoutMs: 60_000,
      });
      replicas.push(replica);
      cleanups.push(async () => {
        replica.child.kill('SIGTERM');
        const timer = setTimeout(() => replica.kill(), 10_000);
        await replica.exited;
        clearTimeout(timer);
      });
    }
    const urls = replicas.map((replica) => `http://127.0.0.1:${replica.ports.http}`);
    const { path, routeService } = EDGE_ROUTES[service];
    const startTwin = async (upstreams: string[]) => {
      const twin = await startIngressTwin({
        pki,
        upstreams: { [routeService]: upstreams },
        upstreamKeepalive: UPSTREAM_KEEPALIVE,
        logDir: join(dir, `nginx-${upstreams.length}`),
      });
      cleanups.push(() => twin.stop());
      return twin;
    };
    const twins: [IngressTwin, IngressTwin] = [await startTwin(urls.slice(0, 1)), await startTwin(urls)];

    const certificate = nginxCallerCertificate(setup.caller.certPem);
    const tls = { cert: setup.caller.chainPem, key: setup.caller.keyPem };
    const servicePids = replicas.map((replica): WatchedProcess => ({ role: 'service', pid: replica.child.pid! }));
    const targets: Record<EdgeTargetName, EdgeTarget> = {
      direct: {
        name: 'direct',
        url: `${urls[0]}${path}`,
        processes: servicePids.slice(0, 1),
        requests: { ...setup.spec, headers: { ...setup.headers, ...certificate.headers } },
      },
      edge: {
        name: 'edge',
        url: `${twins[0].mtlsUrl}${path}`,
        processes: [...servicePids.slice(0, 1), { role: 'nginx', pid: twins[0].pid }],
        requests: { ...setup.spec, headers: setup.headers },
        tls,
      },
      edge2: {
        name: 'edge2',
        url: `${twins[1].mtlsUrl}${path}`,
        processes: [...servicePids, { role: 'nginx', pid: twins[1].pid }],
        requests: { ...setup.spec, headers: setup.headers },
        tls,
      },
    };
    const caBundlePem = pki.caBundlePem;
    return {
      service,
      targets,
      replicas,
      twins,
      caBundlePem,
      body: setup.body,
      async check(target) {
        const answer = await postOnce(target.url, target.requests.headers, setup.body(), {
          ca: caBundlePem,
          ...target.tls,
        });
        const problems = await setup.check(answer, target);
        if (problems.length > 0)
          throw new Error(`${service} ${target.name} answered ${answer.status} ${answer.text}: ${problems.join(', ')}`);
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Scenario 1's setting: the bank gateway introspects pre-issued opaque tokens of a TPP. */
async function introspectionSetup(
  pki: Awaited<ReturnType<typeof createTestPki>>,
  redisUrl: string,
  cleanups: Cleanups,
  options: StartEdgeTargetsOptions,
): Promise<ServiceSetup> {
  const [gateway, tppPem] = await Promise.all([
    pki.issueTppCertificate({ orgId: 'bench-bank', softwareId: 'gateway-bench' }),
    pki.issueTppCertificate({ orgId: 'bench-tpp', softwareId: 'tpp-bench' }),
  ]);
  const peers = await startBenchPeers(nginxCallerCertificate(gateway.certPem).subjectDn);
  cleanups.push(() => peers.stop());
  const redis = createRedis({ url: redisUrl, keyPrefix: REDIS_PREFIX });
  const store = createTokenStore(redis);
  const tppThumbprint = nginxCallerCertificate(tppPem.certPem).thumbprint;
  const now = Math.floor(Date.now() / 1000);
  const tokens: string[] = [];
  try {
    for (let index = 0; index < (options.tokenCount ?? INTROSPECTION_TOKEN_COUNT); index += 1) {
      const token = newOpaqueToken();
      if ((await store.save(token, benchTokenRecord(index, tppThumbprint, now))) !== 'saved')
        throw new Error('a bench token was not saved');
      tokens.push(token);
    }
  } finally {
    await closeRedis(redis);
  }
  let next = 0;
  return {
    caller: gateway,
    entry: 'services/token-introspection/src/main.ts',
    env: {
      HTTP_PORT: '0',
      GRPC_PORT: '0',
      OPS_PORT: '0',
      REDIS_URL: redisUrl,
      REDIS_KEY_PREFIX: REDIS_PREFIX,
      ISSUER: INTROSPECTION_ISSUER,
      INTROSPECTION_ENDPOINT: 'https://mtls.bank.bench/introspect',
      CLIENT_REGISTRY_GRPC_TARGET: peers.target,
      CONSENTS_GRPC_TARGET: peers.target,
      LOG_LEVEL: 'info',
      SHUTDOWN_GRACE_MS: '1000',
      ...(options.peerDeadlineMs ? { PEER_DEADLINE_MS: String(options.peerDeadlineMs) } : {}),
    },
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    spec: { bodies: tokens.map(introspectionForm), expectBodyPrefix: '{"active":true' },
    body: () => introspectionForm(tokens[next++ % tokens.length]!),
    async check(answer) {
      if (answer.status !== 200) return [`status ${answer.status}`];
      const parsed = JSON.parse(answer.text) as Record<string, unknown>;
      return [
        parsed.active === true ? undefined : 'not active',
        parsed.client_id === INTROSPECTION_TPP_CLIENT_ID ? undefined : `client_id ${String(parsed.client_id)}`,
      ].filter((problem) => problem !== undefined);
    },
  };
}

/** Scenario 2's setting: the TPP asks for client_credentials tokens with private_key_jwt. */
async function tokenSetup(
  pki: Awaited<ReturnType<typeof createTestPki>>,
  redisUrl: string,
  dir: string,
  cleanups: Cleanups,
  options: StartEdgeTargetsOptions,
): Promise<ServiceSetup> {
  let mongoUrl = options.mongoUrl;
  if (!mongoUrl) {
    const mongo = await startMongoServer();
    cleanups.push(() => mongo.stop());
    mongoUrl = withDatabase(mongo.url, 'obip_auth_bench');
  }
  const caller = await pki.issueTppCertificate({ orgId: TPP_ORG_ID, softwareId: AUTH_TPP_CLIENT_ID });
  const thumbprint = nginxCallerCertificate(caller.certPem).thumbprint;
  const key = await generateSigningKey(CLIENT_ASSERTION_ALG);
  const signer: ClientAssertionSigner = {
    clientId: AUTH_TPP_CLIENT_ID,
    audience: AUTH_ISSUER,
    privateJwk: key.privateJwk,
    alg: CLIENT_ASSERTION_ALG,
  };
  // The same registered client as the token scenario's.
  const peers = await startAuthServerPeers([benchTppRegistration(key.publicJwk)]);
  cleanups.push(() => peers.stop());
  return {
    caller,
    entry: AUTH_SERVER_ENTRY,
    // The token scenario's settings, so direct figures compare.
    env: authServerEnv({ redisUrl, mongoUrl, peersTarget: peers.target, devKeysDir: join(dir, 'dev-keys') }),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    spec: {
      generated: {
        module: 'bench/src/auth-server/assertions.ts',
        exportName: 'clientCredentialsForms',
        argument: signer,
        count: 0,
      },
      expectBodyPrefix: '{"access_token":"',
    },
    body: () => clientCredentialsForms(signer, 1)[0]!,
    async check(answer) {
      if (answer.status !== 200) return [`status ${answer.status}`];
      const token = String((JSON.parse(answer.text) as Record<string, unknown>).access_token);
      // Bound to the certificate the caller presented: the edge forwarded it (or the load generator did).
      const redis = createRedis({ url: redisUrl, keyPrefix: REDIS_PREFIX });
      try {
        const record = await createTokenStore(redis).find(token);
        return record?.cnf?.['x5t#S256'] === thumbprint ? [] : [`bound to ${String(record?.cnf?.['x5t#S256'])}`];
      } finally {
        await closeRedis(redis);
      }
    },
  };
}

/**
 * One POST over HTTP or HTTPS (a client certificate when `tls` has one), on a connection of its
 * own. Resolves with the status and body; an HTTPS request nginx refuses still resolves (400).
 */
export function postOnce(
  url: string,
  headers: Record<string, string>,
  body: string,
  tls: { ca: string; cert?: string; key?: string },
): Promise<{ status: number; text: string }> {
  const secure = url.startsWith('https:');
  return new Promise((resolve, reject) => {
    const onResponse = (response: IncomingMessage) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, text }));
    };
    const options = {
      method: 'POST',
      headers: { ...headers, 'content-length': Buffer.byteLength(body) },
      agent: false,
    };
    const request = secure
      ? httpsRequest(url, { ...options, ...tls }, onResponse)
      : httpRequest(url, options, onResponse);
    request.on('error', reject);
    request.end(body);
  });
}

/** POST requests a replica has answered so far, from its own /metrics (ops port). */
export async function postsServed(replica: ServiceProcess): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${replica.ports.ops}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n'))
    if (line.startsWith('http_request_duration_seconds_count{') && line.includes('method="POST"'))
      total += Number(line.slice(line.lastIndexOf(' ') + 1));
  return total;
}

/**
 * What a twin's logs say about its upstreams, for a failure message: requests per upstream
 * address (a retried request lists every address it tried) and the error log's warnings, where
 * nginx says why it passed a replica over.
 */
export function twinUpstreamReport(twin: IngressTwin): string {
  const perUpstream = new Map<string, number>();
  const warnings: string[] = [];
  for (const line of twin.logs().split('\n')) {
    const upstream = / upstream=(.*)$/.exec(line)?.[1];
    if (upstream !== undefined) perUpstream.set(upstream, (perUpstream.get(upstream) ?? 0) + 1);
    else if (/\[(warn|error|crit|alert|emerg)\]/.test(line)) warnings.push(line);
  }
  const counts = [...perUpstream].map(([upstream, count]) => `${upstream}: ${count}`).join(', ');
  return [`requests per upstream: ${counts || 'none logged'}`, ...warnings.slice(-10)].join('\n');
}
