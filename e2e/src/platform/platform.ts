// The platform as the e2e suite sees it: the real services as processes behind the nginx edge
// twin, a mock regulatory directory, and what a TPP or a customer's browser needs to talk to it.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as oidc from 'openid-client';
import { Agent, fetch as undiciFetch } from 'undici';
import {
  createFormBrowser,
  createTestDirectory,
  createTestPki,
  dropTestDatabase,
  freePort,
  startIngressTwin,
  serviceMongoEnv,
  startOnFreshPorts,
  startServiceProcess,
  tailLines,
  testMongoUrl,
  testRedisPrefix,
  testRedisUrl,
  type FormBrowser,
  type IngressTwin,
  type LogSource,
  type LogSources,
  type PageResponse,
  type ServiceProcess,
  type TestDirectory,
  type TestPki,
  type TestSoftware,
  withDatabase,
} from '@obip/testing';
import { createRelyingParty, type RelyingParty } from '../sandbox/relying-party';

/** The bank's identifier in registration requests (`aud`). */
export const BANK = '0015800001HQQrZAAX';
export const SERVICES = ['dcr-service', 'auth-server', 'consent-service', 'token-introspection'] as const;
export type ServiceName = (typeof SERVICES)[number];
/**
 * How long a service may take to report ready. Alone it takes 2–4 s, but CI runs three e2e files
 * at once on two cores, each starting four services under tsx, and the harness's 30 s default
 * has been missed there.
 */
const SERVICE_START_TIMEOUT_MS = 90_000;

export interface Platform {
  pki: TestPki;
  directory: TestDirectory;
  twin: IngressTwin;
  issuer: string;
  /** Log sources for attachServerLogsOnFailure. */
  logs: LogSource[];
  service(name: ServiceName): ServiceProcess;
  /** gRPC address (host:port) of a service. */
  grpcAddress(name: ServiceName): string;
  /** A service's own HTTP base URL (behind the edge; for calls the edge would forward). */
  httpUrl(name: ServiceName): string;
  /**
   * Stops a service (SIGKILL: a crash; SIGTERM: a drain) and waits for the process to end; the
   * edge keeps pointing at its ports, so callers see what they would during a restart.
   */
  stopService(name: ServiceName, signal: 'SIGKILL' | 'SIGTERM'): Promise<void>;
  /** Starts a stopped service again with the same settings on the same ports. */
  startService(name: ServiceName): Promise<ServiceProcess>;
  /**
   * Another replica of a service: the same settings (same Redis, database and peers) on new
   * HTTP and gRPC ports, not behind the edge; stopped with the platform.
   */
  startReplica(name: ServiceName): Promise<ServiceProcess>;
  /** An undici agent presenting the software's transport certificate (mTLS host). */
  tppAgent(software: TestSoftware): Agent;
  /**
   * POST /register through the edge; the 201 body. The request carries the metadata of the OBIE
   * conformance tool unless `claims` override it (e.g. `response_types: ['code']` for FAPI 2.0).
   */
  register(
    software: TestSoftware,
    claims?: Record<string, unknown>,
  ): Promise<{ client_id: string; registration_access_token: string }>;
  /** openid-client configuration for a registered software: private_key_jwt, mTLS aliases. */
  relyingParty(software: TestSoftware, clientId: string): Promise<oidc.Configuration>;
  /** A cookie-keeping client for the public host, as a customer's browser. */
  browser(): FormBrowser;
  stop(): Promise<void>;
}

export interface PlatformOptions {
  name: string;
  /** Extra settings per service, applied last. */
  env?: Partial<Record<ServiceName, Record<string, string>>>;
  /** Settings that need the platform first, e.g. a resource server's client id. */
  lateEnv?: (platform: Omit<Platform, 'stop'>) => Promise<Partial<Record<ServiceName, Record<string, string>>>>;
  /** Services started only after `lateEnv` (default none). */
  startLate?: ServiceName[];
  /** Run the edge so `twin.reloadCommand` works (config-api's local sink rewrites its CA bundle). */
  reloadableEdge?: boolean;
  /** A Redis of the test's own (e.g. one it stops), instead of the shared one. */
  redisUrl?: string;
  /** A MongoDB-compatible server of the test's own (e.g. one it stops), instead of the shared one. */
  mongoUrl?: string;
}

/**
 * Starts dcr-service, auth-server, consent-service and token-introspection as processes on
 * fixed free ports, wired to each other over gRPC and sharing Redis (one token keyspace) and the
 * MongoDB-compatible server (one database each), behind the edge twin.
 */
export async function startPlatform(options: PlatformOptions): Promise<Platform> {
  // Ports are chosen before the services bind them (peers need each other's addresses), so a
  // test file running alongside can take one in between: start again on fresh ports.
  return startOnFreshPorts(() => startPlatformOnce(options));
}

async function startPlatformOnce(options: PlatformOptions): Promise<Platform> {
  const pki = await createTestPki();
  const directory = await createTestDirectory({ pki });
  const state = mkdtempSync(join(tmpdir(), `obip-e2e-${options.name}-`));
  const caFile = join(state, 'ca.pem');
  writeFileSync(caFile, pki.caBundlePem);
  const ports = Object.fromEntries(
    await Promise.all(
      SERVICES.map(async (name) => [name, { http: await freePort(), grpc: await freePort() }] as const),
    ),
  ) as Record<ServiceName, { http: number; grpc: number }>;
  const [publicPort, mtlsPort] = [await freePort(), await freePort()];
  const issuer = `https://127.0.0.1:${publicPort}`;
  const mtlsBase = `https://127.0.0.1:${mtlsPort}`;
  const grpc = (name: ServiceName) => `127.0.0.1:${ports[name].grpc}`;
  const databases: string[] = [];
  const database = (name: string) => {
    const shared = testMongoUrl(`${options.name}_${name}`);
    const url = options.mongoUrl ? withDatabase(options.mongoUrl, new URL(shared).pathname.slice(1)) : shared;
    databases.push(url);
    return url;
  };

  const baseEnv: Record<ServiceName, Record<string, string>> = {
    'dcr-service': {
      ...serviceMongoEnv(database('dcr')),
      DCR_TRUSTED_DIRECTORIES: JSON.stringify([directory.trustEntry]),
      DCR_ACCEPTED_AUDIENCES: BANK,
      DCR_ALLOW_PRIVATE_JWKS_URIS: 'true',
      DCR_TRUSTED_CA_FILE: caFile,
      DCR_REVOCATION_POLL_MS: '100',
      DCR_REGISTRATION_BASE_URL: `${mtlsBase}/register`,
      TOKENS_GRPC_TARGET: grpc('auth-server'),
      // The customer portal's redirect URI is on the twin's public host, a loopback address.
      DCR_ALLOW_LOOPBACK_REDIRECT_URIS: 'true',
    },
    'auth-server': {
      ...serviceMongoEnv(database('auth')),
      ISSUER: issuer,
      MTLS_BASE_URL: mtlsBase,
      CLIENT_REGISTRY_GRPC_TARGET: grpc('dcr-service'),
      CONSENTS_GRPC_TARGET: grpc('consent-service'),
      // A login hashes the password with scrypt (N=2^17, ~128 MiB): with every e2e file's
      // platform on two CI cores it has missed the 2 s production deadline. The suite tests
      // flows, not latency (bench/ does).
      CONSENTS_GRPC_DEADLINE_MS: '10000',
      CLIENT_CACHE_TTL_MS: '0',
      DEV_KEYS_DIR: join(state, 'keys'),
      // CIBA pings go to TPP endpoints on loopback with certificates of the test CA.
      CIBA_PING_ALLOW_PRIVATE: 'true',
      CIBA_PING_CA_FILE: caFile,
    },
    'consent-service': {
      ...serviceMongoEnv(database('consent')),
      TOKENS_GRPC_TARGET: grpc('auth-server'),
      CONSENT_REVOCATION_POLL_MS: '100',
      // The customer portal: on the public host, signing in at auth-server (called in-cluster).
      PORTAL_PUBLIC_URL: issuer,
      AUTH_SERVER_URL: `http://127.0.0.1:${ports['auth-server'].http}`,
      CLIENT_REGISTRY_GRPC_TARGET: grpc('dcr-service'),
      DEV_KEYS_DIR: join(state, 'keys'),
    },
    'token-introspection': {
      ISSUER: issuer,
      INTROSPECTION_ENDPOINT: `${mtlsBase}/introspect`,
      CLIENT_REGISTRY_GRPC_TARGET: grpc('dcr-service'),
      CONSENTS_GRPC_TARGET: grpc('consent-service'),
      ALLOW_PRIVATE_JWKS_URIS: 'true',
    },
  };
  const shared = {
    REDIS_URL: options.redisUrl ?? testRedisUrl(),
    REDIS_KEY_PREFIX: testRedisPrefix(options.name),
    OPS_PORT: '0',
  };
  const processes = new Map<ServiceName, ServiceProcess>();
  const replicas: ServiceProcess[] = [];
  const lateEnvs: Partial<Record<ServiceName, Record<string, string>>> = {};
  const envOf = (name: ServiceName) => ({
    ...shared,
    HTTP_PORT: String(ports[name].http),
    GRPC_PORT: String(ports[name].grpc),
    ...baseEnv[name],
    ...options.env?.[name],
    ...lateEnvs[name],
  });
  const start = (name: ServiceName, late: Record<string, string> = {}) => {
    lateEnvs[name] = late;
    return startServiceProcess({
      entry: `services/${name}/src/main.ts`,
      env: envOf(name),
      timeoutMs: SERVICE_START_TIMEOUT_MS,
    }).then((process) => {
      processes.set(name, process);
      return process;
    });
  };

  const startAll = async (names: ServiceName[], env: Partial<Record<ServiceName, Record<string, string>>> = {}) => {
    const results = await Promise.allSettled(names.map((name) => start(name, env[name])));
    const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed) throw failed.reason;
  };
  const edge: { twin?: IngressTwin } = {};
  // A start that fails at any step must not leave the rest running: their open pipes would keep
  // the test file's process alive. The error carries every log so far, since the test's own
  // failure report has no platform to read them from.
  const abandon = async (error: unknown): Promise<never> => {
    const logs = [
      ...[...processes].map(([name, process]) => `== ${name}\n${tailLines(process.output(), 30)}`),
      ...(edge.twin ? [`== edge\n${tailLines(edge.twin.logs(), 30)}`] : []),
    ];
    await Promise.allSettled(
      [...processes.values()].map((process) => {
        process.kill();
        return process.exited;
      }),
    );
    await Promise.allSettled([edge.twin?.stop(), directory.stop()]);
    rmSync(state, { recursive: true, force: true });
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`the platform did not start: ${message}\n${logs.join('\n')}`, { cause: error });
  };
  const late = new Set(options.startLate ?? []);
  const twin = await (async () => {
    await startAll(SERVICES.filter((name) => !late.has(name)));
    edge.twin = await startIngressTwin({
      pki,
      ports: { public: publicPort, mtls: mtlsPort },
      reloadable: options.reloadableEdge ?? false,
      upstreams: Object.fromEntries(SERVICES.map((name) => [name, `http://127.0.0.1:${ports[name].http}`])),
    });
    return edge.twin;
  })().catch(abandon);
  const publicAgent = new Agent({ connect: { ca: pki.caBundlePem } });
  const tppAgents: Agent[] = [];
  const relyingParties: RelyingParty[] = [];

  const platform: Omit<Platform, 'stop'> = {
    pki,
    directory,
    twin,
    issuer,
    logs: [
      ...SERVICES.map((name) => ({ name, logs: () => processes.get(name)?.output() ?? '' })),
      { name: 'edge', logs: () => twin.logs() },
    ],
    service(name) {
      const process = processes.get(name);
      assert.ok(process, `${name} is not running`);
      return process;
    },
    grpcAddress: grpc,
    httpUrl: (name) => `http://127.0.0.1:${ports[name].http}`,
    async stopService(name, signal) {
      const process = platform.service(name);
      process.child.kill(signal);
      await process.exited;
    },
    startService: (name) => start(name, lateEnvs[name]),
    async startReplica(name) {
      const replica = await startServiceProcess({
        entry: `services/${name}/src/main.ts`,
        timeoutMs: SERVICE_START_TIMEOUT_MS,
        env: { ...envOf(name), HTTP_PORT: String(await freePort()), GRPC_PORT: String(await freePort()) },
      });
      replicas.push(replica);
      return replica;
    },
    tppAgent(software) {
      const agent = new Agent({
        connect: { ca: pki.caBundlePem, cert: software.transport!.chainPem, key: software.transport!.keyPem },
      });
      tppAgents.push(agent);
      return agent;
    },
    async register(software, claims) {
      const request = directory.mintRegistrationRequest(software, {
        ssa: directory.issueSsa(software),
        aud: BANK,
        ...(claims ? { claims } : {}),
      });
      const response = await undiciFetch(`${twin.mtlsUrl}/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/jose', accept: 'application/json' },
        body: request,
        dispatcher: platform.tppAgent(software),
      });
      assert.equal(response.status, 201, await response.clone().text());
      return (await response.json()) as { client_id: string; registration_access_token: string };
    },
    async relyingParty(software, clientId) {
      const rp = await createRelyingParty({
        issuer,
        clientId,
        signing: software.signingKey,
        transport: { certPem: software.transport!.chainPem, keyPem: software.transport!.keyPem },
        caPem: pki.caBundlePem,
      });
      relyingParties.push(rp);
      return rp.config;
    },
    browser: () => createFormBrowser(issuer, publicAgent),
  };

  if (late.size > 0) {
    await (async () => {
      const lateEnv = (await options.lateEnv?.(platform)) ?? {};
      await startAll([...late], lateEnv);
    })().catch(abandon);
  }

  return {
    ...platform,
    async stop() {
      await twin.stop();
      await Promise.all(
        [...processes.values(), ...replicas].map(async (process) => {
          process.child.kill('SIGTERM');
          await process.exited;
        }),
      );
      await directory.stop();
      await Promise.all([publicAgent, ...tppAgents].map((agent) => agent.close()));
      await Promise.all(relyingParties.map((rp) => rp.close()));
      await Promise.all(databases.map((url) => dropTestDatabase(url)));
      rmSync(state, { recursive: true, force: true });
    },
  };
}

/**
 * Sources for attachServerLogsOnFailure: every service's and the edge's logs, once the platform
 * runs, each with its own tail (concatenated, the edge's access log pushed the services out).
 */
export function platformLogSources(platform: () => Platform | undefined): LogSources {
  return () => platform()?.logs ?? [];
}

/**
 * startPlatform with the bank's API gateway: a software registered through DCR and named to
 * token-introspection as a resource server (RESOURCE_SERVER_CLIENT_IDS), so token-introspection
 * starts last. `gateway` is its openid-client configuration, for RFC 7662 introspection.
 */
export async function startPlatformWithGateway(
  options: Omit<PlatformOptions, 'startLate' | 'lateEnv'>,
): Promise<{ platform: Platform; gateway: oidc.Configuration }> {
  let gateway: { software: TestSoftware; clientId: string } | undefined;
  const platform = await startPlatform({
    ...options,
    startLate: ['token-introspection'],
    lateEnv: async (started) => {
      const software = await started.directory.registerSoftware({ clientName: 'Bank API gateway' });
      gateway = { software, clientId: (await started.register(software)).client_id };
      return { 'token-introspection': { RESOURCE_SERVER_CLIENT_IDS: gateway.clientId } };
    },
  });
  return { platform, gateway: await platform.relyingParty(gateway!.software, gateway!.clientId) };
}

/**
 * Logs a customer in and answers the consent page through the stable form contract (username,
 * password, accounts, decision), choosing every account offered unless told which; returns the
 * redirect back to the TPP.
 */
export async function loginAndConsent(
  browser: FormBrowser,
  authorizationUrl: URL,
  customer: { username: string; password: string },
  options: { decision?: 'approve' | 'deny'; accounts?: string[] } = {},
): Promise<URL> {
  const loginPage = await browser.follow(await browser.get(authorizationUrl.href));
  const loginAction = formAction(loginPage);
  const consentPage = await browser.follow(
    await browser.post(loginAction, new URLSearchParams({ username: customer.username, password: customer.password })),
  );
  const offered = [...consentPage.body.matchAll(/name="accounts"[^>]*value="([^"]+)"/g)].map((match) => match[1]!);
  const form = new URLSearchParams([
    ...(options.accounts ?? offered).map((account) => ['accounts', account] as [string, string]),
    ['decision', options.decision ?? 'approve'],
  ]);
  const back = await browser.follow(await browser.post(formAction(consentPage), form));
  assert.ok(back.location, `no redirect back to the TPP (status ${back.status}): ${back.body.slice(0, 300)}`);
  return new URL(back.location);
}

function formAction(page: PageResponse): string {
  const action = /<form[^>]*action="([^"]+)"/.exec(page.body)?.[1];
  assert.ok(action, `no form on ${page.url} (status ${page.status}): ${page.body.slice(0, 300)}`);
  return new URL(action.replaceAll('&amp;', '&'), page.url).href;
}

/** The part of an OBIE consent response the tests read. */
export interface ObieConsentResponse {
  Data: { ConsentId: string; Status: string };
}

/**
 * A TPP's call to consent-service's OBIE intent APIs through the edge's mTLS host, with a
 * client_credentials token; the body is undefined for 204.
 */
export async function intentApi(
  platform: Pick<Platform, 'twin' | 'tppAgent'>,
  software: TestSoftware,
  token: string,
  method: 'POST' | 'GET' | 'DELETE',
  path: string,
  body?: unknown,
): Promise<{ status: number; body: ObieConsentResponse | undefined }> {
  const response = await undiciFetch(`${platform.twin.mtlsUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      accept: 'application/json',
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    ...(body ? { body: JSON.stringify(body) } : {}),
    dispatcher: platform.tppAgent(software),
  });
  return {
    status: response.status,
    body: response.status === 204 ? undefined : ((await response.json()) as ObieConsentResponse),
  };
}

/**
 * FAPI 2.0 PAR + PKCE for an OBIE intent, requested as an essential `openbanking_intent_id` ID
 * token claim: the authorization URL, and the verifier and state the code exchange needs.
 */
export async function authorizationUrlForIntent(tpp: oidc.Configuration, redirectUri: string, consentId: string) {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = await oidc.buildAuthorizationUrlWithPAR(tpp, {
    redirect_uri: redirectUri,
    scope: 'openid accounts',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    claims: JSON.stringify({ id_token: { openbanking_intent_id: { value: consentId, essential: true } } }),
  });
  return { url, verifier, state };
}
