// API fuzzing with schemathesis: the platform (the services behind the nginx edge twin with the
// mock directory, and config-api beside it) with the credentials each API needs, and one
// schemathesis run per OpenAPI document. Shared by the bounded CI test (schemathesis.test.ts) and
// the full run (main.ts).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as oidc from 'openid-client';
import {
  dropTestDatabase,
  freePort,
  serviceMongoEnv,
  startAdminTokenIssuer,
  startServiceProcess,
  testMongoUrl,
  testRedisPrefix,
  testRedisUrl,
  type AdminTokenIssuer,
  type LogSource,
  type ServiceProcess,
  type TestSoftware,
} from '@obip/testing';
import {
  ACCOUNT_ACCESS_CONSENTS,
  authorizationUrlWithPar,
  createDomesticPaymentConsent,
  domesticPaymentInitiation,
} from '../flows/obie';
import { intentApi, loginAndConsent, startPlatform, type Platform } from '../platform/platform';

const repoRoot = resolve(import.meta.dirname, '../../..');
const SCHEMATHESIS = resolve(repoRoot, '.tools/bin/schemathesis');
const NAME = 'fuzz';
const ADMIN_ISSUER = 'https://admin-idp.bank.test';
/** Tokens outlive the full run: the fuzzer cannot fetch a fresh one mid-run. */
const TOKEN_LIFETIME_SECONDS = 3600;
const CUSTOMER = { username: 'amelia.hart', password: 'Sandbox-Amelia-1' };
/** Amelia's current account (sandbox data): a payment needs exactly one debtor account. */
const DEBTOR_ACCOUNT = 'acc-22289-current';

/**
 * What every response is checked for: never a 5xx; status code, content type, documented headers
 * and body as the document says; a request the document calls invalid refused (4xx); no answer
 * but 401 without the credentials. Left out, with what they reported when tried:
 * missing_required_header (expects 401 for any request without Authorization, but a request
 * with no body is answered 415 first, a bad x-fapi-interaction-id 400 first, and a PUT without
 * If-Match 428, which RFC 6585 names), unsupported_method (TRACE is answered 405 by the edge,
 * before any service; config-api answers 404 to methods it has no route for),
 * positive_data_acceptance (a registration body is a JWS the generator cannot sign, and OBIE
 * rules such as a future ExpirationDateTime go beyond the schemas), and use_after_free,
 * ensure_resource_availability and the authorization checks (they need OpenAPI links, which
 * these documents do not declare).
 */
export const CHECKS = [
  'not_a_server_error',
  'status_code_conformance',
  'content_type_conformance',
  'response_headers_conformance',
  'response_schema_conformance',
  'negative_data_rejection',
  'ignored_auth',
] as const;

/**
 * Every refusal counts as one for negative_data_rejection: schemathesis's default list leaves out
 * 412 (config-api checks If-Match before the body) and 413 (a body over the size limit).
 */
const REJECTION_STATUSES = [400, 401, 403, 404, 405, 406, 409, 412, 413, 415, 422, 428, 429];

export type FuzzTargetName = 'dcr-service' | 'consent-service' | 'config-api';
export const FUZZ_TARGETS: readonly FuzzTargetName[] = ['dcr-service', 'consent-service', 'config-api'];

export interface FuzzPass {
  label: string;
  /** schemathesis.toml: credentials, and fixed identifiers per operation. */
  config: string;
  /** Only the operations whose path matches. Default every operation. */
  pathRegex?: string;
}

/** What schemathesis needs to fuzz one document. */
export interface FuzzTarget {
  name: FuzzTargetName;
  /** Where the service serves its document (its own port). */
  schemaUrl: string;
  /** Where requests go: the edge's mTLS host, or config-api's internal port. */
  baseUrl: string;
  /**
   * One schemathesis run each: generated identifiers first (every operation), then the
   * operations on an identifier again with identifiers that exist.
   */
  passes: FuzzPass[];
  /** The TPP's transport certificate, for the mTLS host. */
  clientCertificate?: { certFile: string; keyFile: string };
}

export interface FuzzPlatform {
  platform: Platform;
  configApi: ServiceProcess;
  targets: Record<FuzzTargetName, FuzzTarget>;
  /** CA bundle of the edge's server certificate. */
  caFile: string;
  logs: LogSource[];
  stop(): Promise<void>;
}

/**
 * Starts the platform and config-api, registers the TPPs and creates the consents and other
 * resources the fuzzer works on, and prepares each document's schemathesis passes.
 *
 * @example
 * const fuzz = await startFuzzPlatform();
 * const run = await runSchemathesis(fuzz, 'dcr-service', { maxExamples: 5, seed: 1 });
 */
export async function startFuzzPlatform(): Promise<FuzzPlatform> {
  const platform = await startPlatformWithLongTokens();
  const work = mkdtempSync(join(tmpdir(), 'obip-fuzz-'));
  const configGrpcPort = await freePort();
  let adminIssuer: AdminTokenIssuer | undefined;
  let configApi: ServiceProcess | undefined;
  const configDatabase = testMongoUrl(`${NAME}_config`);
  const stop = async () => {
    try {
      configApi?.child.kill('SIGTERM');
      await configApi?.exited;
      await platform.stop();
      await adminIssuer?.stop();
      await dropTestDatabase(configDatabase);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  };
  try {
    adminIssuer = await startAdminTokenIssuer(ADMIN_ISSUER);
    configApi = await startServiceProcess({
      entry: 'services/config-api/src/main.ts',
      env: {
        ...serviceMongoEnv(configDatabase),
        REDIS_URL: testRedisUrl(),
        REDIS_KEY_PREFIX: testRedisPrefix(`${NAME}_config`),
        HTTP_PORT: '0',
        GRPC_PORT: String(configGrpcPort),
        OPS_PORT: '0',
        PLATFORM_ISSUER: platform.issuer,
        ADMIN_TOKEN_ISSUERS: JSON.stringify([{ issuer: adminIssuer.issuer, jwksUri: adminIssuer.jwksUri }]),
        CLIENT_REGISTRY_GRPC_TARGET: platform.grpcAddress('dcr-service'),
        TOKENS_GRPC_TARGET: platform.grpcAddress('auth-server'),
        CONSENTS_GRPC_TARGET: platform.grpcAddress('consent-service'),
        // Published to files of its own: no service of this platform follows config-api, so
        // the settings, trust anchors and keys the fuzzer writes change nothing the other runs use.
        K8S_SYNC: 'local',
        LOCAL_CA_BUNDLE_FILE: join(work, 'ca-bundle.pem'),
        LOCAL_SIGNING_KEYS_FILE: join(work, 'signing-keys.json'),
        DEV_KEYS_DIR: join(work, 'config-keys'),
      },
    });
    const caFile = join(work, 'ca.pem');
    writeFileSync(caFile, platform.pki.caBundlePem);
    const targets = {
      'dcr-service': await dcrTarget(platform, work),
      'consent-service': await consentTarget(platform, work),
      'config-api': await configApiTarget(platform, configApi, adminIssuer),
    };
    return {
      platform,
      configApi,
      targets,
      caFile,
      logs: [...platform.logs, { name: 'config-api', logs: () => configApi?.output() ?? '' }],
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The platform, with tokens that outlive the full run. */
function startPlatformWithLongTokens(): Promise<Platform> {
  return startPlatform({
    name: NAME,
    env: {
      'auth-server': {
        CLIENT_CREDENTIALS_TTL_SECONDS: String(TOKEN_LIFETIME_SECONDS),
        ACCESS_TOKEN_TTL_SECONDS: String(TOKEN_LIFETIME_SECONDS),
      },
    },
  });
}

/** Writes the software's transport certificate and key for `--request-cert`. */
function certificateFiles(software: TestSoftware, work: string): { certFile: string; keyFile: string } {
  const certFile = join(work, `${software.softwareId}.crt`);
  const keyFile = join(work, `${software.softwareId}.key`);
  writeFileSync(certFile, software.transport!.chainPem);
  writeFileSync(keyFile, software.transport!.keyPem, { mode: 0o600 });
  return { certFile, keyFile };
}

/**
 * dcr-service through the edge's mTLS host. OBIE DCR: a registration access token presented for
 * another client id is revoked at once, so random client ids get a token of their own (revoked at
 * the first of them; every later call is a 401 that must conform too). The known clients' pass
 * reads and updates one client with its token and deletes another with its own, so the 204 of a
 * DELETE does not turn the reads into 401s.
 */
async function dcrTarget(platform: Platform, work: string): Promise<FuzzTarget> {
  const software = await platform.directory.registerSoftware();
  const managed = await platform.register(software);
  const deleted = await platform.register(software);
  const sacrificed = await platform.register(software);
  const bearer = (client: { registration_access_token: string }) => ({
    Authorization: `Bearer ${client.registration_access_token}`,
  });
  return {
    name: 'dcr-service',
    schemaUrl: `${platform.httpUrl('dcr-service')}/openapi.json`,
    baseUrl: platform.twin.mtlsUrl,
    clientCertificate: certificateFiles(software, work),
    passes: [
      { label: 'generated client ids', config: toml.headers(bearer(sacrificed)) },
      {
        label: 'registered clients',
        pathRegex: '^/register/',
        config: [
          toml.operation(
            { operationIds: ['readClient', 'updateClient'], headers: bearer(managed) },
            { 'path.clientId': managed.client_id },
          ),
          toml.operation(
            { operationIds: ['deleteClient'], headers: bearer(deleted) },
            { 'path.clientId': deleted.client_id },
          ),
        ].join('\n'),
      },
    ],
  };
}

/**
 * consent-service's OBIE intent APIs through the edge's mTLS host, with the TPP's
 * client_credentials token (accounts and payments). Funds confirmation needs the token the
 * customer authorised under one payment consent: that consent is authorised first. The second
 * pass reads (and deletes) consents the TPP created.
 */
async function consentTarget(platform: Platform, work: string): Promise<FuzzTarget> {
  const software = await platform.directory.registerSoftware({ roles: ['AISP', 'PISP'] });
  const { client_id: clientId } = await platform.register(software, {
    response_types: ['code'],
    scope: 'openid accounts payments',
  });
  const tpp = await platform.relyingParty(software, clientId);
  const { access_token: token } = await oidc.clientCredentialsGrant(tpp, { scope: 'accounts payments' });
  const accountConsent = await intentApi(platform, software, token, 'POST', ACCOUNT_ACCESS_CONSENTS, {
    Data: { Permissions: ['ReadAccountsDetail'], ExpirationDateTime: '2999-01-01T00:00:00+00:00' },
    Risk: {},
  });
  const payment = await createDomesticPaymentConsent(platform, software, token, domesticPaymentInitiation('10.00'));
  const { url, verifier, state } = await authorizationUrlWithPar(tpp, {
    redirectUri: software.redirectUris[0]!,
    scope: 'openid payments',
    consentId: payment.body.Data.ConsentId,
  });
  const callback = await loginAndConsent(platform.browser(), url, CUSTOMER, { accounts: [DEBTOR_ACCOUNT] });
  const customerTokens = await oidc.authorizationCodeGrant(tpp, callback, {
    pkceCodeVerifier: verifier,
    expectedState: state,
  });
  const fundsConfirmation = {
    operationIds: ['GetDomesticPaymentConsentsConsentIdFundsConfirmation'],
    headers: { Authorization: `Bearer ${customerTokens.access_token}` },
  };
  return {
    name: 'consent-service',
    schemaUrl: `${platform.httpUrl('consent-service')}/openapi.json`,
    baseUrl: platform.twin.mtlsUrl,
    clientCertificate: certificateFiles(software, work),
    passes: [
      {
        label: 'generated consent ids',
        config: [toml.headers({ Authorization: `Bearer ${token}` }), toml.operation(fundsConfirmation)].join('\n'),
      },
      {
        label: "the TPP's consents",
        pathRegex: '\\{ConsentId\\}',
        config: [
          toml.headers({ Authorization: `Bearer ${token}` }),
          toml.operation(
            { operationIds: ['GetAccountAccessConsentsConsentId', 'DeleteAccountAccessConsentsConsentId'] },
            { 'path.ConsentId': accountConsent.body!.Data.ConsentId },
          ),
          toml.operation(
            { operationIds: ['GetDomesticPaymentConsentsConsentId'] },
            { 'path.ConsentId': payment.body.Data.ConsentId },
          ),
          toml.operation(fundsConfirmation, { 'path.ConsentId': payment.body.Data.ConsentId }),
        ].join('\n'),
      },
    ],
  };
}

/**
 * config-api's admin API on its internal port, with an admin token carrying every scope. The
 * second pass works on resources that exist: trusted directories (one read and replaced, one
 * deleted), the platform's CA certificates, the signing keys, a registered client of its own
 * (suspending it leaves the other documents' TPPs alone) and a consent.
 */
async function configApiTarget(
  platform: Platform,
  configApi: ServiceProcess,
  adminIssuer: AdminTokenIssuer,
): Promise<FuzzTarget> {
  const baseUrl = `http://127.0.0.1:${configApi.ports.http}`;
  const token = await adminIssuer.mint({ expiresInSeconds: TOKEN_LIFETIME_SECONDS });
  const admin = async (path: string, body?: unknown) => {
    const response = await fetch(`${baseUrl}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    assert.ok(response.ok, `config-api ${path}: ${response.status} ${text}`);
    return JSON.parse(text) as Record<string, unknown>;
  };
  const directory = async (name: string) =>
    String(
      (
        await admin('/v1/directories', {
          name,
          issuer: `https://${name}.bank.test`,
          jwksUri: `https://${name}.bank.test/jwks`,
          environment: 'sandbox',
        })
      ).id,
    );
  const anchor = String((await admin('/v1/trust-anchors', { pem: platform.pki.issuing.certPem })).fingerprint);
  await admin('/v1/trust-anchors', { pem: platform.pki.root.certPem });
  const { keys } = (await admin('/v1/keys')) as { keys: Array<{ kid: string }> };
  const software = await platform.directory.registerSoftware();
  const { client_id: clientId } = await platform.register(software);
  const consentSoftware = await platform.directory.registerSoftware({ roles: ['AISP'] });
  const consentClient = await platform.register(consentSoftware);
  const tpp = await platform.relyingParty(consentSoftware, consentClient.client_id);
  const { access_token: ccToken } = await oidc.clientCredentialsGrant(tpp, { scope: 'accounts' });
  const consent = await intentApi(platform, consentSoftware, ccToken, 'POST', ACCOUNT_ACCESS_CONSENTS, {
    Data: { Permissions: ['ReadAccountsBasic'] },
    Risk: {},
  });
  const auth = toml.headers({ Authorization: `Bearer ${token}` });
  return {
    name: 'config-api',
    schemaUrl: `${baseUrl}/openapi.json`,
    baseUrl,
    passes: [
      { label: 'generated identifiers', config: auth },
      {
        label: 'existing resources',
        pathRegex: '\\{',
        config: [
          auth,
          toml.operation(
            { names: ['GET /v1/directories/{id}', 'PUT /v1/directories/{id}'] },
            { 'path.id': await directory('fuzz-read') },
          ),
          toml.operation({ names: ['DELETE /v1/directories/{id}'] }, { 'path.id': await directory('fuzz-delete') }),
          toml.operation({ paths: ['/v1/trust-anchors/{fingerprint}'] }, { 'path.fingerprint': anchor }),
          toml.operation({ pathRegex: '^/v1/keys/' }, { 'path.kid': keys.at(-1)!.kid }),
          toml.operation({ pathRegex: '^/v1/clients/' }, { 'path.clientId': clientId }),
          toml.operation({ pathRegex: '^/v1/consents/' }, { 'path.consentId': consent.body!.Data.ConsentId }),
        ].join('\n'),
      },
    ],
  };
}

/** The few TOML forms a schemathesis configuration needs here (strings are JSON-quoted). */
const toml = {
  string: (value: string) => JSON.stringify(value),
  list: (values: string[]) => `[${values.map((value) => JSON.stringify(value)).join(', ')}]`,
  table: (entries: Record<string, string>) =>
    `{ ${Object.entries(entries)
      .map(([name, value]) => `${JSON.stringify(name)} = ${JSON.stringify(value)}`)
      .join(', ')} }`,
  /** Top-level headers: first in the file, before any table. */
  headers: (headers: Record<string, string>) => `headers = ${toml.table(headers)}\n`,
  /**
   * Settings for the operations the filter selects; `parameters` fixes values (`path.<name>`).
   * Give one kind of filter: schemathesis selects an operation that matches any of them.
   */
  operation(
    filter: {
      operationIds?: string[];
      names?: string[];
      paths?: string[];
      pathRegex?: string;
      headers?: Record<string, string>;
    },
    parameters?: Record<string, string>,
  ): string {
    const lines = ['[[operations]]'];
    if (filter.operationIds) lines.push(`include-operation-id = ${toml.list(filter.operationIds)}`);
    if (filter.paths) lines.push(`include-path = ${toml.list(filter.paths)}`);
    if (filter.names) lines.push(`include-name = ${toml.list(filter.names)}`);
    if (filter.pathRegex) lines.push(`include-path-regex = ${toml.string(filter.pathRegex)}`);
    if (filter.headers) lines.push(`headers = ${toml.table(filter.headers)}`);
    if (parameters) lines.push(`parameters = ${toml.table(parameters)}`);
    return `${lines.join('\n')}\n`;
  },
};

export interface SchemathesisOptions {
  /** Test cases per operation and phase (schemathesis --max-examples). */
  maxExamples: number;
  /** Fixed for reproducible CI runs. */
  seed?: number;
  /**
   * Phases of the first pass (every operation, generated identifiers); default every phase but
   * stateful, which needs OpenAPI links these documents do not declare.
   */
  phases?: string[];
  /** Phases of the passes on existing resources; default `phases`. */
  existingResourcePhases?: string[];
  /** Parallel requests. Default 1 (a shared 2-core CI machine). */
  workers?: number;
  /** Receives schemathesis's output as it comes. */
  onOutput?: (chunk: string) => void;
}

export interface SchemathesisRun {
  /** 0 when every pass passed. */
  exitCode: number | null;
  /** schemathesis's console output of each pass: progress, failures with curl commands, summary. */
  output: string;
  /** Test cases schemathesis generated and sent, over the passes. */
  testCases: number;
  /** Operations tested by the first pass (every operation of the document). */
  operations: number;
}

/**
 * Runs schemathesis against one document of the fuzz platform, pass after pass, and waits for it
 * to finish. The event loop stays free meanwhile: the service processes' logs and the admin
 * issuer's key set are served from this process.
 *
 * @example
 * const run = await runSchemathesis(fuzz, 'config-api', { maxExamples: 5, seed: 1 });
 * assert.equal(run.exitCode, 0, run.output);
 */
export async function runSchemathesis(
  fuzz: FuzzPlatform,
  name: FuzzTargetName,
  options: SchemathesisOptions,
): Promise<SchemathesisRun> {
  const target = fuzz.targets[name];
  const runs: Array<{ exitCode: number | null; output: string }> = [];
  const firstPhases = options.phases ?? ['examples', 'coverage', 'fuzzing'];
  for (const [index, pass] of target.passes.entries()) {
    const header = `--- ${name}: ${pass.label}\n`;
    options.onOutput?.(header);
    const phases = index === 0 ? firstPhases : (options.existingResourcePhases ?? firstPhases);
    const run = await runPass(fuzz, target, pass, { ...options, phases });
    runs.push({ exitCode: run.exitCode, output: header + run.output });
  }
  const summaries = runs.map((run) => summaryOf(run.output));
  return {
    exitCode: runs.find((run) => run.exitCode !== 0)?.exitCode ?? 0,
    output: runs.map((run) => run.output).join('\n'),
    testCases: summaries.reduce((sum, summary) => sum + summary.testCases, 0),
    operations: summaries[0]?.operations ?? 0,
  };
}

async function runPass(
  fuzz: FuzzPlatform,
  target: FuzzTarget,
  pass: FuzzPass,
  options: SchemathesisOptions & { phases: string[] },
): Promise<{ exitCode: number | null; output: string }> {
  const dir = mkdtempSync(join(tmpdir(), `obip-fuzz-${target.name}-`));
  try {
    const configFile = join(dir, 'schemathesis.toml');
    writeFileSync(
      configFile,
      `${pass.config}\n[checks.negative_data_rejection]\nexpected-statuses = [${REJECTION_STATUSES.join(', ')}]\n`,
    );
    const args = [
      '--config-file',
      configFile,
      'run',
      target.schemaUrl,
      '--url',
      target.baseUrl,
      '--checks',
      CHECKS.join(','),
      '--max-examples',
      String(options.maxExamples),
      '--phases',
      options.phases.join(','),
      '--workers',
      String(options.workers ?? 1),
      '--tls-verify',
      fuzz.caFile,
      '--request-timeout',
      '20',
      '--generation-database',
      'none',
      '--no-color',
      ...(pass.pathRegex ? ['--include-path-regex', pass.pathRegex] : []),
      ...(options.seed === undefined ? [] : ['--seed', String(options.seed)]),
      ...(target.clientCertificate
        ? ['--request-cert', target.clientCertificate.certFile, '--request-cert-key', target.clientCertificate.keyFile]
        : []),
    ];
    const child = spawn(SCHEMATHESIS, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const collect = (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      output += text;
      options.onOutput?.(text);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    const [exitCode] = (await once(child, 'close')) as [number | null];
    return { exitCode, output };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The counts of schemathesis's closing summary. */
function summaryOf(output: string): { testCases: number; operations: number } {
  const testCases = /Test cases:\s+(\d+) generated/.exec(output)?.[1];
  const operations = /Tested: (\d+)/.exec(output)?.[1];
  return { testCases: Number(testCases ?? 0), operations: Number(operations ?? 0) };
}
