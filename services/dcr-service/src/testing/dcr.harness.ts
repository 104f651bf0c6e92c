// Test harness of dcr-service: the real service graph (compose.ts) on real Redis and MongoDB,
// a mock OB directory, a test PKI, and a real tokens.v1 gRPC server standing in for
// auth-server. Used by the test files beside the code; never by production code.
import { X509Certificate } from 'node:crypto';
import { getCACertificates, setDefaultCACertificates } from 'node:tls';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSettings } from '@obip/config';
import { clientsV1, tokensV1 } from '@obip/contracts';
import { certificateThumbprintS256, subjectDnOf } from '@obip/fapi';
import { createGrpcClient, createGrpcServer, type GrpcClient, type GrpcServer } from '@obip/grpc';
import { closeMongo, connectMongo } from '@obip/mongo';
import { createLogger } from '@obip/observability';
import { closeRedis, createRedis, type RedisClient } from '@obip/redis';
import {
  createTestDirectory,
  createTestPki,
  dropTestDatabase,
  testMongoUrl,
  testRedisPrefix,
  testRedisUrl,
  type TestDirectory,
  type TestPki,
  type TestSoftware,
} from '@obip/testing';
import type { Connection } from 'mongoose';
import { composeDcrService, type DcrComponents } from '../compose';
import { settingsShape, type DcrSettings } from '../config';
import type { PresentedCertificate } from '../registration/registration.rules';

export const BANK_AUDIENCE = '0015800001HQQrZAAX';

export interface RevokeCall {
  clientId: string;
  reason: string;
}

export interface DcrHarness {
  settings: DcrSettings;
  pki: TestPki;
  directory: TestDirectory;
  redis: RedisClient;
  mongo: Connection;
  dcr: DcrComponents;
  /** `http://127.0.0.1:<port>`: the service's HTTP port, as the edge reaches it. */
  url: string;
  /** What the in-test auth-server tokens.v1 server received. */
  revokeCalls: RevokeCall[];
  /** A fresh software with a transport certificate and its certificate as the edge forwards it. */
  newSoftware(options?: Parameters<TestDirectory['registerSoftware']>[0]): Promise<TestSoftware>;
  /** The certificate as `req.clientCertificate` would carry it. */
  presented(software: TestSoftware): PresentedCertificate;
  /** The ingress-nginx headers carrying the software's transport certificate. */
  certificateHeaders(software: TestSoftware): Record<string, string>;
  /** A signed registration request for `software` with a fresh SSA. */
  request(
    software: TestSoftware,
    options?: { claims?: Record<string, unknown>; ssaClaims?: Record<string, unknown> },
  ): string;
  stop(): Promise<void>;
}

export interface DcrHarnessOptions {
  /** Distinguishes the test file's database and Redis prefix. */
  name?: string;
  /** Overrides of the settings the harness sets (trusted directory, audience, loopback JWKS allowed, CA file). */
  env?: Record<string, string>;
  /**
   * Serve the directory's and the software key sets over https, as config-api requires of a
   * published directory's jwksUri. The test PKI's root is then trusted by this process (each test
   * file runs in its own), as the cluster trusts a public CA.
   */
  httpsDirectory?: boolean;
}

/** Starts dcr-service's graph for one test file. */
export async function startDcrHarness(options: DcrHarnessOptions = {}): Promise<DcrHarness> {
  const name = options.name ?? 'dcr';
  const pki = await createTestPki();
  if (options.httpsDirectory) setDefaultCACertificates([...getCACertificates('default'), pki.root.certPem]);
  const directory = await createTestDirectory({ pki, https: options.httpsDirectory ?? false });
  const revokeCalls: RevokeCall[] = [];
  const tokens: GrpcServer = createGrpcServer({
    serviceName: 'auth-server-twin',
    logger: createLogger({ service: 'test', level: 'silent' }),
  });
  tokens.addService(tokensV1.TokensService, {
    revokeByConsent: () => ({ revokedCount: 0 }),
    revokeByClient: (request) => {
      revokeCalls.push({ clientId: request.clientId, reason: request.reason });
      return { revokedCount: 1 };
    },
    revokeGrant: () => ({ revokedCount: 0 }),
    completeAuthentication: () => ({}),
  });
  const tokensPort = await tokens.listen('127.0.0.1', 0);
  tokens.health.setServing('', true);

  const dir = mkdtempSync(join(tmpdir(), 'dcr-test-'));
  const caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, pki.caBundlePem);
  const mongoUrl = testMongoUrl(name);
  const settings = loadSettings('dcr-service', settingsShape, {
    REDIS_URL: testRedisUrl(),
    MONGO_URL: mongoUrl,
    DCR_TRUSTED_DIRECTORIES: JSON.stringify([directory.trustEntry]),
    DCR_ACCEPTED_AUDIENCES: BANK_AUDIENCE,
    DCR_ALLOW_PRIVATE_JWKS_URIS: 'true',
    DCR_TRUSTED_CA_FILE: caFile,
    TOKENS_GRPC_TARGET: `ipv4:///127.0.0.1:${tokensPort}`,
    DCR_REVOCATION_POLL_MS: '100',
    DCR_JWKS_REFRESH_COOLDOWN_MS: '0',
    DCR_REGISTRATION_BASE_URL: 'https://mtls.bank.example/register',
    ...options.env,
  });
  const logger = createLogger({ service: 'dcr-service', level: 'silent' });
  const redis = createRedis({ url: testRedisUrl(), keyPrefix: testRedisPrefix(name) });
  const mongo = await connectMongo({ url: mongoUrl, serverSelectionTimeoutMS: 5_000 });
  const dcr = await composeDcrService({ settings, logger, redis, mongo });
  dcr.revocations.start();
  const server: Server = createServer(dcr.app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const presented = (software: TestSoftware): PresentedCertificate => {
    if (!software.transport) throw new Error('the software has no transport certificate');
    const certificate = new X509Certificate(software.transport.certPem);
    return { certificate, subjectDn: subjectDnOf(certificate), thumbprintS256: certificateThumbprintS256(certificate) };
  };

  return {
    settings,
    pki,
    directory,
    redis,
    mongo,
    dcr,
    url,
    revokeCalls,
    newSoftware: (softwareOptions) => directory.registerSoftware(softwareOptions),
    presented,
    certificateHeaders(software) {
      if (!software.transport) throw new Error('the software has no transport certificate');
      return { 'ssl-client-cert': encodeURIComponent(software.transport.certPem), 'ssl-client-verify': 'SUCCESS' };
    },
    request(software, requestOptions = {}) {
      const ssa = directory.issueSsa(software, { claims: requestOptions.ssaClaims });
      return directory.mintRegistrationRequest(software, { ssa, aud: BANK_AUDIENCE, claims: requestOptions.claims });
    },
    async stop() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await dcr.close();
      await tokens.shutdown(500);
      await directory.stop();
      await closeRedis(redis);
      await closeMongo(mongo);
      await dropTestDatabase(mongoUrl);
    },
  };
}

/**
 * Test deadline of the ClientRegistry calls: production's 2 s holds on a quiet machine, but a
 * first MongoDB write on a loaded CI machine has taken longer. Deadlines are not under test here.
 */
const REGISTRY_TEST_DEADLINE_MS = 15_000;

export interface ServedClientRegistry {
  client: GrpcClient<typeof clientsV1.ClientRegistryService>;
  stop(): Promise<void>;
}

/** The harness's ClientRegistry served over gRPC on a free loopback port, and a client of it. */
export async function serveClientRegistry(h: DcrHarness): Promise<ServedClientRegistry> {
  const server = createGrpcServer({
    serviceName: 'dcr-service',
    logger: createLogger({ service: 'test', level: 'silent' }),
  });
  server.addService(clientsV1.ClientRegistryService, h.dcr.clientRegistry);
  const port = await server.listen('127.0.0.1', 0);
  const client = createGrpcClient(clientsV1.ClientRegistryClient, {
    target: `ipv4:///127.0.0.1:${port}`,
    defaultDeadlineMs: REGISTRY_TEST_DEADLINE_MS,
  });
  return {
    client,
    async stop() {
      client.close();
      await server.shutdown(100);
    },
  };
}
