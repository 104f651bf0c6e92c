// The engine's own introspection (issue 6, baseline b): a bare node-oidc-provider 9 with
// `features.introspection` on, served by its own Koa callback on node:http, its models stored
// in Redis through a minimal adapter (engine.redis-adapter.ts). The caller authenticates with
// tls_client_auth from the same ingress-nginx headers through the same reader
// (@obip/http createClientCertificateReader) and the same DN rule as obip, so both do the same
// certificate work. Tokens are issued through the engine's own models (Grant + AccessToken for
// consent-bound tokens, ClientCredentials for the rest) and written to TOKENS_FILE.
// Env: REDIS_URL, TOKENS_FILE, TOKEN_COUNT, GATEWAY_SUBJECT_DN, TPP_THUMBPRINT. Prints {"ready":{"port":N}}.
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';
import { createRedis } from '@obip/redis';
import { engineMtlsFromEdge } from '../harness/engine-mtls';
import { createEngineRedisAdapter } from './engine.redis-adapter';
import { consentIdOf, GATEWAY_CLIENT_ID, ISSUER, kindOf, RESOURCE, TPP_CLIENT_ID } from './fixtures';

const env = process.env;
// The client settings token-introspection uses (its main.ts): no auto-pipelining.
const redis = createRedis({ url: env.REDIS_URL!, keyPrefix: 'engine:', autoPipelining: false });

const signingKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
const provider = new Provider(ISSUER, {
  adapter: createEngineRedisAdapter(redis),
  jwks: { keys: [{ ...signingKey, alg: 'ES256', use: 'sig', kid: 'bench' }] },
  cookies: { keys: ['bench-cookie-key-not-secret'] },
  clients: [
    {
      client_id: GATEWAY_CLIENT_ID,
      token_endpoint_auth_method: 'tls_client_auth',
      id_token_signed_response_alg: 'ES256',
      tls_client_auth_subject_dn: env.GATEWAY_SUBJECT_DN,
      grant_types: [],
      response_types: [],
      redirect_uris: [],
    },
    {
      client_id: TPP_CLIENT_ID,
      token_endpoint_auth_method: 'tls_client_auth',
      id_token_signed_response_alg: 'ES256',
      tls_client_auth_subject_dn: 'CN=tpp-bench',
      grant_types: ['authorization_code', 'client_credentials'],
      response_types: ['code'],
      redirect_uris: ['https://tpp.bench/callback'],
      tls_client_certificate_bound_access_tokens: true,
    },
  ],
  clientAuthMethods: ['tls_client_auth'],
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    mTLS: {
      enabled: true,
      certificateBoundAccessTokens: true,
      tlsClientAuth: true,
      ...engineMtlsFromEdge(),
    },
  },
  routes: { introspection: '/introspect' },
  // How the engine adds claims to a token (auth-server adds the consent the same way); saved with the token.
  extraTokenClaims(_ctx: unknown, token: { kind: string; accountId?: string }) {
    if (token.kind !== 'AccessToken' || !token.accountId) return undefined;
    const consentId = consentIdOf(Number(token.accountId.slice('customer-'.length)));
    return { consent_id: consentId, openbanking_intent_id: consentId, acr: 'urn:openbanking:psd2:sca' };
  },
});
provider.on('server_error', (_ctx: never, error: never) =>
  process.stderr.write(`engine server_error: ${String(error)}\n`),
);

// Tokens through the engine's own models, as its token endpoint would save them.
const tokens: string[] = [];
for (let index = 0; index < Number(env.TOKEN_COUNT ?? 256); index += 1) {
  const common = { clientId: TPP_CLIENT_ID, expiresIn: 3600, aud: RESOURCE, 'x5t#S256': env.TPP_THUMBPRINT };
  if (kindOf(index) === 'client_credentials') {
    tokens.push(await new provider.ClientCredentials({ ...common, scope: 'accounts payments' }).save());
  } else {
    const grant = new provider.Grant({ accountId: `customer-${index}`, clientId: TPP_CLIENT_ID });
    grant.addOIDCScope('openid accounts');
    tokens.push(
      await new provider.AccessToken({
        ...common,
        accountId: `customer-${index}`,
        grantId: await grant.save(),
        gty: 'authorization_code',
        scope: 'openid accounts',
      }).save(),
    );
  }
}
writeFileSync(env.TOKENS_FILE!, JSON.stringify(tokens));

const server = createServer(provider.callback());
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ ready: { port: (server.address() as AddressInfo).port } })}\n`);
});
process.once('SIGTERM', () => {
  server.closeAllConnections();
  server.close();
  redis.disconnect();
});
