// `npm run sandbox`: the platform on one machine — Redis, the MongoDB-compatible server, the five
// services, the nginx edge twin (public and mTLS hosts on loopback HTTPS, certificates from a
// sandbox CA generated at start) and the mock regulatory directory that dcr-service trusts.
// Ctrl-C stops everything. Issue 10 adds the demo bank and the demo TPP.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startDirectoryApp } from '../e2e/src/sandbox/directory-app';
import {
  createTestPki,
  startIngressTwin,
  startAdminTokenIssuer,
  startMongoServer,
  startRedisServer,
  startServiceProcess,
  type ServiceProcess,
} from '@obip/testing';

const root = resolve(import.meta.dirname, '..');
const stateDir = join(root, '.sandbox');
mkdirSync(stateDir, { recursive: true });

const services = [
  { name: 'auth-server', http: 8081, grpc: 50051, ops: 9091, database: 'obip_auth' },
  { name: 'dcr-service', http: 8082, grpc: 50052, ops: 9092, database: 'obip_dcr' },
  { name: 'consent-service', http: 8083, grpc: 50053, ops: 9093, database: 'obip_consent' },
  { name: 'token-introspection', http: 8084, grpc: 50054, ops: 9094, database: undefined },
  { name: 'config-api', http: 8085, grpc: 50055, ops: 9095, database: 'obip_config' },
] as const;

const serviceNamed = (name: (typeof services)[number]['name']) => services.find((service) => service.name === name)!;

/** The bank's identifier that registration requests carry as `aud`. */
const BANK_ID = 'obip-sandbox-bank';
const publicPort = Number(process.env.OBIP_SANDBOX_PUBLIC_PORT ?? 8443);
const mtlsPort = Number(process.env.OBIP_SANDBOX_MTLS_PORT ?? 9443);
const directoryPort = Number(process.env.OBIP_SANDBOX_DIRECTORY_PORT ?? 8090);

const step = (text: string) => process.stdout.write(`\u001b[1m[sandbox]\u001b[0m ${text}\n`);
const stops: Array<() => Promise<unknown> | void> = [];

async function main() {
  step('starting Redis');
  const redis = await startRedisServer({ logDir: stateDir });
  stops.push(() => redis.dispose());

  step('starting the MongoDB-compatible server');
  const mongo = await startMongoServer({ logDir: stateDir });
  stops.push(() => mongo.stop());

  step('generating the sandbox CA and starting the mock directory');
  const pki = await createTestPki({ name: 'obip Sandbox' });
  const caPath = join(stateDir, 'sandbox-ca.pem');
  writeFileSync(caPath, pki.caBundlePem);
  const directory = await startDirectoryApp({ pki, port: directoryPort }).catch((error: unknown) => {
    throw new Error(
      `the mock directory did not start (is port ${directoryPort} in use? set OBIP_SANDBOX_DIRECTORY_PORT)\n${String(error)}`,
    );
  });
  stops.push(() => directory.stop());
  const sandboxSettings: Record<string, Record<string, string>> = {
    'dcr-service': {
      DCR_TRUSTED_DIRECTORIES: JSON.stringify([directory.directory.trustEntry]),
      DCR_TRUSTED_CA_FILE: caPath,
      DCR_ACCEPTED_AUDIENCES: BANK_ID,
      // The sandbox directory serves its key sets on loopback, which production refuses (SSRF).
      DCR_ALLOW_PRIVATE_JWKS_URIS: 'true',
      DCR_REGISTRATION_BASE_URL: `https://127.0.0.1:${mtlsPort}/register`,
      // The customer portal's redirect URI is on the public host, here a loopback address.
      DCR_ALLOW_LOOPBACK_REDIRECT_URIS: 'true',
    },
    'auth-server': {
      ISSUER: `https://127.0.0.1:${publicPort}`,
      MTLS_BASE_URL: `https://127.0.0.1:${mtlsPort}`,
      DEV_KEYS_DIR: join(stateDir, 'keys'),
      // CIBA pings to demo TPPs on this machine, with certificates of the sandbox CA.
      CIBA_PING_ALLOW_PRIVATE: 'true',
      CIBA_PING_CA_FILE: caPath,
    },
    'consent-service': {
      // The customer portal at <public host>/portal; it signs in at auth-server and registers
      // itself at dcr-service (in-cluster addresses: the ports below).
      PORTAL_PUBLIC_URL: `https://127.0.0.1:${publicPort}`,
      AUTH_SERVER_URL: `http://127.0.0.1:${serviceNamed('auth-server').http}`,
      CLIENT_REGISTRY_GRPC_TARGET: `127.0.0.1:${serviceNamed('dcr-service').grpc}`,
      DEV_KEYS_DIR: join(stateDir, 'keys'),
      // Tests and demos approve CIBA requests without a browser (docs/portal.md).
      SANDBOX_DEVICE_API: 'true',
    },
    'token-introspection': {
      ISSUER: `https://127.0.0.1:${publicPort}`,
      INTROSPECTION_ENDPOINT: `https://127.0.0.1:${mtlsPort}/introspect`,
      ALLOW_PRIVATE_JWKS_URIS: 'true',
    },
  };

  step('starting the nginx edge twin');
  const twin = await startIngressTwin({
    pki,
    upstreams: Object.fromEntries(services.map((service) => [service.name, `http://127.0.0.1:${service.http}`])),
    logDir: stateDir,
    // config-api rewrites its client CA bundle and reloads it when an admin changes trust anchors.
    reloadable: true,
    ports: {
      public: Number(process.env.OBIP_SANDBOX_PUBLIC_PORT ?? 8443),
      mtls: Number(process.env.OBIP_SANDBOX_MTLS_PORT ?? 9443),
    },
  }).catch((error: unknown) => {
    throw new Error(
      `the edge twin did not start (is port 8443 or 9443 in use? set OBIP_SANDBOX_PUBLIC_PORT / OBIP_SANDBOX_MTLS_PORT)\n${String(error)}`,
    );
  });
  stops.push(() => twin.stop());

  step('minting a sandbox admin token for config-api');
  const admin = await startAdminIssuer(stateDir);
  stops.push(() => admin.stop());

  const configTarget = `127.0.0.1:${services.find((service) => service.name === 'config-api')!.grpc}`;
  const subscribe = (name: string) => ({
    CONFIG_GRPC_TARGET: configTarget,
    CONFIG_CACHE_FILE: join(stateDir, `${name}-platform-config.json`),
  });
  Object.assign(sandboxSettings['auth-server']!, subscribe('auth-server'));
  sandboxSettings['config-api'] = {
    PLATFORM_ISSUER: `https://127.0.0.1:${publicPort}`,
    ADMIN_TOKEN_ISSUERS: JSON.stringify([{ issuer: admin.issuer, jwksUri: admin.jwksUri }]),
    DEV_KEYS_DIR: join(stateDir, 'keys'),
    K8S_SYNC: 'local',
    LOCAL_CA_BUNDLE_FILE: twin.clientCaBundleFile,
    LOCAL_RELOAD_COMMAND: JSON.stringify(twin.reloadCommand),
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
        ...sandboxSettings[service.name],
      },
    }).catch((error: unknown) => {
      throw new Error(
        `${service.name} did not start (is port ${service.http}, ${service.grpc} or ${service.ops} in use?)\n${String(error)}`,
      );
    });
    stops.push(async () => {
      child.child.kill('SIGTERM');
      await child.exited;
    });
    running.push({ name: service.name, process: child });
  }

  const endpoints = {
    issuer: `https://127.0.0.1:${publicPort}`,
    discoveryUrl: `https://127.0.0.1:${publicPort}/.well-known/openid-configuration`,
    directoryUrl: directory.url,
    registrationAudience: BANK_ID,
    publicBaseUrl: twin.publicUrl,
    mtlsBaseUrl: twin.mtlsUrl,
    portalUrl: `${twin.publicUrl}/portal`,
    cibaDeviceUrl: `http://127.0.0.1:${serviceNamed('consent-service').http}/sandbox/decoupled-authentications`,
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
  public host   ${twin.publicUrl}   (browsers; no client certificate)
  mTLS host     ${twin.mtlsUrl}   (TPPs; client certificate from the sandbox CA required)
  sandbox CA    ${caPath}   (trust it to avoid browser warnings)
  directory     ${directory.url}   (POST /tpps issues a software statement, certificate and key; aud of DCR requests: ${BANK_ID})
  customers     amelia.hart / Sandbox-Amelia-1, rahul.mehta / Sandbox-Rahul-2, grace.okafor / Sandbox-Grace-3
  portal        ${twin.publicUrl}/portal   (customers sign in, see the consents they gave and revoke them, approve CIBA requests)
  CIBA device   http://127.0.0.1:${serviceNamed('consent-service').http}/sandbox/decoupled-authentications?username=amelia.hart   (pending CIBA requests; POST …/<id>/decision approves, see docs/ciba.md)
${running.map(({ name, process }) => `  ${name.padEnd(20)} ops http://127.0.0.1:${process.ports.ops}/readyz   grpc 127.0.0.1:${process.ports.grpc}`).join('\n')}
  admin token   .sandbox/admin-token   (bearer token for config-api at http://127.0.0.1:8085, all obip:* scopes, 12 h)
  endpoints     .sandbox/endpoints.json

  Ctrl-C stops everything.`);
}

/**
 * The sandbox's stand-in for the bank's admin identity provider: an ES256 key whose JWKS
 * config-api trusts, and one RFC 9068 access token with every admin scope, written to
 * `.sandbox/admin-token` (mode 0600).
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

let stopping = false;
async function stopAll(code: number) {
  if (stopping) return;
  stopping = true;
  step('stopping');
  for (const stop of stops.reverse()) await Promise.resolve(stop()).catch(() => undefined);
  process.exit(code);
}
process.on('SIGINT', () => void stopAll(0));
process.on('SIGTERM', () => void stopAll(0));
main().catch((error: unknown) => {
  process.stderr.write(`\u001b[31m[sandbox] ${error instanceof Error ? error.message : String(error)}\u001b[0m\n`);
  void stopAll(1);
});
