// Test harness (tests only): auth-server built in-process on real Redis and MongoDB, behind the
// real nginx ingress twin, with two test doubles of peer services that are not served yet:
// dcr-service's ClientRegistry as a real gRPC server, and consent-service behind the
// ConsentDirectory port.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { Agent, fetch as undiciFetch } from 'undici';
import * as oidc from 'openid-client';
import type { Connection } from 'mongoose';
import { loadSettings } from '@obip/config';
import { clientsV1, tokensV1 } from '@obip/contracts';
import { NotFoundError } from '@obip/errors';
import { certificateThumbprintS256 } from '@obip/fapi';
import { createGrpcClient, createGrpcServer, type GrpcClient, type GrpcServer } from '@obip/grpc';
import { closeMongo, connectMongo } from '@obip/mongo';
import { createLogger, type Logger, type ServiceMetrics } from '@obip/observability';
import { closeRedis, createRedis, type RedisClient } from '@obip/redis';
import { createTokenStore, type TokenStore } from '@obip/token-store';
import {
  createFormBrowser,
  createTestPki,
  dropTestDatabase,
  freePort,
  generateSigningKey,
  startIngressTwin,
  testMongoUrl,
  testRedisPrefix,
  testRedisUrl,
  type IngressTwin,
  type IssuedCertificate,
  type SigningKey,
  type TestPki,
  type FormBrowser,
} from '@obip/testing';
import { createAuthServer, type AuthServer } from '../auth-server.app';
import { settingsShape } from '../config';
import type { VerifiedClaims } from '../ekyc/ekyc.rules';
import type {
  ConsentDirectory,
  ConsentRequest,
  DecoupledAuthenticationRequest,
} from '../interactions/interactions.ports';

export const REDIRECT_URI = 'https://tpp.example/callback';
export const CUSTOMER = { username: 'alice', password: 'correct horse', customerId: 'customer-alice' };

/**
 * What the bank verified about the demo customer (OIDC4IDA): a recent passport check under
 * uk_tfida and an old electronic-record check under eidas.
 */
export const CUSTOMER_VERIFIED_IDENTITY: VerifiedClaims[] = [
  {
    verification: {
      trust_framework: 'uk_tfida',
      assurance_level: 'medium',
      time: '2025-06-03T09:41:00Z',
      verification_process: 'onboarding-2025-06-03-0042',
      evidence: [
        {
          type: 'document',
          check_details: [{ check_method: 'vpip' }],
          time: '2025-06-03T09:30:00Z',
          document_details: {
            type: 'passport',
            document_number: '5678901234',
            issuer: { name: 'HM Passport Office', country_code: 'GBR' },
            date_of_issuance: '2021-02-01',
            date_of_expiry: '2031-02-01',
          },
        },
      ],
    },
    claims: {
      given_name: 'Alice',
      family_name: 'Example',
      birthdate: '1990-05-12',
      address: { locality: 'Leeds', postal_code: 'LS1 4AP', country: 'United Kingdom' },
    },
  },
  {
    verification: {
      trust_framework: 'eidas',
      assurance_level: 'substantial',
      time: '2016-02-11T10:00:00Z',
      evidence: [
        {
          type: 'electronic_record',
          check_details: [{ check_method: 'data' }],
          time: '2016-02-11T10:00:00Z',
          record: { type: 'population_register', source: { name: 'Register Office', country_code: 'NLD' } },
        },
      ],
    },
    claims: { given_name: 'Alice', family_name: 'Example', nationalities: ['GBR'] },
  },
];

/** A registered TPP client, as dcr-service would serve it. */
export interface TestTpp {
  clientId: string;
  certificate: IssuedCertificate;
  thumbprint: string;
  signingKey: SigningKey;
}

/**
 * The in-test stand-in for consent-service: one demo customer, decisions and decoupled
 * authentication requests recorded in memory.
 */
export function createTestConsentDirectory(): ConsentDirectory & {
  decisions: Array<ConsentRequest & { approved: boolean }>;
  authentications: DecoupledAuthenticationRequest[];
} {
  const decisions: Array<ConsentRequest & { approved: boolean }> = [];
  const authentications: DecoupledAuthenticationRequest[] = [];
  let next = 0;
  return {
    decisions,
    authentications,
    async checkIntent() {
      // The flow tests' intents are not checked here; interactions.grpc.test.ts and the e2e
      // suite check them against the real consent-service.
    },
    async verifyCustomer(username, password) {
      return username === CUSTOMER.username && password === CUSTOMER.password
        ? { customerId: CUSTOMER.customerId, acr: 'urn:openbanking:psd2:sca', amr: ['pwd'] }
        : undefined;
    },
    async listAccounts() {
      return [
        { accountId: 'acc-1', displayName: 'Current account ••1234' },
        { accountId: 'acc-2', displayName: 'Savings ••9876' },
      ];
    },
    async approve(request) {
      decisions.push({ ...request, approved: true });
      const consentId = request.intentId ?? `consent-${++next}`;
      return { consentId, ...(request.intentId ? { openbankingIntentId: request.intentId } : {}) };
    },
    async reject(request) {
      decisions.push({ ...request, approved: false });
    },
    async findCustomer(loginHint) {
      return loginHint === CUSTOMER.username || loginHint === CUSTOMER.customerId ? CUSTOMER.customerId : undefined;
    },
    async startAuthentication(request) {
      authentications.push(request);
    },
    async verifiedIdentity(customerId) {
      return customerId === CUSTOMER.customerId ? structuredClone(CUSTOMER_VERIFIED_IDENTITY) : [];
    },
  };
}

export interface Harness {
  pki: TestPki;
  twin: IngressTwin;
  server: AuthServer;
  redis: RedisClient;
  tokenStore: TokenStore;
  directory: ReturnType<typeof createTestConsentDirectory>;
  registry: { clients: Map<string, clientsV1.Client>; calls: number };
  tokens: GrpcClient<typeof tokensV1.TokensClient.service>;
  issuer: string;
  mtlsBaseUrl: string;
  /** Registers a TPP at the ClientRegistry double and returns its credentials. */
  registerTpp(options: {
    profile: clientsV1.FapiProfile;
    authMethod?: 'private_key_jwt' | 'tls_client_auth';
    metadata?: Record<string, unknown>;
  }): Promise<TestTpp>;
  /** An openid-client Configuration for a TPP: discovery over the public host, mTLS to the mTLS host. */
  relyingParty(
    tpp: TestTpp,
    options?: { certificate?: IssuedCertificate; clientAuth?: oidc.ClientAuth },
  ): Promise<oidc.Configuration>;
  /** A browser: follows the public host's redirects with a cookie jar, posting forms. */
  browser(): Browser;
  close(): Promise<void>;
}

/** The customer's browser: `@obip/testing`'s form browser on the public host. */
export type Browser = FormBrowser;

export interface HarnessOptions {
  /**
   * Settings beyond the harness's own (e.g. CONFIG_GRPC_TARGET, SIGNING_KEYS_FILE); a function
   * gets the hosts and the test PKI first, for values that name them.
   */
  env?:
    | Record<string, string>
    | ((hosts: {
        issuer: string;
        mtlsBaseUrl: string;
        pki: TestPki;
      }) => Record<string, string> | Promise<Record<string, string>>);
  /** Where auth-server logs; silent by default. */
  logger?: Logger;
  /** Where auth-server records its metrics; none by default. */
  metrics?: ServiceMetrics;
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const pki = await createTestPki();
  const devKeysDir = mkdtempSync(join(tmpdir(), 'obip-auth-keys-'));
  const [publicPort, mtlsPort] = [await freePort(), await freePort()];
  const issuer = `https://127.0.0.1:${publicPort}`;
  const mtlsBaseUrl = `https://127.0.0.1:${mtlsPort}`;
  const logger = options.logger ?? createLogger({ service: 'auth-server-test', level: 'silent' });

  // dcr-service's ClientRegistry, as a real gRPC server (a test double of a peer service).
  const registry = { clients: new Map<string, clientsV1.Client>(), calls: 0 };
  const registryServer: GrpcServer = createGrpcServer({ serviceName: 'dcr-service-double', logger });
  registryServer.addService(clientsV1.ClientRegistryService, {
    async getClient({ clientId }) {
      registry.calls += 1;
      const client = registry.clients.get(clientId);
      if (!client) throw new NotFoundError('no such client', { code: 'client_not_found' });
      return { client };
    },
    async listClients() {
      return { clients: [...registry.clients.values()], nextPageToken: '' };
    },
    async setClientStatus({ clientId }) {
      return { client: registry.clients.get(clientId) };
    },
    async createClient() {
      throw new Error('the ClientRegistry double does not onboard clients');
    },
  });
  const registryPort = await registryServer.listen('127.0.0.1', 0);

  const settings = loadSettings('auth-server', settingsShape, {
    ISSUER: issuer,
    MTLS_BASE_URL: mtlsBaseUrl,
    REDIS_URL: testRedisUrl(),
    REDIS_KEY_PREFIX: testRedisPrefix(),
    MONGO_URL: testMongoUrl(),
    CLIENT_REGISTRY_GRPC_TARGET: `127.0.0.1:${registryPort}`,
    CLIENT_CACHE_TTL_MS: '0',
    DEV_KEYS_DIR: devKeysDir,
    LOG_LEVEL: 'silent',
    ...(typeof options.env === 'function' ? await options.env({ issuer, mtlsBaseUrl, pki }) : options.env),
  });
  const redis = createRedis({ url: testRedisUrl(), keyPrefix: testRedisPrefix() });
  const mongo: Connection = await connectMongo({
    url: testMongoUrl(),
    serverSelectionTimeoutMS: 5000,
    connectDeadlineMs: 10_000,
  });
  const grpcServer = createGrpcServer({ serviceName: 'auth-server', logger });
  const directory = createTestConsentDirectory();
  const server = await createAuthServer({
    settings,
    logger,
    ...(options.metrics ? { metrics: options.metrics } : {}),
    redis,
    mongo,
    directory,
    grpcServer,
  });
  const grpcPort = await grpcServer.listen('127.0.0.1', 0);
  grpcServer.health.setServing('', true);

  const http: Server = createServer(server.app);
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const upstream = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  const twin = await startIngressTwin({
    pki,
    upstreams: { 'auth-server': upstream },
    ports: { public: publicPort, mtls: mtlsPort },
  });
  const tokens = createGrpcClient(tokensV1.TokensClient, { target: `127.0.0.1:${grpcPort}` });
  const publicAgent = new Agent({ connect: { ca: pki.caBundlePem } });

  let nextClient = 0;
  return {
    pki,
    twin,
    server,
    redis,
    tokenStore: createTokenStore(redis, { revocationMemorySeconds: 3600 }),
    directory,
    registry,
    tokens,
    issuer,
    mtlsBaseUrl,

    async registerTpp({ profile, authMethod = 'private_key_jwt', metadata = {} }) {
      const clientId = `tpp-${process.pid}-${++nextClient}`;
      const certificate = await pki.issueTppCertificate({ orgId: '0015800001041REAAY', softwareId: clientId });
      const signingKey = await generateSigningKey('PS256');
      const subjectDn = new X509Certificate(certificate.certPem).subject.split('\n').reverse().join(',');
      registry.clients.set(clientId, {
        clientId,
        status: clientsV1.ClientStatus.CLIENT_STATUS_ACTIVE,
        softwareId: clientId,
        orgId: '0015800001041REAAY',
        metadataJson: JSON.stringify({
          client_name: `TPP ${clientId}`,
          redirect_uris: [REDIRECT_URI],
          grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
          response_types: ['code'],
          scope: 'openid accounts payments',
          token_endpoint_auth_method: authMethod,
          ...(authMethod === 'private_key_jwt' ? { token_endpoint_auth_signing_alg: 'PS256' } : {}),
          id_token_signed_response_alg: 'PS256',
          ...metadata,
        }),
        jwksJson: JSON.stringify({ keys: [signingKey.publicJwk] }),
        tlsClientAuthSubjectDn: authMethod === 'tls_client_auth' ? subjectDn : '',
        fapiProfile: profile,
        createdAt: Math.floor(Date.now() / 1000),
        updatedAt: Math.floor(Date.now() / 1000),
        statusReason: '',
      });
      return {
        clientId,
        certificate,
        thumbprint: certificateThumbprintS256(new X509Certificate(certificate.certPem)),
        signingKey,
      };
    },

    async relyingParty(tpp, options = {}) {
      const certificate = options.certificate ?? tpp.certificate;
      const mtlsAgent = new Agent({
        connect: { ca: pki.caBundlePem, cert: certificate.chainPem, key: certificate.keyPem },
      });
      const tlsFetch: oidc.CustomFetch = (url, init) =>
        undiciFetch(url, {
          ...init,
          dispatcher: url.startsWith(mtlsBaseUrl) ? mtlsAgent : publicAgent,
        }) as unknown as Promise<Response>;
      const key = await crypto.subtle.importKey(
        'jwk',
        tpp.signingKey.privateJwk,
        { name: 'RSA-PSS', hash: 'SHA-256' },
        false,
        ['sign'],
      );
      const clientAuth =
        options.clientAuth ?? oidc.PrivateKeyJwt({ key, kid: tpp.signingKey.kid } as unknown as oidc.PrivateKey);
      const config = await oidc.discovery(
        new URL(issuer),
        tpp.clientId,
        { use_mtls_endpoint_aliases: true },
        clientAuth,
        {
          [oidc.customFetch]: tlsFetch,
        },
      );
      config[oidc.customFetch] = tlsFetch;
      return config;
    },

    browser() {
      return createFormBrowser(issuer, publicAgent);
    },

    async close() {
      tokens.close();
      await server.close();
      await twin.stop();
      await new Promise<void>((resolve) => http.close(() => resolve()));
      await grpcServer.shutdown(1000);
      await registryServer.shutdown(1000);
      await closeRedis(redis);
      await closeMongo(mongo);
      await dropTestDatabase(testMongoUrl());
      rmSync(devKeysDir, { recursive: true, force: true });
      await publicAgent.close();
    },
  };
}

/**
 * Drives login and consent through the real pages with form posts (stable form contract:
 * username, password, accounts, decision) and returns the redirect back to the TPP.
 */
export async function loginAndConsent(
  browser: Browser,
  authorizationUrl: URL,
  decision: 'approve' | 'deny' = 'approve',
  /** Sees the consent page's HTML before the decision is posted. */
  inspectConsentPage?: (html: string) => void,
): Promise<URL> {
  const loginPage = await browser.follow(await browser.get(authorizationUrl.href));
  const loginAction = new URL(/action="([^"]+)"/.exec(loginPage.body)?.[1] ?? '', loginPage.url).href;
  const consentPage = await browser.follow(
    await browser.post(loginAction, new URLSearchParams({ username: CUSTOMER.username, password: CUSTOMER.password })),
  );
  inspectConsentPage?.(consentPage.body);
  const consentAction = new URL(/action="([^"]+)"/.exec(consentPage.body)?.[1] ?? '', consentPage.url).href;
  const form = new URLSearchParams([
    ['accounts', 'acc-1'],
    ['accounts', 'acc-2'],
    ['decision', decision],
  ]);
  const back = await browser.follow(await browser.post(consentAction, form));
  if (!back.location) throw new Error(`no redirect back to the TPP (status ${back.status})`);
  return new URL(back.location);
}
