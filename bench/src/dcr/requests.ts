// The registration requests the DCR scenario sends, made in the load child before its run
// starts (harness/requests.ts GeneratedBodies), one per request: an OBIE registration request
// JWT signed by the TPP's software key, holding a fresh software statement signed by the test
// directory's key. Each has its own SSA `jti` and request `jti`, because obip refuses to see
// either twice: every request registers a new client.
import { constants, createPrivateKey, randomBytes, sign, type JsonWebKey } from 'node:crypto';

/** A private JWK and how it signs. */
export interface RegistrationSigningKey {
  privateJwk: JsonWebKey & { kid: string };
  alg: 'ES256' | 'PS256';
}

/** What the generator needs: both keys and the claims that stay the same for every request. */
export interface RegistrationRequestTemplate {
  directory: RegistrationSigningKey;
  /** The directory's SSA claims for the bench software, `iat` and `jti` set per request. */
  ssaClaims: Record<string, unknown>;
  software: RegistrationSigningKey;
  /** The request's claims (iss, aud, metadata), `iat`, `exp`, `jti` and `software_statement` set per request. */
  requestClaims: Record<string, unknown>;
  /** Seconds each request JWT stays valid. Default 300 (what the test directory mints). */
  lifetimeSeconds?: number;
}

const base64url = (text: string) => Buffer.from(text).toString('base64url');

/** A signer for one key: the key object is parsed once, not per JWT. */
function jwsSigner(key: RegistrationSigningKey): (claims: Record<string, unknown>) => string {
  const privateKey = createPrivateKey({ key: key.privateJwk, format: 'jwk' });
  const header = base64url(JSON.stringify({ alg: key.alg, typ: 'JWT', kid: key.privateJwk.kid }));
  const options =
    key.alg === 'ES256'
      ? { key: privateKey, dsaEncoding: 'ieee-p1363' as const }
      : { key: privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 };
  return (claims) => {
    const input = `${header}.${base64url(JSON.stringify(claims))}`;
    return `${input}.${sign('sha256', Buffer.from(input), options).toString('base64url')}`;
  };
}

/**
 * `count` distinct registration request bodies (`application/jose`): the generator the DCR
 * scenario names in its request spec.
 *
 * @example
 * const [body] = registrationRequests(template, 1);
 * await fetch(`${origin}/register`, { method: 'POST', headers: { 'content-type': 'application/jose', ...certificateHeaders }, body });
 */
export function registrationRequests(template: RegistrationRequestTemplate, count: number): string[] {
  const signSsa = jwsSigner(template.directory);
  const signRequest = jwsSigner(template.software);
  const run = randomBytes(9).toString('base64url');
  const iat = Math.floor(Date.now() / 1000);
  const exp = iat + (template.lifetimeSeconds ?? 300);
  const bodies: string[] = [];
  for (let index = 0; index < count; index += 1) {
    const ssa = signSsa({ ...template.ssaClaims, iat, jti: `${run}.s${index}` });
    bodies.push(signRequest({ ...template.requestClaims, iat, exp, jti: `${run}.r${index}`, software_statement: ssa }));
  }
  return bodies;
}
