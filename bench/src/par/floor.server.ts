// The floor of PAR with a signed request object (issue 11 scenario 3): what a pushed
// authorization request costs at the least on this machine. Bare node:http: the form parsed,
// the client assertion and the request object (RFC 9101) each verified with jose against the
// client's JWKS (signature, alg, iss, aud = the issuer, exp; the request object's client_id,
// response_type, registered redirect_uri, S256 PKCE challenge and nbf), and one Redis SET with
// a 60 s TTL of the request, answered 201 with the same JSON members as the engine (RFC 9126 §2.2).
// No replay detection, rate limit, client lookup, metrics or logs.
// Env: REDIS_URL, REDIS_KEY_PREFIX, CLIENT_ID, CLIENT_JWKS, ISSUER, REDIRECT_URI.
// Prints {"ready":{"port":N}}.
import { randomBytes } from 'node:crypto';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { createRedis } from '@obip/redis';
import { serveFloor, type FloorAnswer } from '../harness/floor';

const env = process.env;
const redis = createRedis({ url: env.REDIS_URL!, keyPrefix: env.REDIS_KEY_PREFIX ?? 'floor:' });
const clientId = env.CLIENT_ID!;
const issuer = env.ISSUER!;
const redirectUri = env.REDIRECT_URI!;
const keys = createLocalJWKSet(JSON.parse(env.CLIENT_JWKS!) as JSONWebKeySet);
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const ALGORITHMS = ['PS256', 'ES256', 'EdDSA'];
/** RFC 9126 §2.2: the lifetime the engine gives a pushed request at most. */
const TTL_SECONDS = 60;

async function push(form: URLSearchParams): Promise<FloorAnswer> {
  const assertion = form.get('client_assertion');
  const request = form.get('request');
  if (form.get('client_assertion_type') !== ASSERTION_TYPE || form.get('client_id') !== clientId || !assertion)
    return [400, '{"error":"invalid_request"}'];
  try {
    await jwtVerify(assertion, keys, {
      algorithms: ALGORITHMS,
      issuer: clientId,
      subject: clientId,
      audience: issuer,
      clockTolerance: 10,
      requiredClaims: ['exp', 'jti'],
    });
  } catch {
    return [401, '{"error":"invalid_client"}'];
  }
  if (!request) return [400, '{"error":"invalid_request"}'];
  let claims;
  try {
    ({ payload: claims } = await jwtVerify(request, keys, {
      algorithms: ALGORITHMS,
      issuer: clientId,
      audience: issuer,
      clockTolerance: 10,
      requiredClaims: ['exp', 'nbf'],
    }));
  } catch {
    return [400, '{"error":"invalid_request_object"}'];
  }
  if (
    claims.client_id !== clientId ||
    claims.response_type !== 'code' ||
    claims.redirect_uri !== redirectUri ||
    claims.code_challenge_method !== 'S256' ||
    typeof claims.code_challenge !== 'string'
  )
    return [400, '{"error":"invalid_request_object"}'];
  const id = randomBytes(32).toString('base64url');
  await redis.set(`par:${id}`, request, 'EX', TTL_SECONDS);
  return [201, JSON.stringify({ expires_in: TTL_SECONDS, request_uri: `urn:ietf:params:oauth:request_uri:${id}` })];
}

serveFloor({
  answer: (_req, body) => push(new URLSearchParams(body)),
  close: () => redis.disconnect(),
});
