/**
 * The scopes of config-api's admin API. Reserved to administrator clients: dcr-service accepts
 * them only on the onboarding path (never from a software statement), and auth-server puts them
 * only in JWT access tokens for the admin API's resource indicator.
 */
export const ADMIN_API_SCOPES = [
  'obip:config:read',
  'obip:config:write',
  'obip:keys:rotate',
  'obip:clients:write',
  'obip:audit:read',
  'obip:consents:read',
  'obip:consents:write',
] as const;
export type AdminApiScope = (typeof ADMIN_API_SCOPES)[number];

/**
 * The admin API's default resource indicator (RFC 8707 §2: an absolute URI), which is also the
 * `aud` config-api requires of the tokens it accepts.
 */
export const DEFAULT_ADMIN_API_RESOURCE = 'urn:obip:config-api';

const ADMIN_SCOPE_SET: ReadonlySet<string> = new Set(ADMIN_API_SCOPES);

export function isAdminApiScope(scope: string): scope is AdminApiScope {
  return ADMIN_SCOPE_SET.has(scope);
}
