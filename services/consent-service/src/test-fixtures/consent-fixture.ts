// Test support: the consent service assembled as main.ts assembles it, on the shared real
// MongoDB-compatible server and Redis, with an HTTP server on port 0. Not imported by main.ts.
import { randomBytes, X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import assert from 'node:assert/strict';
import type { Connection } from 'mongoose';
import { pino } from 'pino';
import { consentsV1 } from '@obip/contracts';
import { DomainError } from '@obip/errors';
import { certificateThumbprintS256 } from '@obip/fapi';
import { createGrpcClient, createGrpcServer, type GrpcClient } from '@obip/grpc';
import { createClientCertificateReader, createHttpApp, errorHandler, notFoundHandler } from '@obip/http';
import { closeMongo, connectMongo } from '@obip/mongo';
import { closeRedis, createRedis, type RedisClient } from '@obip/redis';
import {
  checkOpenApiResponse,
  dropTestDatabase,
  testMongoUrl,
  testRedisPrefix,
  testRedisUrl,
  type OpenApiDocument,
} from '@obip/testing';
import { createTokenStore, type TokenRecord, type TokenStore } from '@obip/token-store';
import { createMongoDecoupledAuthentications } from '../ciba/ciba.mongo';
import type { DecoupledAuthenticationRepository } from '../ciba/ciba.repository';
import { createDecoupledAuthenticationService, type DecoupledAuthenticationService } from '../ciba/ciba.service';
import { createConsentsGrpcHandlers } from '../consents/consents.grpc';
import { createMongoConsentRepository } from '../consents/consents.mongo';
import type { ConsentRepository } from '../consents/consents.repository';
import { createConsentService, type ConsentService } from '../consents/consents.service';
import type { CustomerDirectory } from '../customers/customers.directory';
import { loadSandboxCustomerDirectory } from '../customers/customers.sandbox';
import { createIntentsRouter } from '../intents/intents.http';
import { INTENTS_OPENAPI } from '../intents/intents.openapi';

export const silentLogger = pino({ level: 'silent' });

export interface ConsentFixture {
  mongo: Connection;
  mongoUrl: string;
  redis: RedisClient;
  repository: ConsentRepository;
  consents: ConsentService;
  customers: CustomerDirectory;
  /** Decoupled (CIBA) authentication requests, on the same clock and database. */
  authenticationRepository: DecoupledAuthenticationRepository;
  authentications: DecoupledAuthenticationService;
  tokens: TokenStore;
  /** `http://127.0.0.1:<port>` of the HTTP app (intent APIs and /openapi.json). */
  url: string;
  /** Moves the clock the service sees. */
  clock: { now: Date };
  close(): Promise<void>;
}

/** Starts the repository, service and HTTP app on a database and key prefix of their own. */
export async function startConsentFixture(
  name: string,
  options: {
    authorisationWindowSeconds?: number;
    idempotencyKeyTtlSeconds?: number;
    onCascadePending?: () => void;
    onDecisionRecorded?: () => void;
  } = {},
): Promise<ConsentFixture> {
  const mongoUrl = testMongoUrl(name);
  const mongo = await connectMongo({ url: mongoUrl, serverSelectionTimeoutMS: 5_000 });
  const redis = createRedis({ url: testRedisUrl(), keyPrefix: testRedisPrefix(name) });
  const repository = await createMongoConsentRepository(mongo);
  const customers = await loadSandboxCustomerDirectory();
  const clock = { now: new Date() };
  const now = () => new Date(clock.now.getTime());
  const consents = createConsentService({
    repository,
    accounts: customers,
    authorisationWindowSeconds: options.authorisationWindowSeconds ?? 1_800,
    ...(options.idempotencyKeyTtlSeconds === undefined
      ? {}
      : { idempotencyKeyTtlSeconds: options.idempotencyKeyTtlSeconds }),
    now,
    ...(options.onCascadePending ? { onCascadePending: options.onCascadePending } : {}),
  });
  const authenticationRepository = await createMongoDecoupledAuthentications(mongo);
  const authentications = createDecoupledAuthenticationService({
    repository: authenticationRepository,
    consents,
    customers,
    retentionSeconds: 86_400,
    now,
    ...(options.onDecisionRecorded ? { onDecisionRecorded: options.onDecisionRecorded } : {}),
  });
  const tokens = createTokenStore(redis, { revocationMemorySeconds: 3_600 });
  const app = createHttpApp({ logger: silentLogger });
  app.get('/openapi.json', (_req, res) => {
    res.json(INTENTS_OPENAPI);
  });
  app.use(
    '/open-banking',
    createIntentsRouter({
      consents,
      customers,
      tokens,
      readCertificate: createClientCertificateReader({ format: 'nginx' }),
      paymentCurrencies: ['GBP'],
      linksBaseUrl: 'https://mtls.bank.example',
      now,
    }),
  );
  app.use(notFoundHandler('obie'), errorHandler('obie'));
  const server: Server = createServer(app);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    mongo,
    mongoUrl,
    redis,
    repository,
    consents,
    customers,
    authenticationRepository,
    authentications,
    tokens,
    url: `http://127.0.0.1:${port}`,
    clock,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await closeRedis(redis);
      await closeMongo(mongo);
      await dropTestDatabase(mongoUrl);
    },
  };
}

/** Stores an access token record as auth-server would (it does not issue tokens yet). */
export async function seedAccessToken(
  tokens: TokenStore,
  claims: { clientId: string; scope: string; thumbprint: string; grantType?: string; consentId?: string },
): Promise<string> {
  const token = randomBytes(32).toString('base64url');
  const issuedAt = Math.floor(Date.now() / 1000);
  const record: TokenRecord = {
    v: 1,
    tokenType: 'access_token',
    grantType: claims.grantType ?? 'client_credentials',
    clientId: claims.clientId,
    scope: claims.scope,
    issuer: 'https://as.bank.example',
    audience: ['https://mtls.bank.example'],
    issuedAt,
    expiresAt: issuedAt + 300,
    cnf: { 'x5t#S256': claims.thumbprint },
    ...(claims.consentId ? { consentId: claims.consentId, openbankingIntentId: claims.consentId } : {}),
  };
  assert.equal(await tokens.save(token, record), 'saved');
  return token;
}

/** What ingress-nginx forwards for a verified client certificate. */
export function nginxCertificateHeaders(certPem: string): Record<string, string> {
  return { 'ssl-client-cert': encodeURIComponent(certPem), 'ssl-client-verify': 'SUCCESS' };
}

export function thumbprintOf(certPem: string): string {
  return certificateThumbprintS256(new X509Certificate(certPem));
}

export interface ObieReply {
  status: number;
  headers: Headers;
  body: unknown;
}

/**
 * One request to the fixture; the response is checked against the OpenAPI document (every
 * response a test sees is, ARCHITECTURE: Contracts) before it is returned.
 */
export async function obieRequest(
  baseUrl: string,
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: unknown; rawBody?: string } = {},
): Promise<ObieReply> {
  const headers: Record<string, string> = { ...options.headers };
  let payload: string | undefined = options.rawBody;
  if (options.body !== undefined) {
    payload = JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers,
    ...(payload === undefined ? {} : { body: payload }),
  });
  const text = await response.text();
  const body = text === '' ? undefined : (JSON.parse(text) as unknown);
  const problems = checkOpenApiResponse(INTENTS_OPENAPI as unknown as OpenApiDocument, {
    method,
    path: path.split('?')[0]!,
    status: response.status,
    contentType: response.headers.get('content-type'),
    body,
  });
  assert.deepEqual(problems, [], `${method} ${path} → ${response.status} does not match the OpenAPI document: ${text}`);
  return { status: response.status, headers: response.headers, body };
}

/** The ErrorCode values of an OBIE error envelope. */
export function obieErrorCodes(body: unknown): string[] {
  return ((body as { Errors?: Array<{ ErrorCode: string }> }).Errors ?? []).map((item) => item.ErrorCode);
}

/** consents.v1.Consents of a fixture, served on a loopback port, and a client of it. */
export interface ServedConsents {
  client: GrpcClient<typeof consentsV1.ConsentsService>;
  close(): Promise<void>;
}

/**
 * Serves the fixture's consents, customers and decoupled authentications over a real gRPC
 * connection, as auth-server and token-introspection call them.
 *
 * @example
 * const served = await serveConsentsOverGrpc(fixture);
 * await served.client.call('getConsent', { consentId });
 */
export async function serveConsentsOverGrpc(fixture: ConsentFixture): Promise<ServedConsents> {
  const server = createGrpcServer({ serviceName: 'consent-service-test', logger: silentLogger });
  server.addService(
    consentsV1.ConsentsService,
    createConsentsGrpcHandlers({
      consents: fixture.consents,
      customers: fixture.customers,
      authentications: fixture.authentications,
    }),
  );
  const port = await server.listen('127.0.0.1', 0);
  const client = createGrpcClient(consentsV1.ConsentsClient, {
    target: `127.0.0.1:${port}`,
    defaultDeadlineMs: 5_000,
  });
  return {
    client,
    async close() {
      client.close();
      await server.shutdown(1_000);
    },
  };
}

/** The DomainError a call failed with (fails the test when it succeeded). */
export async function grpcFailure(call: Promise<unknown>): Promise<DomainError> {
  const error = await call.then(
    () => assert.fail('the call succeeded'),
    (thrown: unknown) => thrown,
  );
  assert.ok(error instanceof DomainError);
  return error;
}
