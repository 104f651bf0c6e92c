// The engine alone (issue 11 baseline for the auth-server scenarios): a bare node-oidc-provider
// 9 configured like obip's auth-server for what the scenarios exercise (FAPI 2.0 profile,
// client_credentials, private_key_jwt with PS256/ES256/EdDSA, certificate-bound tokens, PAR,
// request objects, DPoP, the same lifetimes, routes and discovery extras), with its default
// in-memory adapter, one static client (the bench TPP) and its own Koa callback on node:http.
// Like obip it rewrites X-Forwarded-Proto/-Host per route (public host or mTLS host) and reads
// the client certificate from the edge's headers with obip's reader (harness/engine-mtls.ts).
// What it does not have: auth-server's Express app, rate limits, adapters (Redis, MongoDB,
// dcr-service over gRPC), token records for introspection, atomic replay detection, discovery
// post-processing, metrics and request logs.
// Env: CLIENT (JSON client metadata with jwks). Prints {"ready":{"port":N}}. GET
// /__bench/client-credentials/<token> shows a stored token's binding (smoke test only).
import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider, { errors } from 'oidc-provider';
import { jwkThumbprint } from '@obip/testing';
import { engineMtlsFromEdge } from '../harness/engine-mtls';
import { CLIENT_CREDENTIALS_TTL_SECONDS, ISSUER, MTLS_BASE_URL } from './fixtures';

// One PS256 and one ES256 key, `kid` their RFC 7638 thumbprints: obip's development keys' shape.
const signingKeys = [
  { ...generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' }), alg: 'PS256' },
  { ...generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' }), alg: 'ES256' },
].map((key) => ({ ...key, use: 'sig', kid: jwkThumbprint(key) }));
const notInBench = async () => {
  throw new errors.InvalidRequest('not part of the benchmark');
};

/** The endpoints the edge routes through the mTLS host (obip's provider.routes.ts). */
const MTLS_PATHS = ['/token', '/par', '/revoke', '/userinfo', '/bc-authorize'];
const mtlsAliases = {
  token_endpoint: `${MTLS_BASE_URL}/token`,
  pushed_authorization_request_endpoint: `${MTLS_BASE_URL}/par`,
  revocation_endpoint: `${MTLS_BASE_URL}/revoke`,
  userinfo_endpoint: `${MTLS_BASE_URL}/userinfo`,
  backchannel_authentication_endpoint: `${MTLS_BASE_URL}/bc-authorize`,
};
/** Bench only (the smoke test): the stored client_credentials token, to show its certificate binding. */
const INSPECT_PATH = '/__bench/client-credentials/';
const FAPI_ALGS = ['PS256', 'ES256', 'EdDSA'];
const ENCRYPTION_ALGS = ['RSA-OAEP-256', 'ECDH-ES'];

const provider = new Provider(ISSUER, {
  jwks: { keys: signingKeys },
  clients: [JSON.parse(process.env.CLIENT!) as Record<string, unknown>],
  acrValues: ['urn:openbanking:psd2:sca', 'urn:openbanking:psd2:ca'],
  claims: { openid: ['sub'], acr: null, auth_time: null, openbanking_intent_id: null },
  clientBasedCORS: () => false,
  clientAuthMethods: ['private_key_jwt', 'tls_client_auth', 'self_signed_tls_client_auth'],
  clientDefaults: {
    grant_types: ['authorization_code'],
    response_types: ['code'],
    id_token_signed_response_alg: 'PS256',
    authorization_signed_response_alg: 'PS256',
    token_endpoint_auth_method: 'private_key_jwt',
  },
  clockTolerance: 10,
  allowOmittingSingleRegisteredRedirectUri: false,
  cookies: { keys: ['bench-cookie-key-not-a-secret-0123456789'] },
  discovery: {
    claim_types_supported: ['normal'],
    mtls_endpoint_aliases: mtlsAliases,
    registration_endpoint: `${MTLS_BASE_URL}/register`,
    introspection_endpoint: `${MTLS_BASE_URL}/introspect`,
  },
  enabledJWA: {
    clientAuthSigningAlgValues: FAPI_ALGS,
    idTokenSigningAlgValues: ['PS256', 'ES256'],
    requestObjectSigningAlgValues: FAPI_ALGS,
    userinfoSigningAlgValues: ['PS256', 'ES256'],
    authorizationSigningAlgValues: ['PS256', 'ES256'],
    introspectionSigningAlgValues: ['PS256', 'ES256'],
    dPoPSigningAlgValues: ['ES256', 'PS256', 'EdDSA'],
    idTokenEncryptionAlgValues: ENCRYPTION_ALGS,
    requestObjectEncryptionAlgValues: ENCRYPTION_ALGS,
    userinfoEncryptionAlgValues: ENCRYPTION_ALGS,
    introspectionEncryptionAlgValues: ENCRYPTION_ALGS,
    authorizationEncryptionAlgValues: ENCRYPTION_ALGS,
  },
  expiresWithSession: async () => false,
  features: {
    devInteractions: { enabled: false },
    // Advertised as obip advertises it (poll and ping); never exercised here.
    ciba: {
      enabled: true,
      deliveryModes: ['poll', 'ping'],
      processLoginHint: notInBench,
      processLoginHintToken: notInBench,
      verifyUserCode: notInBench,
      validateBindingMessage: notInBench,
      validateRequestContext: notInBench,
      triggerAuthenticationDevice: notInBench,
    },
    claimsParameter: { enabled: true },
    clientCredentials: { enabled: true },
    dPoP: { enabled: true, nonceSecret: Buffer.alloc(32, 7), requireNonce: () => true },
    fapi: { enabled: true, profile: '2.0' },
    introspection: { enabled: false },
    jwtResponseModes: { enabled: true },
    mTLS: {
      enabled: true,
      certificateBoundAccessTokens: true,
      selfSignedTlsClientAuth: true,
      tlsClientAuth: true,
      ...engineMtlsFromEdge(),
    },
    pushedAuthorizationRequests: {
      enabled: true,
      requirePushedAuthorizationRequests: false,
      allowUnregisteredRedirectUris: false,
    },
    registration: { enabled: false },
    requestObjects: { enabled: true, requireSignedRequestObject: false },
    // Enabled as in obip (which issues JWTs for its admin API only): no resource, opaque tokens.
    resourceIndicators: {
      enabled: true,
      defaultResource: async () => undefined,
      useGrantedResource: async () => false,
      getResourceServerInfo: async () => {
        throw new errors.InvalidTarget('no resource servers in the bench');
      },
    },
    revocation: { enabled: true },
    rpInitiatedLogout: { enabled: false },
    userinfo: { enabled: true },
  },
  findAccount: async (_ctx: unknown, sub: string) => ({ accountId: sub, claims: async () => ({ sub }) }),
  interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
  responseTypes: ['code', 'code id_token'],
  routes: {
    authorization: '/authorize',
    pushed_authorization_request: '/par',
    token: '/token',
    revocation: '/revoke',
    userinfo: '/userinfo',
    jwks: '/jwks',
    end_session: '/session/end',
    backchannel_authentication: '/bc-authorize',
  },
  scopes: ['openid', 'offline_access', 'accounts', 'payments', 'fundsconfirmations'],
  subjectTypes: ['public'],
  ttl: {
    AccessToken: 300,
    AuthorizationCode: 60,
    ClientCredentials: CLIENT_CREDENTIALS_TTL_SECONDS,
    IdToken: 300,
    Interaction: 600,
    Session: 3600,
    Grant: 90 * 86_400,
    RefreshToken: 90 * 86_400,
  },
});
provider.proxy = true;
provider.on('server_error', (_ctx: never, error: never) =>
  process.stderr.write(`engine server_error: ${String(error)}\n`),
);

const callback = provider.callback();
const publicHost = new URL(ISSUER).host;
const mtlsHost = new URL(MTLS_BASE_URL).host;
const server = createServer((req, res) => {
  if (req.url?.startsWith(INSPECT_PATH)) {
    void provider.ClientCredentials.find(req.url.slice(INSPECT_PATH.length)).then((token) => {
      res.writeHead(token ? 200 : 404, { 'content-type': 'application/json' });
      res.end(JSON.stringify(token ? { 'x5t#S256': token['x5t#S256'], clientId: token.clientId } : {}));
    });
    return;
  }
  // As obip's engine handler: the host the edge routes the path through, never the client's word.
  const path = (req.url ?? '/').split('?')[0]!;
  req.headers['x-forwarded-proto'] = 'https';
  req.headers['x-forwarded-host'] = MTLS_PATHS.some((prefix) => path === prefix || path.startsWith(`${prefix}/`))
    ? mtlsHost
    : publicHost;
  callback(req, res);
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ ready: { port: (server.address() as AddressInfo).port } })}\n`);
});
process.once('SIGTERM', () => {
  server.closeAllConnections();
  server.close();
});
