// Test harness of token-introspection: the service composed exactly as main.ts composes it, on
// real Redis, with its HTTP listener and gRPC server on port 0, and REAL in-test gRPC servers
// standing in for its peers (dcr-service's clients.v1.ClientRegistry and consent-service's
// consents.v1.Consents GetConsentStatus) over real connections, until those services' own gRPC
// servers are wired in. Not a mock of a transport: the service's gRPC clients, deadlines, retries
// and error translation all run for real.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clientsV1, consentsV1, introspectionV1 } from '@obip/contracts';
import { loadSettings } from '@obip/config';
import { NotFoundError, DomainError } from '@obip/errors';
import { createGrpcClient, createGrpcServer, type GrpcClient, type GrpcServer } from '@obip/grpc';
import { createLogger, createMetrics } from '@obip/observability';
import { closeRedis, createRedis, type RedisClient } from '@obip/redis';
import { createTokenStore, type TokenRecord, type TokenStore } from '@obip/token-store';
import { testRedisPrefix, testRedisUrl, type SigningKey } from '@obip/testing';
import { composeTokenIntrospection, type TokenIntrospectionComponents } from '../compose';
import { settingsShape } from '../config';

export const ISSUER = 'https://as.bank.test';
export const INTROSPECTION_ENDPOINT = 'https://mtls.bank.test/introspect';
export const NGINX_HEADERS = (certPem: string) => ({
  'ssl-client-cert': encodeURIComponent(certPem),
  'ssl-client-verify': 'SUCCESS',
});

const logger = createLogger({ service: 'token-introspection-test', level: 'silent' });

// ---- the peers ----

type ConsentStatusName = keyof typeof consentsV1.ConsentStatus;

/** The in-test stand-in for dcr-service and consent-service: one real gRPC server. */
export interface Peers {
  target: string;
  clients: Map<string, clientsV1.Client>;
  consents: Map<string, { status: consentsV1.ConsentStatus; clientId: string; expiresAt: number }>;
  /** How many GetConsentStatus calls arrived. */
  consentCalls(): number;
  setConsent(consentId: string, status: ConsentStatusName, clientId: string, expiresAt?: number): void;
  registerClient(client: Partial<clientsV1.Client> & { clientId: string; metadata: Record<string, unknown> }): void;
  stop(): Promise<void>;
}

const unimplemented = () => {
  throw new DomainError({ code: 'unimplemented', kind: 'internal', description: 'not part of the stand-in' });
};

export async function startPeers(): Promise<Peers> {
  const server: GrpcServer = createGrpcServer({ serviceName: 'peers-stand-in', logger });
  const clients = new Map<string, clientsV1.Client>();
  const consents: Peers['consents'] = new Map();
  let consentCalls = 0;
  server.addService(clientsV1.ClientRegistryService, {
    getClient: async ({ clientId }) => {
      const client = clients.get(clientId);
      if (!client) throw new NotFoundError('no client has this id', { code: 'client_not_found' });
      return { client };
    },
    listClients: unimplemented,
    setClientStatus: unimplemented,
    createClient: unimplemented,
  });
  server.addService(consentsV1.ConsentsService, {
    getConsentStatus: async ({ consentId }) => {
      consentCalls += 1;
      const consent = consents.get(consentId);
      if (!consent) throw new NotFoundError('no consent has this id', { code: 'consent_not_found' });
      return consent;
    },
    getConsent: unimplemented,
    authorizeConsent: unimplemented,
    rejectConsent: unimplemented,
    consumeConsent: unimplemented,
    revokeConsent: unimplemented,
    listConsents: unimplemented,
    verifyCustomerCredentials: unimplemented,
    listCustomerAccounts: unimplemented,
    createGenericConsent: unimplemented,
    findCustomer: unimplemented,
    startAuthentication: unimplemented,
    listPendingAuthentications: unimplemented,
    decideAuthentication: unimplemented,
    getVerifiedIdentity: unimplemented,
  });
  const port = await server.listen('127.0.0.1', 0);
  return {
    target: `ipv4:///127.0.0.1:${port}`,
    clients,
    consents,
    consentCalls: () => consentCalls,
    setConsent(consentId, status, clientId, expiresAt = 0) {
      consents.set(consentId, { status: consentsV1.ConsentStatus[status], clientId, expiresAt });
    },
    registerClient({ metadata, ...client }) {
      clients.set(client.clientId, {
        status: clientsV1.ClientStatus.CLIENT_STATUS_ACTIVE,
        softwareId: '',
        orgId: '',
        jwksJson: '',
        tlsClientAuthSubjectDn: '',
        fapiProfile: clientsV1.FapiProfile.FAPI_PROFILE_UNSPECIFIED,
        createdAt: 0,
        updatedAt: 0,
        statusReason: '',
        ...client,
        metadataJson: JSON.stringify({ ...metadata, client_id: client.clientId }),
      });
    },
    stop: () => server.shutdown(0),
  };
}

// ---- the service ----

export interface Harness {
  url: string;
  grpcTarget: string;
  introspection: GrpcClient<typeof introspectionV1.IntrospectionService>;
  store: TokenStore;
  redis: RedisClient;
  components: TokenIntrospectionComponents;
  metricsText(): Promise<string>;
  /** Saves a token as auth-server does, with the record's defaults overridden. */
  issue(overrides?: Partial<TokenRecord>): Promise<{ token: string; record: TokenRecord }>;
  stop(): Promise<void>;
}

export interface HarnessOptions {
  peers: Peers;
  env?: Record<string, string>;
  /** Private JWKs for SIGNING_KEYS_FILE. */
  signingKeys?: SigningKey[];
  /** Points at consent-service elsewhere (e.g. a port nothing listens on). */
  consentsTarget?: string;
}

export async function startHarness(options: HarnessOptions): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'obip-introspection-'));
  let keysFile: string | undefined;
  if (options.signingKeys) {
    keysFile = join(dir, 'jwks.json');
    writeFileSync(keysFile, JSON.stringify({ keys: options.signingKeys.map((key) => key.privateJwk) }));
  }
  const prefix = `${testRedisPrefix()}${randomBytes(3).toString('hex')}:`;
  const settings = loadSettings('token-introspection', settingsShape, {
    REDIS_URL: testRedisUrl(),
    ISSUER,
    INTROSPECTION_ENDPOINT,
    CLIENT_REGISTRY_GRPC_TARGET: options.peers.target,
    CONSENTS_GRPC_TARGET: options.consentsTarget ?? options.peers.target,
    ALLOW_PRIVATE_JWKS_URIS: 'true',
    CLIENTS_CACHE_MS: '0',
    ...(keysFile ? { SIGNING_KEYS_FILE: keysFile } : {}),
    ...options.env,
  });
  const redis = createRedis({ url: testRedisUrl(), keyPrefix: prefix });
  const metrics = createMetrics({ service: 'token-introspection' });
  const components = await composeTokenIntrospection({ settings, logger, redis, metrics });
  const http: Server = createServer(components.http);
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const grpcServer = createGrpcServer({ serviceName: 'token-introspection', logger });
  grpcServer.addService(introspectionV1.IntrospectionService, components.grpcHandlers);
  const grpcPort = await grpcServer.listen('127.0.0.1', 0);
  const grpcTarget = `ipv4:///127.0.0.1:${grpcPort}`;
  const introspection = createGrpcClient(introspectionV1.IntrospectionClient, { target: grpcTarget });
  const store = createTokenStore(redis, { revocationMemorySeconds: 3600 });
  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`,
    grpcTarget,
    introspection,
    store,
    redis,
    components,
    metricsText: () => metrics.registry.metrics(),
    async issue(overrides = {}) {
      const token = randomBytes(32).toString('base64url');
      const record = tokenRecord(overrides);
      const outcome = await store.save(token, record);
      if (outcome !== 'saved') throw new Error(`token not saved: ${outcome}`);
      return { token, record };
    },
    async stop() {
      introspection.close();
      await components.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
      await grpcServer.shutdown(0);
      await closeRedis(redis);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** A record as auth-server writes it for an authorization_code access token; override per case. */
export function tokenRecord(overrides: Partial<TokenRecord> = {}): TokenRecord {
  const now = nowSeconds();
  return {
    v: 1,
    tokenType: 'access_token',
    grantType: 'authorization_code',
    clientId: 'tpp-client',
    subject: 'customer-1',
    scope: 'openid accounts',
    issuer: ISSUER,
    audience: ['https://api.bank.test'],
    issuedAt: now - 10,
    expiresAt: now + 300,
    grantId: `grant-${randomBytes(4).toString('hex')}`,
    ...overrides,
  };
}

/** POSTs a form to /introspect. */
export async function postIntrospect(
  url: string,
  form: Record<string, string | string[]>,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; text: string; json: () => Record<string, unknown> }> {
  const body = new URLSearchParams();
  for (const [name, value] of Object.entries(form)) {
    for (const entry of Array.isArray(value) ? value : [value]) body.append(name, entry);
  }
  const response = await fetch(`${url}/introspect`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body,
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, json: () => JSON.parse(text) };
}
