import { createHash } from 'node:crypto';

/**
 * Models whose id is a credential a client presents (a token, a code, a request_uri, an
 * auth_req_id). They are stored under the SHA-256 of the id and without it in the payload, so a
 * copy of the store yields no usable credential (ARCHITECTURE: token values are never stored).
 * Sessions and interactions keep their ids: the engine looks sessions up by uid and needs the id
 * back, and both are bound to signed cookies.
 */
export const CREDENTIAL_MODELS: ReadonlySet<string> = new Set([
  'AccessToken',
  'ClientCredentials',
  'AuthorizationCode',
  'RefreshToken',
  'PushedAuthorizationRequest',
  'BackchannelAuthenticationRequest',
  'DeviceCode',
  'RegistrationAccessToken',
  'InitialAccessToken',
]);

/** Models the engine links to a grant (lib/adapters/memory_adapter.js `grantable`), so `revokeByGrantId` reaches them. */
export const GRANTABLE_MODELS: ReadonlySet<string> = new Set([
  'AccessToken',
  'AuthorizationCode',
  'RefreshToken',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
]);

/** Models that are tokens for a resource server, which token-introspection must know about. */
export const ISSUED_TOKEN_MODELS: ReadonlySet<string> = new Set(['AccessToken', 'ClientCredentials', 'RefreshToken']);

/** The id under which a model's record is stored. */
export function storageIdOf(model: string, id: string): string {
  return CREDENTIAL_MODELS.has(model) ? createHash('sha256').update(id).digest('base64url') : id;
}
