/**
 * The engine's routes, named as charts/obip/files/routes.json routes them: endpoints that
 * authenticate a client on the mTLS host, the browser-facing ones on the public host.
 */
export const ENGINE_ROUTES = {
  authorization: '/authorize',
  pushed_authorization_request: '/par',
  token: '/token',
  revocation: '/revoke',
  userinfo: '/userinfo',
  backchannel_authentication: '/bc-authorize',
  jwks: '/jwks',
  end_session: '/session/end',
  // Off (dcr-service and token-introspection serve these), named so no route collides.
  registration: '/engine-disabled/registration',
  introspection: '/engine-disabled/introspection',
  code_verification: '/engine-disabled/device',
  device_authorization: '/engine-disabled/device/auth',
  challenge: '/engine-disabled/challenge',
  credential: '/engine-disabled/credential',
} as const;

/** Routes the ingress sends only through the mTLS host. */
export const MTLS_ROUTE_NAMES = [
  'pushed_authorization_request',
  'token',
  'revocation',
  'userinfo',
  'backchannel_authentication',
] as const;

const MTLS_PATHS = MTLS_ROUTE_NAMES.map((name) => ENGINE_ROUTES[name]);

/** RFC 8414 metadata path; served with the same document as OIDC discovery (FAPI 2.0 SP 5.3.2.1-1). */
export const OAUTH_METADATA_PATH = '/.well-known/oauth-authorization-server';
export const OIDC_DISCOVERY_PATH = '/.well-known/openid-configuration';

/** Path prefixes handed to the engine; everything else is auth-server's own (interactions) or 404. */
const ENGINE_PREFIXES = [OIDC_DISCOVERY_PATH, ENGINE_ROUTES.jwks, ENGINE_ROUTES.authorization, ...MTLS_PATHS];

/** Whether `path` (pathname only) is an engine route, on path-segment boundaries as the edge matches. */
export function isEngineRoute(path: string): boolean {
  return ENGINE_PREFIXES.some((prefix) => path === prefix || path.startsWith(`${prefix}/`));
}

/** Whether the ingress routes `path` through the mTLS host (routes.json). */
export function isMtlsRoute(path: string): boolean {
  return MTLS_PATHS.some((prefix) => path === prefix || path.startsWith(`${prefix}/`));
}
