import { errors, type KoaContextWithOidc } from 'oidc-provider';
import { isAdminApiScope } from '@obip/platform-config';

export interface AdminApiResourceOptions {
  /** config-api's resource indicator, also the tokens' `aud` (ADMIN_API_RESOURCE). */
  resource: string;
  accessTokenTtlSeconds: number;
}

/** The admin scopes in a client's registered `scope`. */
export function adminScopesOf(client: { scope?: unknown } | undefined): string[] {
  const scope = typeof client?.scope === 'string' ? client.scope : '';
  return scope.split(' ').filter(isAdminApiScope);
}

/**
 * An administrator client holds admin scopes only (dcr-service refuses to mix them with TPP
 * scopes). Its tokens are bearer tokens for config-api's internal host, which sees no client
 * certificate, so auth-server does not certificate-bind them (see adapter.clients.ts).
 */
export function isAdministratorClient(metadata: { scope?: unknown }): boolean {
  const scopes = typeof metadata.scope === 'string' ? metadata.scope.split(' ').filter(Boolean) : [];
  return scopes.length > 0 && scopes.every(isAdminApiScope);
}

function requestedScopes(ctx: KoaContextWithOidc): string[] {
  const scope = ctx.oidc.params?.scope;
  return typeof scope === 'string' ? scope.split(' ') : [];
}

function isClientCredentialsGrant(ctx: KoaContextWithOidc): boolean {
  return ctx.oidc.route === 'token' && ctx.oidc.params?.grant_type === 'client_credentials';
}

/**
 * RFC 8707 resource indicators with exactly one resource: config-api's admin API. A
 * client_credentials request from an administrator client for it (named with `resource`, or
 * implied by asking for an admin scope) gets an RFC 9068 JWT access token, `aud` the resource,
 * scope narrowed to the admin scopes the client holds; config-api verifies it against
 * auth-server's JWKS. Every other resource, grant or client gets `invalid_target`, and requests
 * without a resource keep the engine's opaque tokens.
 */
export function adminApiResourceIndicators(options: AdminApiResourceOptions) {
  return {
    enabled: true,
    // Only for a client holding admin scopes: anyone else asking for one gets the engine's invalid_scope.
    defaultResource: async (ctx: KoaContextWithOidc, client: { scope?: unknown }) =>
      isClientCredentialsGrant(ctx) && adminScopesOf(client).length > 0 && requestedScopes(ctx).some(isAdminApiScope)
        ? options.resource
        : undefined,
    useGrantedResource: async () => false,
    getResourceServerInfo: async (ctx: KoaContextWithOidc, resourceIndicator: string, client: { scope?: unknown }) => {
      if (resourceIndicator !== options.resource) {
        throw new errors.InvalidTarget('this authorization server issues tokens for no such resource');
      }
      if (!isClientCredentialsGrant(ctx)) {
        throw new errors.InvalidTarget('tokens for the admin API come from the client_credentials grant only');
      }
      const scopes = adminScopesOf(client);
      if (scopes.length === 0) {
        throw new errors.InvalidTarget('the client holds no admin API scope');
      }
      return {
        scope: scopes.join(' '),
        audience: options.resource,
        accessTokenFormat: 'jwt' as const,
        accessTokenTTL: options.accessTokenTtlSeconds,
        // RFC 9068 §2.1 with the platform's FAPI signing algorithm; typ at+jwt is the engine's.
        jwt: { sign: { alg: 'PS256' } },
      };
    },
  };
}
