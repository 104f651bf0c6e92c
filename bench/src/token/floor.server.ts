// The floor of the token endpoint (issue 11 scenario 2): what a client_credentials grant with
// private_key_jwt costs at the least on this machine. Bare node:http: the form parsed, the
// client assertion verified with jose against the client's JWKS (signature, alg, iss = sub =
// client_id, aud = the issuer, exp with the same 10 s tolerance, jti present), the certificate
// thumbprint taken from the edge's header (URL-decoded PEM → DER → SHA-256; no X.509 parsing),
// and one Redis SET with TTL of a libs/token-store record, answered with the same JSON members.
// No replay detection, rate limit, client lookup, metrics or logs.
// Env: REDIS_URL, REDIS_KEY_PREFIX, CLIENT_ID, CLIENT_JWKS, ISSUER, TOKEN_TTL_SECONDS, SCOPE.
// Prints {"ready":{"port":N}}.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { createRedis } from '@obip/redis';
import { tokenKeyId, type TokenRecord } from '@obip/token-store';
import { forwardedThumbprint, serveFloor, type FloorAnswer } from '../harness/floor';

const env = process.env;
const redis = createRedis({ url: env.REDIS_URL!, keyPrefix: env.REDIS_KEY_PREFIX ?? 'floor:' });
const clientId = env.CLIENT_ID!;
const issuer = env.ISSUER!;
const scope = env.SCOPE!;
const ttl = Number(env.TOKEN_TTL_SECONDS);
const keys = createLocalJWKSet(JSON.parse(env.CLIENT_JWKS!) as JSONWebKeySet);
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

async function issue(req: IncomingMessage, form: URLSearchParams): Promise<FloorAnswer> {
  const assertion = form.get('client_assertion');
  if (
    form.get('grant_type') !== 'client_credentials' ||
    form.get('client_assertion_type') !== ASSERTION_TYPE ||
    form.get('client_id') !== clientId ||
    !assertion
  )
    return [400, '{"error":"invalid_request"}'];
  try {
    const { payload } = await jwtVerify(assertion, keys, {
      algorithms: ['PS256', 'ES256', 'EdDSA'],
      issuer: clientId,
      subject: clientId,
      audience: issuer,
      clockTolerance: 10,
      requiredClaims: ['exp', 'jti'],
    });
    if (typeof payload.jti !== 'string') return [401, '{"error":"invalid_client"}'];
  } catch {
    return [401, '{"error":"invalid_client"}'];
  }
  const thumbprint = forwardedThumbprint(req);
  if (!thumbprint) return [401, '{"error":"invalid_client"}'];
  const token = randomBytes(32).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const record: TokenRecord = {
    v: 1,
    tokenType: 'access_token',
    clientId,
    issuer,
    audience: [],
    issuedAt: now,
    expiresAt: now + ttl,
    cnf: { 'x5t#S256': thumbprint },
    grantType: 'client_credentials',
    scope,
  };
  await redis.set(`tok:${tokenKeyId(token)}`, JSON.stringify(record), 'EX', ttl);
  return [200, JSON.stringify({ access_token: token, expires_in: ttl, scope, token_type: 'Bearer' })];
}

serveFloor({
  answer: (req, body) => issue(req, new URLSearchParams(body)),
  close: () => redis.disconnect(),
});
