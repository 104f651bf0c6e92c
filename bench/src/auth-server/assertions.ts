// Signed JWTs the auth-server scenarios send, made in a load child before its run starts, one
// set per request: client assertions (RFC 7523 §2.2, private_key_jwt), each with a unique `jti`
// because every server refuses an assertion it has already seen (obip's and the engine's replay
// detection), and request objects (RFC 9101) for pushed authorization requests.
import { constants, createHash, createPrivateKey, randomBytes, sign, type JsonWebKey } from 'node:crypto';
import { CLIENT_CREDENTIALS_SCOPE, REDIRECT_URI } from './fixtures';

export interface ClientAssertionSigner {
  clientId: string;
  /** The issuer identifier: FAPI 2.0 refuses the token endpoint URL as `aud` (obip and the engine alike). */
  audience: string;
  privateJwk: JsonWebKey & { kid: string };
  alg: 'ES256' | 'PS256';
  /** Seconds the JWTs stay valid (long enough for generation, warm-up and run). */
  lifetimeSeconds?: number;
}

const base64url = (text: string) => Buffer.from(text).toString('base64url');
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/** The PKCE verifier of every pushed request (RFC 7636): the servers only see its S256 challenge. */
export const BENCH_CODE_VERIFIER = 'bench-code-verifier-0123456789-abcdefghijklmnopqrstuvwxyz';

/** Signs `count` compact JWS, the claims of the i-th from `claimsOf(i, now)`. */
function signJwts(
  signer: ClientAssertionSigner,
  count: number,
  claimsOf: (index: number, iat: number, exp: number) => Record<string, unknown>,
  typ: string,
): string[] {
  const key = createPrivateKey({ key: signer.privateJwk, format: 'jwk' });
  const header = base64url(JSON.stringify({ alg: signer.alg, kid: signer.privateJwk.kid, typ }));
  const iat = Math.floor(Date.now() / 1000);
  const exp = iat + (signer.lifetimeSeconds ?? 120);
  const options =
    signer.alg === 'ES256'
      ? { key, dsaEncoding: 'ieee-p1363' as const }
      : { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 };
  const jwts: string[] = [];
  for (let index = 0; index < count; index += 1) {
    const input = `${header}.${base64url(JSON.stringify(claimsOf(index, iat, exp)))}`;
    jwts.push(`${input}.${sign('sha256', Buffer.from(input), options).toString('base64url')}`);
  }
  return jwts;
}

/** `count` distinct client assertions: iss = sub = client_id, a unique `jti`. */
export function signClientAssertions(signer: ClientAssertionSigner, count: number): string[] {
  const run = randomBytes(9).toString('base64url');
  return signJwts(
    signer,
    count,
    (index, iat, exp) => ({
      iss: signer.clientId,
      sub: signer.clientId,
      aud: signer.audience,
      jti: `${run}.${index}`,
      iat,
      exp,
    }),
    'JWT',
  );
}

/** The form's client authentication (RFC 7521 §4.2). */
const clientAuthentication = (signer: ClientAssertionSigner) =>
  new URLSearchParams({ client_id: signer.clientId, client_assertion_type: ASSERTION_TYPE }).toString();

/**
 * The bodies of `count` client_credentials token requests (RFC 6749 §4.4.2), each with its own
 * assertion: the generator the token scenario names in its request spec (harness/requests.ts).
 */
export function clientCredentialsForms(signer: ClientAssertionSigner, count: number): string[] {
  const fixed = `grant_type=client_credentials&scope=${CLIENT_CREDENTIALS_SCOPE}&${clientAuthentication(signer)}`;
  // A compact JWS is base64url and dots only: nothing to escape in a form.
  return signClientAssertions(signer, count).map((assertion) => `${fixed}&client_assertion=${assertion}`);
}

/**
 * The bodies of `count` pushed authorization requests (RFC 9126) with a signed request object
 * (RFC 9101) holding every authorization parameter, as FAPI 2.0 clients send them: code flow,
 * the registered redirect URI, PKCE S256, a fresh `state` and `jti`, `nbf` and `exp`. Each also
 * authenticates with its own client assertion.
 */
export function pushedAuthorizationForms(signer: ClientAssertionSigner, count: number): string[] {
  const run = randomBytes(9).toString('base64url');
  const challenge = createHash('sha256').update(BENCH_CODE_VERIFIER).digest('base64url');
  const requests = signJwts(
    signer,
    count,
    (index, iat, exp) => ({
      iss: signer.clientId,
      aud: signer.audience,
      client_id: signer.clientId,
      response_type: 'code',
      redirect_uri: REDIRECT_URI,
      scope: 'openid accounts',
      state: `${run}.${index}`,
      code_challenge: challenge,
      code_challenge_method: 'S256',
      jti: `${run}.r${index}`,
      iat,
      nbf: iat,
      exp,
    }),
    'oauth-authz-req+jwt',
  );
  const assertions = signClientAssertions(signer, count);
  const fixed = clientAuthentication(signer);
  return requests.map((request, index) => `${fixed}&client_assertion=${assertions[index]}&request=${request}`);
}
