// `npm run sandbox [-- --fresh]`: the Open Banking ecosystem on one machine — Redis, the
// MongoDB-compatible server, the five services, the nginx edge twin (public and mTLS hosts on
// loopback HTTPS, certificates from the sandbox CA), the mock regulatory directory, the demo bank
// API and the demo TPP app. Data lives in .sandbox/ and is reused by the next start; --fresh
// wipes it first. Ctrl-C stops everything.
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { startBankApi } from './bank-api';
import { startDirectoryApp } from './directory-app';
import { startTppApp } from './tpp-app';
import {
  createTestPki,
  dropTestDatabase,
  savePki,
  startAdminTokenIssuer,
  startIngressTwin,
  startMongoServer,
  startRedisServer,
  startServiceProcess,
  type SavedPki,
  type ServiceProcess,
  type TestPki,
} from '@obip/testing';

const USAGE = `usage: npm run sandbox [-- --fresh]
  --fresh   wipe the data of earlier runs (.sandbox/) and start with none
Environment: OBIP_SANDBOX_DIR (state directory, default .sandbox), OBIP_SANDBOX_PORT_OFFSET (added to
every port), OBIP_SANDBOX_PUBLIC_PORT, OBIP_SANDBOX_MTLS_PORT, OBIP_SANDBOX_DIRECTORY_PORT,
OBIP_SANDBOX_BANK_PORT, OBIP_SANDBOX_TPP_PORT.`;

const root = resolve(import.meta.dirname, '../../..');
const args = process.argv.slice(2);
if (args.includes('--help')) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
if (args.some((arg) => arg !== '--fresh')) {
  process.stderr.write(`${USAGE}\n`);
  process.exit(2);
}
const fresh = args.includes('--fresh');
const stateDir = resolve(process.env.OBIP_SANDBOX_DIR ?? join(root, '.sandbox'));
const offset = Number(process.env.OBIP_SANDBOX_PORT_OFFSET ?? 0);
const port = (envName: string, base: number) => Number(process.env[envName] ?? base + offset);

const services = [
  { name: 'auth-server', http: 8081, grpc: 50051, ops: 9091, database: 'obip_auth' },
  { name: 'dcr-service', http: 8082, grpc: 50052, ops: 9092, database: 'obip_dcr' },
  { name: 'consent-service', http: 8083, grpc: 50053, ops: 9093, database: 'obip_consent' },
  { name: 'token-introspection', http: 8084, grpc: 50054, ops: 9094, database: undefined },
  { name: 'config-api', http: 8085, grpc: 50055, ops: 9095, database: 'obip_config' },
].map((service) => ({
  ...service,
  http: service.http + offset,
  grpc: service.grpc + offset,
  ops: service.ops + offset,
}));
type ServiceName = (typeof services)[number]['name'];
const serviceNamed = (name: ServiceName) => services.find((service) => service.name === name)!;
const grpcOf = (name: ServiceName) => `127.0.0.1:${serviceNamed(name).grpc}`;

const ports = {
  public: port('OBIP_SANDBOX_PUBLIC_PORT', 8443),
  mtls: port('OBIP_SANDBOX_MTLS_PORT', 9443),
  directory: port('OBIP_SANDBOX_DIRECTORY_PORT', 8090),
  // Registered clients hold the directory's key-set URLs: the key server keeps its port.
  directoryKeys: port('OBIP_SANDBOX_DIRECTORY_PORT', 8090) + 1,
  bank: port('OBIP_SANDBOX_BANK_PORT', 8096),
  tpp: port('OBIP_SANDBOX_TPP_PORT', 8097),
};

/** The bank's identifier that registration requests carry as `aud`. */
const BANK_ID = 'obip-sandbox-bank';
const issuer = `https://127.0.0.1:${ports.public}`;

const step = (text: string) => process.stdout.write(`\u001b[1m[sandbox]\u001b[0m ${text}\n`);
const stops: Array<{ name: string; stop: () => Promise<unknown> | void }> = [];
const onStop = (name: string, stop: () => Promise<unknown> | void) => stops.push({ name, stop });

async function main() {
  await checkPortsFree();
  if (fresh && existsSync(stateDir)) {
    step(`--fresh: wiping the data of earlier runs (${relative(stateDir)})`);
    rmSync(stateDir, { recursive: true, force: true });
  }
  mkdirSync(stateDir, { recursive: true });
  const pkiFile = join(stateDir, 'pki.json');
  const reused = existsSync(pkiFile);
  step(
    reused
      ? `reusing the data of the last run in ${relative(stateDir)} (registered clients, consents, keys); --fresh starts over`
      : `starting with no data; it is kept in ${relative(stateDir)} for the next start`,
  );

  step('starting Redis');
  const redis = await startRedisServer({ logDir: stateDir, dataDir: join(stateDir, 'data', 'redis') });
  onStop('Redis', () => redis.dispose());

  step('starting the MongoDB-compatible server');
  const mongo = await startMongoServer({ logDir: stateDir, dataDir: join(stateDir, 'data', 'mongo') });
  onStop('the MongoDB-compatible server', () => mongo.stop());
  if (fresh && mongo.kind === 'external') {
    step('--fresh: dropping the sandbox databases on the server MONGO_URL names');
    for (const { database } of services) {
      if (!database) continue;
      const url = new URL(mongo.url);
      url.pathname = `/${database}`;
      await dropTestDatabase(url.href);
    }
  }

  step(reused ? 'loading the sandbox CA' : 'generating the sandbox CA (valid one year)');
  const pki = await sandboxPki(pkiFile);
  const caPath = join(stateDir, 'sandbox-ca.pem');
  writeFileSync(caPath, pki.caBundlePem);

  step('starting the mock regulatory directory');
  const directory = await startDirectoryApp({
    pki,
    port: ports.directory,
    keyServerPort: ports.directoryKeys,
    stateFile: join(stateDir, 'directory.json'),
  });
  onStop('the directory', () => directory.stop());

  step('starting the nginx edge twin');
  const twin = await startIngressTwin({
    pki,
    upstreams: Object.fromEntries(services.map((service) => [service.name, `http://127.0.0.1:${service.http}`])),
    logDir: stateDir,
    // config-api rewrites its client CA bundle and reloads it when an admin changes trust anchors.
    reloadable: true,
    ports: { public: ports.public, mtls: ports.mtls },
  });
  onStop('the edge twin', () => twin.stop());

  step('minting a sandbox admin token for config-api');
  const admin = await startAdminIssuer(stateDir);
  onStop('the admin token issuer', () => admin.stop());

  const keysDir = join(stateDir, 'keys');
  const subscribe = (name: string) => ({
    CONFIG_GRPC_TARGET: grpcOf('config-api'),
    CONFIG_CACHE_FILE: join(stateDir, `${name}-platform-config.json`),
  });
  const settings: Record<ServiceName, Record<string, string>> = {
    'auth-server': {
      ISSUER: issuer,
      MTLS_BASE_URL: `https://127.0.0.1:${ports.mtls}`,
      CLIENT_REGISTRY_GRPC_TARGET: grpcOf('dcr-service'),
      CONSENTS_GRPC_TARGET: grpcOf('consent-service'),
      DEV_KEYS_DIR: keysDir,
      // CIBA pings to demo TPPs on this machine, with certificates of the sandbox CA.
      CIBA_PING_ALLOW_PRIVATE: 'true',
      CIBA_PING_CA_FILE: caPath,
      ...subscribe('auth-server'),
    },
    'dcr-service': {
      DCR_TRUSTED_DIRECTORIES: JSON.stringify([directory.directory.trustEntry]),
      DCR_TRUSTED_CA_FILE: caPath,
      DCR_ACCEPTED_AUDIENCES: BANK_ID,
      // The sandbox directory serves its key sets on loopback, which production refuses (SSRF).
      DCR_ALLOW_PRIVATE_JWKS_URIS: 'true',
      DCR_REGISTRATION_BASE_URL: `https://127.0.0.1:${ports.mtls}/register`,
      // The portal's and the demo TPP's redirect URIs are loopback addresses here.
      DCR_ALLOW_LOOPBACK_REDIRECT_URIS: 'true',
      TOKENS_GRPC_TARGET: grpcOf('auth-server'),
    },
    'consent-service': {
      // The customer portal at <public host>/portal; it signs in at auth-server and registers
      // itself at dcr-service (in-cluster addresses: the ports below).
      PORTAL_PUBLIC_URL: issuer,
      AUTH_SERVER_URL: `http://127.0.0.1:${serviceNamed('auth-server').http}`,
      CLIENT_REGISTRY_GRPC_TARGET: grpcOf('dcr-service'),
      TOKENS_GRPC_TARGET: grpcOf('auth-server'),
      DEV_KEYS_DIR: keysDir,
      // Tests and demos approve CIBA requests without a browser (docs/portal.md).
      SANDBOX_DEVICE_API: 'true',
    },
    'token-introspection': {
      ISSUER: issuer,
      INTROSPECTION_ENDPOINT: `https://127.0.0.1:${ports.mtls}/introspect`,
      CLIENT_REGISTRY_GRPC_TARGET: grpcOf('dcr-service'),
      CONSENTS_GRPC_TARGET: grpcOf('consent-service'),
      ALLOW_PRIVATE_JWKS_URIS: 'true',
    },
    'config-api': {
      PLATFORM_ISSUER: issuer,
      ADMIN_TOKEN_ISSUERS: JSON.stringify([{ issuer: admin.issuer, jwksUri: admin.jwksUri }]),
      CLIENT_REGISTRY_GRPC_TARGET: grpcOf('dcr-service'),
      TOKENS_GRPC_TARGET: grpcOf('auth-server'),
      CONSENTS_GRPC_TARGET: grpcOf('consent-service'),
      DEV_KEYS_DIR: keysDir,
      K8S_SYNC: 'local',
      LOCAL_CA_BUNDLE_FILE: twin.clientCaBundleFile,
      LOCAL_RELOAD_COMMAND: JSON.stringify(twin.reloadCommand),
    },
  };

  const running: Array<{ name: string; process: ServiceProcess }> = [];
  for (const service of services) {
    step(`starting ${service.name} (http ${service.http}, grpc ${service.grpc}, ops ${service.ops})`);
    const child = await startServiceProcess({
      entry: `services/${service.name}/src/main.ts`,
      env: {
        HTTP_PORT: String(service.http),
        GRPC_PORT: String(service.grpc),
        OPS_PORT: String(service.ops),
        REDIS_URL: redis.url,
        ...(service.database ? { MONGO_URL: mongo.url, MONGO_DB: service.database } : {}),
        ...settings[service.name],
      },
    });
    onStop(service.name, async () => {
      child.child.kill('SIGTERM');
      await child.exited;
    });
    running.push({ name: service.name, process: child });
  }

  step('starting the demo bank API');
  const bank = await startBankApi({
    pki,
    port: ports.bank,
    introspectionTarget: grpcOf('token-introspection'),
    consentsTarget: grpcOf('consent-service'),
  });
  onStop('the demo bank', () => bank.stop());

  step('starting the demo TPP (it registers itself at the directory and through DCR)');
  const tpp = await startTppApp({
    pki,
    caPem: pki.caBundlePem,
    port: ports.tpp,
    directoryUrl: directory.url,
    issuer,
    registrationEndpoint: `${twin.mtlsUrl}/register`,
    registrationAudience: BANK_ID,
    bankApiUrl: bank.url,
  });
  onStop('the demo TPP', () => tpp.stop());

  const consentService = serviceNamed('consent-service');
  const endpoints = {
    issuer,
    discoveryUrl: `${issuer}/.well-known/openid-configuration`,
    publicBaseUrl: twin.publicUrl,
    mtlsBaseUrl: twin.mtlsUrl,
    directoryUrl: directory.url,
    registrationAudience: BANK_ID,
    bankApiUrl: bank.url,
    tppUrl: tpp.url,
    tppClientId: tpp.clientId,
    portalUrl: `${twin.publicUrl}/portal`,
    cibaDeviceUrl: `http://127.0.0.1:${consentService.http}/sandbox/decoupled-authentications`,
    configApiUrl: `http://127.0.0.1:${serviceNamed('config-api').http}`,
    caCertificate: caPath,
    services: Object.fromEntries(
      running.map(({ name, process }) => [
        name,
        { ops: `http://127.0.0.1:${process.ports.ops}`, grpc: `127.0.0.1:${process.ports.grpc}` },
      ]),
    ),
  };
  writeFileSync(join(stateDir, 'endpoints.json'), `${JSON.stringify(endpoints, null, 2)}\n`);

  step('ready');
  console.log(`
  demo TPP      ${tpp.url}   (start here: "Connect your bank", then make a payment)
  customers     amelia.hart / Sandbox-Amelia-1, rahul.mehta / Sandbox-Rahul-2, grace.okafor / Sandbox-Grace-3
  public host   ${twin.publicUrl}   (browsers; no client certificate)
  mTLS host     ${twin.mtlsUrl}   (TPPs; client certificate from the sandbox CA required)
  bank API      ${bank.url}   (OBIE v3.1 accounts and domestic payments; the TPP's certificate required)
  portal        ${twin.publicUrl}/portal   (customers see the consents they gave and revoke them, approve CIBA requests)
  directory     ${directory.url}   (POST /tpps issues a software statement, certificate and key; aud of DCR requests: ${BANK_ID})
  CIBA device   ${endpoints.cibaDeviceUrl}?username=amelia.hart   (pending CIBA requests; POST …/<id>/decision approves, see docs/portal.md)
${running.map(({ name, process }) => `  ${name.padEnd(20)} ops http://127.0.0.1:${process.ports.ops}/readyz   grpc 127.0.0.1:${process.ports.grpc}`).join('\n')}
  admin token   ${relative(join(stateDir, 'admin-token'))}   (bearer token for config-api at ${endpoints.configApiUrl}, all obip:* scopes, 12 h)
  endpoints     ${relative(join(stateDir, 'endpoints.json'))}

  Browsers warn about the sandbox's certificates until you trust its CA, ${relative(caPath)}:
    Chromium/Chrome: Settings → Privacy and security → Security → Manage certificates → Authorities → Import
    Firefox: Settings → Privacy & Security → Certificates → View Certificates → Authorities → Import
    (or accept the warning once per port: ${ports.tpp}, ${ports.public})

  Ctrl-C stops everything; the next start reuses the data (--fresh wipes it).`);
}

/** The sandbox CA: kept in pki.json (mode 0600) so browsers that trust it keep doing so. */
async function sandboxPki(file: string): Promise<TestPki> {
  if (existsSync(file)) {
    const saved = JSON.parse(readFileSync(file, 'utf8')) as SavedPki;
    const pki = await createTestPki({ saved });
    const rootExpires = new X509Certificate(pki.root.certPem).validToDate;
    if (rootExpires.getTime() < Date.now() + 24 * 3600_000) {
      throw new Error(`the sandbox CA expires on ${rootExpires.toISOString()}: start with --fresh for a new one`);
    }
    return pki;
  }
  const name = 'obip Sandbox';
  const pki = await createTestPki({ name, caValidityDays: 365 });
  writeFileSync(file, JSON.stringify(savePki(pki, name)), { mode: 0o600 });
  return pki;
}

/**
 * The sandbox's stand-in for the bank's admin identity provider: an ES256 key whose JWKS
 * config-api trusts, and one RFC 9068 access token with every admin scope, written to
 * `admin-token` (mode 0600).
 */
async function startAdminIssuer(dir: string) {
  const admin = await startAdminTokenIssuer('https://sandbox-admin.obip.local');
  const token = await admin.mint({
    subject: 'sandbox-admin',
    clientId: 'sandbox-admin-console',
    expiresInSeconds: 12 * 3600,
  });
  writeFileSync(join(dir, 'admin-token'), `${token}\n`, { mode: 0o600 });
  return admin;
}

/** Every fixed port, checked before anything starts, so a clash names its setting instead of failing half-way. */
async function checkPortsFree() {
  const wanted: Array<[number, string]> = [
    [ports.public, 'public host (OBIP_SANDBOX_PUBLIC_PORT)'],
    [ports.mtls, 'mTLS host (OBIP_SANDBOX_MTLS_PORT)'],
    [ports.directory, 'directory (OBIP_SANDBOX_DIRECTORY_PORT)'],
    [ports.directoryKeys, 'directory key sets (OBIP_SANDBOX_DIRECTORY_PORT + 1)'],
    [ports.bank, 'demo bank (OBIP_SANDBOX_BANK_PORT)'],
    [ports.tpp, 'demo TPP (OBIP_SANDBOX_TPP_PORT)'],
    ...services.flatMap((service): Array<[number, string]> => [
      [service.http, `${service.name} http`],
      [service.grpc, `${service.name} grpc`],
      [service.ops, `${service.name} ops`],
    ]),
  ];
  const taken: string[] = [];
  for (const [number, what] of wanted) if (!(await canListen(number))) taken.push(`${number} (${what})`);
  if (taken.length > 0) {
    throw new Error(
      `ports in use: ${taken.join(', ')}.\n  Is a sandbox already running? Stop it (Ctrl-C), or move this one: ` +
        'OBIP_SANDBOX_PORT_OFFSET=100 npm run sandbox (or the port variables in `npm run sandbox -- --help`).',
    );
  }
}

function canListen(number: number): Promise<boolean> {
  return new Promise((resolvePort) => {
    const probe = createServer();
    probe.once('error', () => resolvePort(false));
    probe.listen(number, '127.0.0.1', () => probe.close(() => resolvePort(true)));
  });
}

function relative(path: string): string {
  return path.startsWith(`${root}/`) ? path.slice(root.length + 1) : path;
}

let stopping = false;
async function stopAll(code: number) {
  if (stopping) return;
  stopping = true;
  step('stopping');
  for (const { name, stop } of stops.reverse()) {
    await Promise.resolve(stop()).catch((error: unknown) => step(`${name} did not stop cleanly: ${String(error)}`));
  }
  step(code === 0 ? 'stopped; the data is kept for the next start' : 'stopped');
  process.exit(code);
}
process.on('SIGINT', () => void stopAll(0));
process.on('SIGTERM', () => void stopAll(0));
main().catch((error: unknown) => {
  process.stderr.write(`\u001b[31m[sandbox] ${error instanceof Error ? error.message : String(error)}\u001b[0m\n`);
  void stopAll(1);
});
