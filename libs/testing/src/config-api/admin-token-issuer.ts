import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from 'jose';
import { ADMIN_API_SCOPES, DEFAULT_ADMIN_API_RESOURCE } from '@obip/platform-config';
import { startJwksServer } from '../directory/jwks.server';

/** Every scope of config-api's admin API. */
export { ADMIN_API_SCOPES };

export interface AdminTokenOptions {
  /** Default: every admin scope. */
  scopes?: readonly string[];
  /** Default: the issuer's own identifier. */
  issuer?: string;
  /** Default `urn:obip:config-api` (DEFAULT_ADMIN_API_RESOURCE). */
  audience?: string;
  /** Default `admin@bank.test`. */
  subject?: string;
  /** `client_id` claim (RFC 9068 §2.2). Default `admin-console`. */
  clientId?: string;
  /** JOSE `typ`. Default `at+jwt`. */
  typ?: string;
  /** Default 300; negative for an expired token. */
  expiresInSeconds?: number;
  /** Sign with a key the issuer does not publish. */
  foreignKey?: boolean;
  extraClaims?: JWTPayload;
}

export interface AdminTokenIssuer {
  /** The `iss` of its tokens. */
  readonly issuer: string;
  /** Where its public key is served (loopback HTTP). */
  readonly jwksUri: string;
  /** An RFC 9068 access token for config-api's admin API. */
  mint(options?: AdminTokenOptions): Promise<string>;
  stop(): Promise<void>;
}

/**
 * Stands in for a bank's admin identity provider: an ES256 key whose JWKS is served over HTTP,
 * and RFC 9068 access tokens for config-api signed with it. For tests and the sandbox; config-api
 * trusts it through `ADMIN_TOKEN_ISSUERS`.
 *
 * @example
 * const admin = await startAdminTokenIssuer('https://admin-idp.bank.test');
 * env.ADMIN_TOKEN_ISSUERS = JSON.stringify([{ issuer: admin.issuer, jwksUri: admin.jwksUri }]);
 * const token = await admin.mint({ scopes: ['obip:config:read'] });
 */
export async function startAdminTokenIssuer(issuer: string): Promise<AdminTokenIssuer> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const foreign = await generateKeyPair('ES256');
  const keys = await startJwksServer();
  const jwksUri = keys.publish('/jwks', { keys: [{ ...(await exportJWK(publicKey)), kid: 'admin', alg: 'ES256' }] });

  return {
    issuer,
    jwksUri,
    async mint(options = {}) {
      const key: CryptoKey = options.foreignKey ? foreign.privateKey : privateKey;
      return new SignJWT({
        scope: (options.scopes ?? ADMIN_API_SCOPES).join(' '),
        client_id: options.clientId ?? 'admin-console',
        ...options.extraClaims,
      })
        .setProtectedHeader({ alg: 'ES256', kid: 'admin', typ: options.typ ?? 'at+jwt' })
        .setIssuer(options.issuer ?? issuer)
        .setAudience(options.audience ?? DEFAULT_ADMIN_API_RESOURCE)
        .setSubject(options.subject ?? 'admin@bank.test')
        .setIssuedAt()
        .setExpirationTime(Math.floor(Date.now() / 1000) + (options.expiresInSeconds ?? 300))
        .setJti(randomUUID())
        .sign(key);
    },
    stop: () => keys.stop(),
  };
}
