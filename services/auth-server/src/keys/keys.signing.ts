import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import { readOrCreateDevelopmentFile } from '@obip/config';

/** Algorithms a signing key may carry: FAPI 1.0 Advanced 8.6 and FAPI 2.0 SP 5.4 (EdDSA for FAPI 2.0 only). */
const SIGNING_ALGS = ['PS256', 'ES256', 'EdDSA'] as const;
/** Every JWKS must hold at least these, so every client profile can be served. */
const REQUIRED_ALGS = ['PS256', 'ES256'] as const;

export interface KeyMaterial {
  /** Private JWKS for the engine's `jwks` setting. */
  jwks: { keys: JWK[] };
  /** Cookie signing keys, newest first. */
  cookieKeys: string[];
  /** 32 bytes for `features.dPoP.nonceSecret`. */
  dpopNonceSecret: Buffer;
  /** Which settings fell back to development material (for the start-up warning). */
  developmentDefaults: string[];
}

export interface KeySettings {
  SIGNING_KEYS_FILE?: string;
  COOKIE_KEYS?: string[];
  COOKIE_KEYS_FILE?: string;
  DPOP_NONCE_SECRET?: string;
  DEV_KEYS_DIR: string;
}

/** A JWKS or secret that cannot be used; start-up stops with it, naming the setting. */
export class KeyConfigurationError extends Error {
  readonly code = 'invalid_key_configuration';
  constructor(
    readonly setting: string,
    message: string,
  ) {
    super(`${setting}: ${message}`);
    this.name = 'KeyConfigurationError';
  }
}

/**
 * Validates a private signing JWKS: every key private, with a unique `kid`, `use` sig (or none)
 * and an allowed `alg`; RSA keys of 2048 bits or more (FAPI 2.0 SP 5.4.1); at least one PS256
 * and one ES256 key. The keys come back in file order with `use: "sig"` on each, because the
 * engine signs with the first key of an alg only when every key states the same `use` (it ranks
 * keys that state one first): the first key of each alg signs, later ones are published so that
 * what they signed still verifies. config-api writes the file in that order for rotation.
 *
 * @example
 * checkSigningJwks(JSON.parse(readFileSync(file, 'utf8')), 'SIGNING_KEYS_FILE');
 */
export function checkSigningJwks(value: unknown, setting: string): { keys: JWK[] } {
  const keys = (value as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || keys.length === 0) throw new KeyConfigurationError(setting, 'must be a JWKS with keys');
  const kids = new Set<string>();
  for (const key of keys as JWK[]) {
    if (typeof key.kid !== 'string' || key.kid === '')
      throw new KeyConfigurationError(setting, 'every key needs a kid');
    if (kids.has(key.kid)) throw new KeyConfigurationError(setting, `kid ${key.kid} is used twice`);
    kids.add(key.kid);
    if (!(SIGNING_ALGS as readonly string[]).includes(key.alg ?? '')) {
      throw new KeyConfigurationError(setting, `key ${key.kid}: alg must be one of ${SIGNING_ALGS.join(', ')}`);
    }
    if (key.use !== undefined && key.use !== 'sig')
      throw new KeyConfigurationError(setting, `key ${key.kid}: use must be sig`);
    if (typeof key.d !== 'string')
      throw new KeyConfigurationError(setting, `key ${key.kid}: a private key is required`);
    if (key.kty === 'RSA' && Buffer.from(key.n ?? '', 'base64url').length * 8 < 2048) {
      throw new KeyConfigurationError(setting, `key ${key.kid}: RSA keys must have at least 2048 bits`);
    }
  }
  for (const alg of REQUIRED_ALGS) {
    if (!(keys as JWK[]).some((key) => key.alg === alg))
      throw new KeyConfigurationError(setting, `a ${alg} key is required`);
  }
  return { keys: (keys as JWK[]).map((key) => ({ ...key, use: 'sig' })) };
}

/**
 * Parses and validates the text of a signing keys file (see {@link checkSigningJwks}).
 *
 * @example
 * const jwks = parseSigningJwks(readFileSync(file, 'utf8'), 'SIGNING_KEYS_FILE');
 */
export function parseSigningJwks(text: string, setting: string): { keys: JWK[] } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new KeyConfigurationError(setting, 'is not JSON');
  }
  return checkSigningJwks(parsed, setting);
}

/** Generates one private signing JWK with its RFC 7638 thumbprint as kid. */
export async function generateSigningJwk(alg: 'PS256' | 'ES256'): Promise<JWK> {
  const { privateKey } = await generateKeyPair(alg, {
    extractable: true,
    ...(alg === 'PS256' ? { modulusLength: 2048 } : {}),
  });
  const jwk = await exportJWK(privateKey);
  return { ...jwk, kid: await calculateJwkThumbprint(jwk), alg, use: 'sig' };
}

interface DevelopmentMaterial {
  jwks: { keys: JWK[] };
  cookieKey: string;
  dpopNonceSecret: string;
}

/** Development material, generated on first use and shared through DEV_KEYS_DIR (see readOrCreateDevelopmentFile). */
async function developmentMaterial(dir: string): Promise<DevelopmentMaterial> {
  const content = await readOrCreateDevelopmentFile(dir, 'auth-server-dev-keys.json', async () => {
    const material: DevelopmentMaterial = {
      jwks: { keys: [await generateSigningJwk('PS256'), await generateSigningJwk('ES256')] },
      cookieKey: randomBytes(32).toString('base64url'),
      dpopNonceSecret: randomBytes(32).toString('base64url'),
    };
    return JSON.stringify(material, null, 2);
  });
  return JSON.parse(content) as DevelopmentMaterial;
}

/** Most cookie keys in force: the signing one and the ones still accepted while cookies age out. */
const MAX_COOKIE_KEYS = 10;

/**
 * Cookie keys from a file (COOKIE_KEYS_FILE): separated by commas or line breaks, newest first;
 * each at least 32 characters.
 */
export function parseCookieKeys(text: string, setting: string): string[] {
  const keys = text
    .split(/[,\r\n]+/)
    .map((key) => key.trim())
    .filter((key) => key !== '');
  if (keys.length === 0) throw new KeyConfigurationError(setting, 'holds no key');
  if (keys.length > MAX_COOKIE_KEYS)
    throw new KeyConfigurationError(setting, `holds more than ${MAX_COOKIE_KEYS} keys`);
  if (keys.some((key) => key.length < 32))
    throw new KeyConfigurationError(setting, 'each key must be at least 32 characters');
  return keys;
}

/**
 * The keys and secrets auth-server signs with: from settings when given, otherwise development
 * material from DEV_KEYS_DIR (the caller logs a warning naming each such setting).
 *
 * @example
 * const keys = await loadKeyMaterial(settings);
 * if (keys.developmentDefaults.length) logger.warn({ settings: keys.developmentDefaults }, 'development keys in use');
 */
export async function loadKeyMaterial(settings: KeySettings): Promise<KeyMaterial> {
  const developmentDefaults: string[] = [];
  let development: DevelopmentMaterial | undefined;
  const dev = async () => (development ??= await developmentMaterial(settings.DEV_KEYS_DIR));

  let jwks: { keys: JWK[] };
  if (settings.SIGNING_KEYS_FILE) {
    let text: string;
    try {
      text = readFileSync(settings.SIGNING_KEYS_FILE, 'utf8');
    } catch {
      throw new KeyConfigurationError('SIGNING_KEYS_FILE', 'cannot be read');
    }
    jwks = parseSigningJwks(text, 'SIGNING_KEYS_FILE');
  } else {
    developmentDefaults.push('SIGNING_KEYS_FILE');
    jwks = checkSigningJwks((await dev()).jwks, `${settings.DEV_KEYS_DIR}/auth-server-dev-keys.json`);
  }

  let cookieKeys = settings.COOKIE_KEYS;
  if (settings.COOKIE_KEYS_FILE) {
    if (cookieKeys)
      throw new KeyConfigurationError('COOKIE_KEYS_FILE', 'set COOKIE_KEYS or COOKIE_KEYS_FILE, not both');
    let text: string;
    try {
      text = readFileSync(settings.COOKIE_KEYS_FILE, 'utf8');
    } catch {
      throw new KeyConfigurationError('COOKIE_KEYS_FILE', 'cannot be read');
    }
    cookieKeys = parseCookieKeys(text, 'COOKIE_KEYS_FILE');
  }
  if (!cookieKeys) {
    developmentDefaults.push('COOKIE_KEYS');
    cookieKeys = [(await dev()).cookieKey];
  }

  let nonceSecret = settings.DPOP_NONCE_SECRET;
  if (!nonceSecret) {
    developmentDefaults.push('DPOP_NONCE_SECRET');
    nonceSecret = (await dev()).dpopNonceSecret;
  }
  const dpopNonceSecret = Buffer.from(nonceSecret, 'base64url');
  if (dpopNonceSecret.length !== 32) throw new KeyConfigurationError('DPOP_NONCE_SECRET', 'must decode to 32 bytes');

  return { jwks, cookieKeys, dpopNonceSecret, developmentDefaults };
}
