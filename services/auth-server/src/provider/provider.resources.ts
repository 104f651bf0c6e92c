import type { KoaContextWithOidc } from 'oidc-provider';
import { adminApiResourceIndicators, type AdminApiResourceOptions } from './provider.admin';

export interface OpenBankingApiResourceOptions {
  /** The bank's Open Banking APIs as one resource (OPEN_BANKING_API_RESOURCE); the tokens' `aud`. */
  resource: string;
  /** The API scopes a token for it may carry. */
  scopes: readonly string[];
  accessTokenTtlSeconds: number;
}

const hasAuthorizationDetails = (ctx: KoaContextWithOidc) => {
  const details = ctx.oidc.params?.authorization_details;
  return details !== undefined && details !== '' && details !== '[]';
};

/**
 * RFC 8707 resource indicators with two resources:
 *
 * - config-api's admin API (provider.admin.ts): JWT access tokens for administrator clients;
 * - the bank's Open Banking APIs: opaque, sender-constrained access tokens like every TPP token,
 *   but audience-restricted. The engine issues RFC 9396 authorization_details only in tokens for
 *   a resource, so a request with authorization_details defaults to this one, and a code or
 *   refresh token granted for it keeps it.
 *
 * Requests without a resource or details keep the engine's opaque tokens that also serve userinfo.
 */
export function resourceIndicatorsFeature(options: {
  admin: AdminApiResourceOptions;
  openBanking: OpenBankingApiResourceOptions;
}) {
  const admin = adminApiResourceIndicators(options.admin);
  const { resource, scopes, accessTokenTtlSeconds } = options.openBanking;
  return {
    enabled: true,
    defaultResource: async (ctx: KoaContextWithOidc, client: { scope?: unknown }) =>
      (await admin.defaultResource(ctx, client)) ?? (hasAuthorizationDetails(ctx) ? resource : undefined),
    useGrantedResource: async (_ctx: KoaContextWithOidc, model: { resource?: unknown }) => model.resource === resource,
    getResourceServerInfo: async (ctx: KoaContextWithOidc, indicator: string, client: { scope?: unknown }) =>
      indicator === resource
        ? {
            scope: scopes.join(' '),
            audience: resource,
            accessTokenFormat: 'opaque' as const,
            accessTokenTTL: accessTokenTtlSeconds,
          }
        : admin.getResourceServerInfo(ctx, indicator, client),
  };
}
