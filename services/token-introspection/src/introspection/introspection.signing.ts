// RFC 9701 signed introspection responses, signed with the platform's keys: the private JWKS
// auth-server signs with (SIGNING_KEYS_FILE), so resource servers verify them against /jwks.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { importJWK, SignJWT, type JWK } from 'jose';
import { FAPI_SIGNING_ALGS } from '@obip/fapi';
import type { IntrospectionResponse } from './introspection.rules';

/** RFC 9701 §4: the media type a caller asks for, and the JWT `typ`. */
export const SIGNED_RESPONSE_MEDIA_TYPE = 'application/token-introspection+jwt';
const SIGNED_RESPONSE_TYP = 'token-introspection+jwt';

type SigningAlg = (typeof FAPI_SIGNING_ALGS)[number];

interface SigningKey {
  kid: string;
  alg: SigningAlg;
  key: Awaited<ReturnType<typeof importJWK>>;
}

export interface ResponseSigner {
  /** The algorithms this signer has keys for, in the order of the key file. */
  readonly algorithms: readonly SigningAlg[];
  /**
   * The RFC 9701 §5 JWT: `iss` (the issuer), `aud` (the caller), `iat` and the
   * `token_introspection` claim. `alg` picks the key; default the first key of the file.
   */
  sign(options: { audience: string; response: IntrospectionResponse; alg?: string }): Promise<string>;
}

/**
 * Reads the private JWKS and prepares a signer. Keys without `d`, with `use` other than `sig`,
 * or for an algorithm FAPI does not allow (PS256 and ES256 only) are skipped; a file with no
 * usable key, or that is not a JWKS, is an error naming the setting.
 *
 * @example
 * const signer = await loadResponseSigner({ file: settings.SIGNING_KEYS_FILE, issuer: settings.ISSUER });
 * const jwt = await signer.sign({ audience: caller.clientId, response });
 */
export async function loadResponseSigner(options: {
  file: string;
  issuer: string;
  /** Clock in unix seconds, for tests. */
  now?: () => number;
}): Promise<ResponseSigner> {
  return signerFromText(readKeyFile(options.file), options);
}

async function signerFromText(
  text: string,
  options: { file: string; issuer: string; now?: () => number },
): Promise<ResponseSigner> {
  const now = options.now ?? (() => Math.floor(Date.now() / 1000));
  const keys = await parseSigningKeys(text, options.file);
  const byAlg = new Map<string, SigningKey>();
  for (const key of keys) if (!byAlg.has(key.alg)) byAlg.set(key.alg, key);
  const fallback = keys[0]!;
  return {
    algorithms: [...byAlg.keys()] as SigningAlg[],
    async sign({ audience, response, alg }) {
      const signingKey = alg === undefined ? fallback : byAlg.get(alg);
      if (!signingKey) throw new TypeError(`no signing key for ${alg}`);
      return new SignJWT({ token_introspection: response })
        .setProtectedHeader({ alg: signingKey.alg, kid: signingKey.kid, typ: SIGNED_RESPONSE_TYP })
        .setIssuer(options.issuer)
        .setAudience(audience)
        .setIssuedAt(now())
        .sign(signingKey.key);
    },
  };
}

/**
 * A signer that follows SIGNING_KEYS_FILE as config-api rotates the keys (a Kubernetes Secret
 * mount changes under a running pod): the file is re-read every `reloadMs`, a changed and valid
 * key set replaces the current one, and an unreadable or invalid one is logged once and ignored,
 * so responses keep being signed with keys that /jwks still publishes.
 *
 * @example
 * const signer = await createReloadingResponseSigner({ file, issuer, reloadMs: 10_000, logger });
 * onShutdown(() => signer.stop());
 */
export async function createReloadingResponseSigner(options: {
  file: string;
  issuer: string;
  reloadMs: number;
  logger: { info(bindings: object, message: string): void; warn(bindings: object, message: string): void };
}): Promise<ResponseSigner & { stop(): void }> {
  const digest = (text: string) => createHash('sha256').update(text).digest('hex');
  // One read gives both the keys and the digest they are compared by, so a write between two
  // reads cannot leave the new content marked as seen but not loaded.
  const initial = readKeyFile(options.file);
  let current = await signerFromText(initial, options);
  let seen = digest(initial);
  let timer: NodeJS.Timeout | undefined;

  async function check(): Promise<void> {
    let text: string;
    try {
      text = readFileSync(options.file, 'utf8');
    } catch (error) {
      const marker = `unreadable:${(error as NodeJS.ErrnoException).code ?? 'error'}`;
      if (marker !== seen)
        options.logger.warn({ err: error }, 'SIGNING_KEYS_FILE unreadable; keeping the current keys');
      seen = marker;
      return;
    }
    const hash = digest(text);
    if (hash === seen) return;
    seen = hash;
    try {
      current = await signerFromText(text, options);
      options.logger.info({ algorithms: current.algorithms }, 'signing keys reloaded from SIGNING_KEYS_FILE');
    } catch (error) {
      options.logger.warn({ err: error }, 'SIGNING_KEYS_FILE changed but is not usable; keeping the current keys');
    }
  }

  function schedule(): void {
    if (options.reloadMs <= 0) return;
    timer = setTimeout(() => {
      void check().finally(() => {
        if (timer) schedule();
      });
    }, options.reloadMs);
    timer.unref();
  }
  schedule();

  return {
    get algorithms() {
      return current.algorithms;
    },
    sign: (signOptions) => current.sign(signOptions),
    stop() {
      clearTimeout(timer);
      timer = undefined;
    },
  };
}

function readKeyFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (cause) {
    throw new Error(`SIGNING_KEYS_FILE: ${file} is not a readable JSON file`, { cause });
  }
}

async function parseSigningKeys(text: string, file: string): Promise<SigningKey[]> {
  let jwks: { keys?: unknown };
  try {
    jwks = JSON.parse(text) as { keys?: unknown };
  } catch (cause) {
    throw new Error(`SIGNING_KEYS_FILE: ${file} is not a readable JSON file`, { cause });
  }
  if (!Array.isArray(jwks?.keys)) throw new Error(`SIGNING_KEYS_FILE: ${file} is not a JWK Set`);
  const keys: SigningKey[] = [];
  for (const jwk of jwks.keys as JWK[]) {
    const alg = signingAlgOf(jwk);
    if (!alg || typeof jwk.d !== 'string' || typeof jwk.kid !== 'string' || (jwk.use && jwk.use !== 'sig')) continue;
    keys.push({ kid: jwk.kid, alg, key: await importJWK(jwk, alg) });
  }
  if (keys.length === 0)
    throw new Error(`SIGNING_KEYS_FILE: ${file} holds no private PS256 or ES256 signing key with a kid`);
  return keys;
}

/** The key's `alg`, or the FAPI algorithm its type implies (RSA → PS256, EC P-256 → ES256). */
function signingAlgOf(jwk: JWK): SigningAlg | undefined {
  const alg = jwk.alg ?? (jwk.kty === 'RSA' ? 'PS256' : jwk.kty === 'EC' && jwk.crv === 'P-256' ? 'ES256' : undefined);
  return (FAPI_SIGNING_ALGS as readonly string[]).includes(alg ?? '') ? (alg as SigningAlg) : undefined;
}
