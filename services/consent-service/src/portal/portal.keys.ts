/**
 * The portal's secrets: the key it authenticates to auth-server with (private_key_jwt, RFC 7523)
 * and the keys that sign its cookies. From settings in production (a mounted JWKS Secret, a
 * cookie key list), otherwise development material generated once and kept in DEV_KEYS_DIR, as
 * auth-server keeps its development keys; the caller warns about each such setting.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import { readOrCreateDevelopmentFile } from '@obip/config';

/** FAPI 2.0 SP 5.4: client assertions are signed with PS256 or ES256 (EdDSA is not offered here). */
export const PORTAL_KEY_ALGS = ['ES256', 'PS256'] as const;
export type PortalKeyAlg = (typeof PORTAL_KEY_ALGS)[number];

export interface PortalKeys {
  /** Signs the client assertions: the first key of the file. */
  signing: { kid: string; alg: PortalKeyAlg; privateKey: CryptoKey };
  /** Every key's public half: the JWKS the portal registers. */
  publicJwks: { keys: JWK[] };
  /** Cookie signing keys, newest first. */
  cookieKeys: string[];
  /** Settings that fell back to development material (for the start-up warning). */
  developmentDefaults: string[];
}

export interface PortalKeySettings {
  PORTAL_CLIENT_KEYS_FILE?: string | undefined;
  PORTAL_COOKIE_KEYS?: string[] | undefined;
  DEV_KEYS_DIR: string;
}

/** A key file or secret that cannot be used; start-up stops with it, naming the setting. */
export class PortalKeyError extends Error {
  readonly code = 'invalid_portal_keys';
  constructor(
    readonly setting: string,
    message: string,
  ) {
    super(`${setting}: ${message}`);
    this.name = 'PortalKeyError';
  }
}

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

/**
 * Validates a private JWKS for client authentication: at least one key; each with a unique
 * `kid`, `alg` ES256 or PS256, a private part, `use` sig or none; RSA keys of 2048 bits or more
 * (FAPI 2.0 SP 5.4.1). Returns the keys as given.
 *
 * @example
 * checkPortalJwks(JSON.parse(readFileSync(file, 'utf8')), 'PORTAL_CLIENT_KEYS_FILE');
 */
export function checkPortalJwks(value: unknown, setting: string): JWK[] {
  const keys = (value as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || keys.length === 0) throw new PortalKeyError(setting, 'must be a JWKS with keys');
  const kids = new Set<string>();
  for (const key of keys as JWK[]) {
    if (typeof key.kid !== 'string' || key.kid === '') throw new PortalKeyError(setting, 'every key needs a kid');
    if (kids.has(key.kid)) throw new PortalKeyError(setting, `kid ${key.kid} is used twice`);
    kids.add(key.kid);
    if (!(PORTAL_KEY_ALGS as readonly string[]).includes(key.alg ?? '')) {
      throw new PortalKeyError(setting, `key ${key.kid}: alg must be one of ${PORTAL_KEY_ALGS.join(', ')}`);
    }
    if (key.use !== undefined && key.use !== 'sig')
      throw new PortalKeyError(setting, `key ${key.kid}: use must be sig`);
    if (typeof key.d !== 'string') throw new PortalKeyError(setting, `key ${key.kid}: a private key is required`);
    if (key.kty === 'RSA' && Buffer.from(key.n ?? '', 'base64url').length * 8 < 2048) {
      throw new PortalKeyError(setting, `key ${key.kid}: RSA keys must have at least 2048 bits`);
    }
  }
  return keys as JWK[];
}

/** The public half of a private JWK: no private members. */
export function publicJwkOf(jwk: JWK): JWK {
  return Object.fromEntries(Object.entries(jwk).filter(([name]) => !PRIVATE_MEMBERS.includes(name))) as JWK;
}

interface DevelopmentMaterial {
  jwks: { keys: JWK[] };
  cookieKey: string;
}

/** Development material, generated on first use and shared through DEV_KEYS_DIR (see readOrCreateDevelopmentFile). */
async function developmentMaterial(dir: string): Promise<DevelopmentMaterial> {
  const content = await readOrCreateDevelopmentFile(dir, 'consent-service-portal.json', async () => {
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const jwk = await exportJWK(privateKey);
    const material: DevelopmentMaterial = {
      jwks: { keys: [{ ...jwk, kid: await calculateJwkThumbprint(jwk), alg: 'ES256', use: 'sig' }] },
      cookieKey: randomBytes(32).toString('base64url'),
    };
    return JSON.stringify(material, null, 2);
  });
  return JSON.parse(content) as DevelopmentMaterial;
}

/**
 * The portal's keys from settings, or development material from DEV_KEYS_DIR.
 *
 * @example
 * const keys = await loadPortalKeys(settings);
 * if (keys.developmentDefaults.length) logger.warn({ settings: keys.developmentDefaults }, 'development keys in use');
 */
export async function loadPortalKeys(settings: PortalKeySettings): Promise<PortalKeys> {
  const developmentDefaults: string[] = [];
  let development: DevelopmentMaterial | undefined;
  const dev = async () => (development ??= await developmentMaterial(settings.DEV_KEYS_DIR));

  let jwks: JWK[];
  if (settings.PORTAL_CLIENT_KEYS_FILE) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(settings.PORTAL_CLIENT_KEYS_FILE, 'utf8'));
    } catch {
      throw new PortalKeyError('PORTAL_CLIENT_KEYS_FILE', 'cannot be read as JSON');
    }
    jwks = checkPortalJwks(parsed, 'PORTAL_CLIENT_KEYS_FILE');
  } else {
    developmentDefaults.push('PORTAL_CLIENT_KEYS_FILE');
    jwks = checkPortalJwks((await dev()).jwks, `${settings.DEV_KEYS_DIR}/consent-service-portal.json`);
  }
  const first = jwks[0]!;
  const alg = first.alg as PortalKeyAlg;
  const privateKey = (await importJWK(first, alg)) as CryptoKey;

  let cookieKeys = settings.PORTAL_COOKIE_KEYS;
  if (!cookieKeys) {
    developmentDefaults.push('PORTAL_COOKIE_KEYS');
    cookieKeys = [(await dev()).cookieKey];
  }

  return {
    signing: { kid: first.kid!, alg, privateKey },
    publicJwks: { keys: jwks.map((key) => ({ ...publicJwkOf(key), use: 'sig' })) },
    cookieKeys,
    developmentDefaults,
  };
}
