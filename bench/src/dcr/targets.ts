// Everything the DCR registration benchmark measures, started the same way for the real run and
// the smoke test: a test OB directory (libs/testing) that signs software statements and serves
// its key set and the bench software's on loopback; obip's dcr-service as a real process, run as
// its image runs it (harness/service-runtime.ts), on a throwaway Redis and a MongoDB-compatible
// server; the bare engine (engine.server.ts) and the floor (floor.server.ts), each in its own
// process with its own database. obip and the floor are sent the same signed registration
// requests, each with a fresh SSA (requests.ts, signed in the load child before the run); the
// engine the same metadata as JSON.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { closeMongo, connectMongo } from '@obip/mongo';
import {
  createTestDirectory,
  createTestPki,
  freePort,
  serviceMongoEnv,
  startMongoServer,
  startRedisServer,
  startServiceProcess,
  withDatabase,
  type MongoServerKind,
  type ServiceProcess,
  type TestDirectory,
  type TestSoftware,
} from '@obip/testing';
import { nginxCallerCertificate, type CallerCertificate } from '../harness/edge';
import { serviceLaunch, serviceLaunchEnv } from '../harness/service-runtime';
import type { LoadTarget } from '../harness/passes';
import { startChildServer } from '../harness/processes';
import type { RequestSpec } from '../harness/requests';
import { registrationRequests, type RegistrationRequestTemplate } from './requests';

export type DcrTargetName = 'obip' | 'engine' | 'floor';

/** One of the three servers, with the requests each run sends it. */
export interface DcrTarget extends LoadTarget {
  name: DcrTargetName;
  /** `http://127.0.0.1:<port>/register` */
  url: string;
}

/** The collections each target writes a registration to. */
export const DOCUMENT_COLLECTIONS: Record<DcrTargetName, readonly string[]> = {
  // A client and its audit entry (clients.mongo.ts).
  obip: ['clients', 'client_audit'],
  // The engine's Client and RegistrationAccessToken models (engine.server.ts).
  engine: ['Client', 'RegistrationAccessToken'],
  floor: ['clients'],
};

export interface DcrTargets {
  targets: Record<DcrTargetName, DcrTarget>;
  directory: TestDirectory;
  software: TestSoftware;
  certificate: CallerCertificate;
  /** What requests.ts signs each request from. */
  template: RegistrationRequestTemplate;
  /** Each target's database. */
  mongoUrls: Record<DcrTargetName, string>;
  mongoKind: MongoServerKind | 'test run';
  service: ServiceProcess;
  stop(): Promise<void>;
}

export interface StartDcrTargetsOptions {
  /** Each target's database on an existing server (e.g. the test run's); unset: a throwaway server is started. */
  mongoUrlFor?: (name: DcrTargetName) => string;
  /** Node options for the dcr-service process (e.g. `--cpu-prof --cpu-prof-dir=...`). */
  serviceNodeOptions?: string;
}

/** The bank's identifier the registration requests are addressed to (`aud`, DCR_ACCEPTED_AUDIENCES). */
export const BANK_AUDIENCE = '0015800001HQQrZBEN';
/** Software statements and requests are signed ES256: see the section's "What runs" for why not PS256. */
export const DCR_SIGNING_ALG = 'ES256';
export const REGISTRATION_BASE_URL = 'https://mtls.bank.bench/register';
const SERVICE_ENTRY = 'services/dcr-service/src/main.ts';
/** The versions recorded with the results. */
export const DCR_PACKAGES = ['oidc-provider', 'jose', 'mongoose', 'autocannon', 'ioredis', 'tsx', 'typescript'];
/** The code the results measure, for the uncommitted-changes note. */
export const DCR_SOURCES = ['services/dcr-service', 'libs'];
/** Claims set per request by requests.ts. */
const PER_REQUEST_CLAIMS = new Set(['iat', 'exp', 'jti', 'software_statement']);

const withoutPerRequestClaims = (claims: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(claims).filter(([name]) => !PER_REQUEST_CLAIMS.has(name)));

export async function startDcrTargets(options: StartDcrTargetsOptions = {}): Promise<DcrTargets> {
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  const stop = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await Promise.resolve(cleanup()).catch(() => undefined);
  };
  try {
    const dir = mkdtempSync(join(tmpdir(), 'obip-bench-dcr-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const redis = await startRedisServer();
    cleanups.push(() => redis.dispose());
    let mongoUrlFor = options.mongoUrlFor;
    let mongoKind: DcrTargets['mongoKind'] = 'test run';
    if (!mongoUrlFor) {
      const mongo = await startMongoServer();
      cleanups.push(() => mongo.stop());
      mongoKind = mongo.kind;
      mongoUrlFor = (name) => withDatabase(mongo.url, `obip_bench_dcr_${name}`);
    }
    const mongoUrls = { obip: mongoUrlFor('obip'), engine: mongoUrlFor('engine'), floor: mongoUrlFor('floor') };

    const pki = await createTestPki({ name: 'obip Bench' });
    const caFile = join(dir, 'ca.pem');
    writeFileSync(caFile, pki.caBundlePem);
    const directory = await createTestDirectory({ pki, alg: DCR_SIGNING_ALG });
    cleanups.push(() => directory.stop());
    const software = await directory.registerSoftware({ alg: DCR_SIGNING_ALG, clientName: 'obip bench TPP' });
    const certificate = nginxCallerCertificate(software.transport!.certPem);
    const template: RegistrationRequestTemplate = {
      directory: { privateJwk: directory.signingKey.privateJwk, alg: DCR_SIGNING_ALG },
      ssaClaims: withoutPerRequestClaims(directory.ssaClaims(software)),
      software: { privateJwk: software.signingKey.privateJwk, alg: DCR_SIGNING_ALG },
      // The OBIE conformance metadata the test directory mints (libs/testing test-directory.ts).
      requestClaims: withoutPerRequestClaims(
        decodeJwt(directory.mintRegistrationRequest(software, { ssa: 'unused', aud: BANK_AUDIENCE })),
      ),
    };

    // As its image and the chart run it (harness/service-runtime.ts), recorded with the results.
    const launch = serviceLaunch(options.serviceNodeOptions);
    const service = await startServiceProcess({
      entry: SERVICE_ENTRY,
      runtime: launch.runtime,
      env: {
        HTTP_PORT: '0',
        GRPC_PORT: '0',
        OPS_PORT: '0',
        REDIS_URL: redis.url,
        ...serviceMongoEnv(mongoUrls.obip),
        DCR_TRUSTED_DIRECTORIES: JSON.stringify([directory.trustEntry]),
        DCR_ACCEPTED_AUDIENCES: BANK_AUDIENCE,
        // Every transport certificate's chain verified against the CAs again (defence in depth).
        DCR_TRUSTED_CA_FILE: caFile,
        // The test directory serves the key sets on loopback.
        DCR_ALLOW_PRIVATE_JWKS_URIS: 'true',
        DCR_REGISTRATION_BASE_URL: REGISTRATION_BASE_URL,
        CLIENT_CERT_HEADER_FORMAT: 'nginx',
        TRUSTED_PROXY_CIDRS: '127.0.0.1/32',
        // One TPP from one address sends everything: both limits at their maximum (1 000 000 a
        // minute), still counted in Redis on every request as the chart deploys them.
        RATE_LIMIT_PER_ADDRESS_PER_MINUTE: '1000000',
        RATE_LIMIT_PER_CLIENT_PER_MINUTE: '1000000',
        // Nothing is deleted, so auth-server's tokens.v1 is never called (connected lazily).
        TOKENS_GRPC_TARGET: `ipv4:///127.0.0.1:${await freePort()}`,
        LOG_LEVEL: 'info',
        SHUTDOWN_GRACE_MS: '1000',
        ...serviceLaunchEnv(launch),
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
      script: 'bench/src/dcr/engine.server.ts',
      env: { MONGO_URL: mongoUrls.engine },
    });
    cleanups.push(() => engine.stop());
    const floor = await startChildServer<{ port: number }>({
      script: 'bench/src/dcr/floor.server.ts',
      env: {
        MONGO_URL: mongoUrls.floor,
        DIRECTORY_ISSUER: directory.issuer,
        DIRECTORY_JWKS_URI: directory.jwksUri,
        AUDIENCE: BANK_AUDIENCE,
      },
    });
    cleanups.push(() => floor.stop());

    const signed = (expectBodyPrefix: string): RequestSpec => ({
      method: 'POST',
      headers: { 'content-type': 'application/jose', ...certificate.headers },
      generated: {
        module: 'bench/src/dcr/requests.ts',
        exportName: 'registrationRequests',
        argument: template,
        count: 0,
      },
      expectBodyPrefix,
    });
    const target = (name: DcrTargetName, port: number, pid: number, requests: RequestSpec): DcrTarget => ({
      name,
      url: `http://127.0.0.1:${port}/register`,
      pid,
      requests,
    });
    return {
      targets: {
        // The response flattens the SSA's claims first (registration.response.ts).
        obip: target(
          'obip',
          service.ports.http!,
          service.child.pid!,
          signed(`{"software_id":"${software.softwareId}"`),
        ),
        engine: target('engine', engine.ready.port, engine.pid, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...certificate.headers },
          bodies: [JSON.stringify(engineRegistration(template))],
          expectBodyPrefix: ENGINE_RESPONSE_PREFIX,
        }),
        floor: target('floor', floor.ready.port, floor.pid, signed('{"client_id":"')),
      },
      directory,
      software,
      certificate,
      template,
      mongoUrls,
      mongoKind,
      service,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** What the engine's registration answers start with (oidc-provider's Client#metadata order). */
export const ENGINE_RESPONSE_PREFIX = '{"application_type":"web"';

/**
 * The RFC 7591 JSON registration the engine is sent: the signed request's metadata as plain
 * JSON, the TPP's public key inline (the engine would fetch a `jwks_uri` only when it needs
 * the key), and one software statement, stored unverified.
 */
export function engineRegistration(template: RegistrationRequestTemplate): Record<string, unknown> {
  const { iss: _iss, aud: _aud, ...metadata } = template.requestClaims;
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicJwk } = template.software.privateJwk;
  return {
    ...metadata,
    jwks: { keys: [publicJwk] },
    software_statement: registrationRequests(template, 1)
      .map((request) => decodeJwt(request).software_statement)
      .at(0),
  };
}

/**
 * How long counting may take: after a measured run FerretDB (SQLite) scans tens of thousands of
 * registrations to count them, which took longer than the services' 10 s socket timeout.
 */
const COUNT_TIMEOUT_MS = 180_000;

/** The documents in each target's registration collections. */
export async function countDocuments(mongoUrls: Record<DcrTargetName, string>): Promise<Record<DcrTargetName, number>> {
  const counts = {} as Record<DcrTargetName, number>;
  for (const name of Object.keys(mongoUrls) as DcrTargetName[]) {
    const connection = await connectMongo({
      url: mongoUrls[name],
      serverSelectionTimeoutMS: 5_000,
      operationTimeoutMS: COUNT_TIMEOUT_MS,
    });
    try {
      let count = 0;
      for (const collection of DOCUMENT_COLLECTIONS[name])
        count += await connection.db!.collection(collection).countDocuments();
      counts[name] = count;
    } finally {
      await closeMongo(connection);
    }
  }
  return counts;
}

/** What one registration answered. */
export interface RegistrationAnswer {
  status: number;
  body: Record<string, unknown>;
  text: string;
}

/** POSTs `body` to the target as its runs do. */
export async function postRegistration(target: DcrTarget, body: string): Promise<RegistrationAnswer> {
  const response = await fetch(target.url, { method: 'POST', headers: target.requests.headers, body });
  const text = await response.text();
  let parsed: Record<string, unknown> = {};
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // not JSON: the status and text say what was wrong
  }
  return { status: response.status, body: parsed, text };
}

/** A fresh request body for the target, as its runs send it. */
export function freshBody(target: DcrTarget, started: Pick<DcrTargets, 'template'>): string {
  return target.requests.bodies?.[0] ?? registrationRequests(started.template, 1)[0]!;
}

/**
 * Checks that a target registers a real client before it is measured: a fresh registration is
 * answered 201 with a client id, the answer starts as every measured answer must, and the target's
 * database holds the registration's documents afterwards; obip also refuses the same request a
 * second time (its SSA `jti` was used). Throws with what was wrong.
 */
export async function checkDcrAnswers(target: DcrTarget, started: DcrTargets): Promise<void> {
  const before = (await countDocuments(started.mongoUrls))[target.name];
  const body = freshBody(target, started);
  const first = await postRegistration(target, body);
  if (first.status !== 201 || !first.text.startsWith(target.requests.expectBodyPrefix ?? ''))
    throw new Error(`${target.name} answered ${first.status} ${first.text}`);
  const problems = [
    typeof first.body.client_id === 'string' && first.body.client_id.length >= 16
      ? undefined
      : `client_id ${String(first.body.client_id)}`,
    first.body.token_endpoint_auth_method === 'private_key_jwt'
      ? undefined
      : `token_endpoint_auth_method ${String(first.body.token_endpoint_auth_method)}`,
  ].filter((problem) => problem !== undefined);
  if (target.name !== 'floor' && typeof first.body.registration_access_token !== 'string')
    problems.push('no registration_access_token');
  const created = (await countDocuments(started.mongoUrls))[target.name] - before;
  if (created !== DOCUMENT_COLLECTIONS[target.name].length)
    problems.push(`${created} documents written, ${DOCUMENT_COLLECTIONS[target.name].length} expected`);
  if (target.name === 'obip') {
    const replay = await postRegistration(target, body);
    if (replay.status !== 400 || replay.body.error !== 'invalid_software_statement')
      problems.push(`the same request again was answered ${replay.status} ${replay.text}`);
  }
  if (problems.length > 0) throw new Error(`${target.name} answered ${first.text}: ${problems.join(', ')}`);
}
