// Test harness of config-api: the real service graph (compose.ts) on a real MongoDB, a real
// token issuer (JWKS over HTTP) for admin tokens, and a recording secrets sink. Used by the test
// files beside the code; never by production code.
import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:http';
import type { Connection } from 'mongoose';
import { Registry } from 'prom-client';
import { loadSettings } from '@obip/config';
import { configV1 } from '@obip/contracts';
import { createGrpcServer, type GrpcServer } from '@obip/grpc';
import { closeMongo, connectMongo } from '@obip/mongo';
import { createLogger } from '@obip/observability';
import { dropTestDatabase, startAdminTokenIssuer, testMongoUrl, type AdminTokenOptions } from '@obip/testing';
import { DEFAULT_ADMIN_API_RESOURCE } from '@obip/platform-config';
import { composeConfigApi, type ComposeOptions, type ConfigApiComponents } from '../compose';
import { settingsShape, type ConfigApiSettings } from '../config';

export const TEST_ISSUER = 'https://issuer.obip.test';
export const TEST_AUDIENCE = DEFAULT_ADMIN_API_RESOURCE;

export interface ConfigApiHarness {
  settings: ConfigApiSettings;
  mongo: Connection;
  components: ConfigApiComponents;
  registry: Registry;
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** `127.0.0.1:<port>` of the gRPC server with config.v1.Config. */
  grpcTarget: string;
  /** What the secrets sink received, in order. */
  published: { trustAnchors: string[]; signingKeys: string[] };
  /** An admin access token (RFC 9068 at+jwt) from the trusted test issuer. */
  token(options?: AdminTokenOptions): Promise<string>;
  /** fetch against the API with a bearer token for `scopes` (default: all). */
  call(path: string, init?: RequestInit & { scopes?: readonly string[] }): Promise<Response>;
  stop(): Promise<void>;
}

export async function startConfigApiHarness(
  options: {
    name?: string;
    env?: Record<string, string>;
    now?: () => Date;
    extraRouters?: ComposeOptions['extraRouters'];
  } = {},
): Promise<ConfigApiHarness> {
  const name = options.name ?? 'config-api';
  const admin = await startAdminTokenIssuer(TEST_ISSUER);

  const mongoUrl = testMongoUrl(name);
  const settings = loadSettings('config-api', settingsShape, {
    MONGO_URL: mongoUrl,
    LOG_LEVEL: 'silent',
    K8S_SYNC: 'off',
    DEV_KEYS_DIR: `tmp/test/${name}-${process.pid}`,
    ADMIN_TOKEN_ISSUERS: JSON.stringify([{ issuer: admin.issuer, jwksUri: admin.jwksUri }]),
    ADMIN_TOKEN_AUDIENCE: TEST_AUDIENCE,
    PUBLICATION_POLL_MS: '200',
    ...options.env,
  });
  const logger = createLogger({ service: 'config-api', level: 'silent' });
  const mongo = await connectMongo({ url: mongoUrl, serverSelectionTimeoutMS: 5_000 });
  const published = { trustAnchors: [] as string[], signingKeys: [] as string[] };
  const registry = new Registry();
  const components = await composeConfigApi({
    settings,
    logger,
    mongo,
    registry,
    sink: {
      async publishTrustAnchors(bundle) {
        published.trustAnchors.push(bundle);
      },
      async publishSigningKeys(jwksJson) {
        published.signingKeys.push(jwksJson);
      },
    },
    ...(options.now ? { now: options.now } : {}),
    ...(options.extraRouters ? { extraRouters: options.extraRouters } : {}),
  });
  await components.start();

  const server: Server = createServer(components.app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const grpc: GrpcServer = createGrpcServer({ serviceName: 'config-api', logger });
  grpc.addService(configV1.ConfigService, components.configHandlers);
  const grpcPort = await grpc.listen('127.0.0.1', 0);

  const token = (tokenOptions: AdminTokenOptions = {}) =>
    admin.mint({ subject: 'admin@bank.example', audience: TEST_AUDIENCE, ...tokenOptions });

  return {
    settings,
    mongo,
    components,
    registry,
    url,
    grpcTarget: `127.0.0.1:${grpcPort}`,
    published,
    token,
    async call(path, init = {}) {
      const { scopes, headers, ...rest } = init;
      return fetch(url + path, {
        ...rest,
        headers: { authorization: `Bearer ${await token(scopes ? { scopes } : {})}`, ...headers },
      });
    },
    async stop() {
      components.stop();
      await grpc.shutdown(1_000);
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await admin.stop();
      await closeMongo(mongo);
      await dropTestDatabase(mongoUrl);
    },
  };
}
