/**
 * Who is calling an intent API: the TPP whose access token this is, proven by the client
 * certificate the token is bound to. The token is looked up in the shared token store that
 * auth-server writes (ARCHITECTURE: the one shared store).
 */
import type { RequestHandler } from 'express';
import type { ClientCertificateReader } from '@obip/http';
import type { TokenRecord } from '@obip/token-store';
import { ObieRequestError } from './intents.errors';

/** The token lookup this needs (`@obip/token-store` `TokenStore.find`). */
export interface AccessTokens {
  find(token: string): Promise<TokenRecord | undefined>;
}

/** The authenticated TPP, set on the request by {@link requireTppToken}. */
export interface TppCaller {
  clientId: string;
  grantType: string;
  /** The consent a customer-authorised token was issued under. */
  consentId: string | undefined;
}

declare module 'express-serve-static-core' {
  interface Request {
    /** Set by requireTppToken. */
    tpp?: TppCaller;
  }
}

export interface TokenRequirement {
  /** The scope the route needs (`accounts`, `payments`). */
  scope: string;
  /**
   * Grant types whose tokens this route accepts. OBIE: consent creation and reads take a
   * client_credentials token; funds confirmation takes the customer's authorization_code token.
   */
  grantTypes: readonly string[];
}

const BEARER = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/;

function unauthorised(code: string, message: string, path: string, oauthError: string): ObieRequestError {
  return new ObieRequestError('unauthorized', [{ ErrorCode: code, Message: message, Path: path }], {
    code: oauthError,
    // RFC 6750 §3: a protected resource answers 401 with a Bearer challenge.
    headers: { 'WWW-Authenticate': `Bearer error="${oauthError}"` },
  });
}

/**
 * Express middleware: requires `Authorization: Bearer <token>` naming a live access token of
 * an accepted grant type with `requirement.scope`, bound to the presented client certificate
 * (RFC 8705 §3: `cnf.x5t#S256` equals the SHA-256 thumbprint of the certificate, otherwise 401
 * invalid_token). Sets `req.tpp`.
 *
 * @example
 * router.post('/aisp/account-access-consents', requireTppToken(deps, { scope: 'accounts', grantTypes: ['client_credentials'] }), create);
 */
export function requireTppToken(
  dependencies: { tokens: AccessTokens; readCertificate: ClientCertificateReader },
  requirement: TokenRequirement,
): RequestHandler {
  return async function authenticateTpp(req, _res, next) {
    try {
      const header = req.headers.authorization;
      if (header === undefined) {
        throw unauthorised('UK.OBIE.Header.Missing', 'an access token is required', 'Authorization', 'invalid_token');
      }
      const token = BEARER.exec(header)?.[1];
      if (!token) {
        throw unauthorised(
          'UK.OBIE.Header.Invalid',
          'Authorization must be a Bearer token',
          'Authorization',
          'invalid_token',
        );
      }
      const certificate = dependencies.readCertificate(req);
      if (!certificate) {
        throw unauthorised(
          'UK.OBIE.Header.Missing',
          'a client certificate is required',
          'ssl-client-cert',
          'invalid_token',
        );
      }
      const record = await dependencies.tokens.find(token);
      if (!record || record.tokenType !== 'access_token') {
        throw unauthorised(
          'UK.OBIE.Header.Invalid',
          'the access token is not active',
          'Authorization',
          'invalid_token',
        );
      }
      if (record.cnf?.['x5t#S256'] !== certificate.thumbprintS256) {
        throw unauthorised(
          'UK.OBIE.Header.Invalid',
          'the access token is not bound to the presented client certificate',
          'Authorization',
          'invalid_token',
        );
      }
      if (!requirement.grantTypes.includes(record.grantType) || !record.scope.split(' ').includes(requirement.scope)) {
        throw new ObieRequestError(
          'forbidden',
          [
            {
              ErrorCode: 'UK.OBIE.Header.Invalid',
              Message: `the access token does not allow this (scope ${requirement.scope})`,
              Path: 'Authorization',
            },
          ],
          {
            code: 'insufficient_scope',
            headers: { 'WWW-Authenticate': `Bearer error="insufficient_scope", scope="${requirement.scope}"` },
          },
        );
      }
      req.tpp = { clientId: record.clientId, grantType: record.grantType, consentId: record.consentId };
      next();
    } catch (error) {
      next(error);
    }
  };
}
