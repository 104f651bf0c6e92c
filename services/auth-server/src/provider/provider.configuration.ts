import { errors, type AdapterFactory, type KoaContextWithOidc } from 'oidc-provider';
import type { JWK } from 'jose';
import { ADMIN_API_SCOPES } from '@obip/platform-config';
import { cibaExpirySeconds, cibaFeature, type CibaFeatureInput } from '../ciba/ciba.feature';
import type { AuthServerSettings } from '../config';
import type { LiveSettings } from '../live/live.settings';
import type { MtlsHooks } from '../mtls/mtls.certificates';
import { resourceIndicatorsFeature } from './provider.resources';
import { assertClaimsParameter, identityAssuranceMetadata } from '../ekyc/ekyc.feature';
import { engineProfileOf, isPlatformProfile, PROFILE_METADATA, type PlatformProfile } from './provider.profile.rules';
import { ENGINE_ROUTES } from './provider.routes';
import { richAuthorizationRequestsFeature } from '../rar/rar.feature';

/** Seconds a JWT's iat/nbf may lie ahead of our clock, and its exp behind it. */
export const CLOCK_TOLERANCE_S = 10;

/**
 * Checks on a client assertion beyond its signature, audience list, nbf and exp (which the engine
 * checks). Replaces the engine's default hook, so its rule is restated first.
 */
function clientAssertionClaimsCheck(issuer: string) {
  return async (ctx: KoaContextWithOidc, claims: Record<string, unknown>): Promise<void> => {
    // FAPI 2.0 SP 5.3.2.1-8: the issuer identifier as the only audience.
    if (ctx.oidc.isFapi('2.0') && claims.aud !== issuer) {
      throw new errors.InvalidClientAuth('audience (aud) must equal the issuer identifier url');
    }
    // RFC 7519 §4.1.6: iat is when the JWT was issued. The engine checks it only when there is no
    // exp, so a client whose clock runs ahead was accepted however far ahead it was; beyond the
    // tolerance (FAPI 2.0 SP 5.3.2.1-11) the assertion is refused, as one with a future nbf is.
    if (typeof claims.iat === 'number' && claims.iat > Math.floor(Date.now() / 1000) + CLOCK_TOLERANCE_S) {
      throw new errors.InvalidClientAuth('client assertion iat is in the future');
    }
  };
}

/** ACR values of Open Banking UK (OBIE Security Profile): strong and regular customer authentication. */
export const OPEN_BANKING_ACR_VALUES = ['urn:openbanking:psd2:sca', 'urn:openbanking:psd2:ca'];

/** Scopes a TPP may request: OIDC, and the Open Banking API families. */
export const SCOPES = ['openid', 'offline_access', 'accounts', 'payments', 'fundsconfirmations'];

/** The scopes of the bank's Open Banking APIs (the OPEN_BANKING_API_RESOURCE resource server). */
export const OPEN_BANKING_API_SCOPES = ['accounts', 'payments', 'fundsconfirmations'];

/** The customer behind a grant, as the engine's `findAccount` returns it. */
export interface AccountLookup {
  findAccount(
    ctx: KoaContextWithOidc,
    sub: string,
  ): Promise<
    | {
        accountId: string;
        /** The engine's account.claims(use, scope, claims): `claims` is the claims parameter's request for `use`. */
        claims(use: string, scope: string, claims?: Record<string, unknown>): Promise<Record<string, unknown>>;
      }
    | undefined
  >;
}

export interface ProviderConfigurationInput {
  /** Settings fixed for the life of the process. */
  settings: AuthServerSettings;
  /** The Issuer Identifier chosen at start (live.settings.ts: the issuer is never changed live). */
  issuer: string;
  /** The live settings this engine is built with; a change builds a new engine (live.engine.ts). */
  live: LiveSettings;
  adapter: AdapterFactory;
  /** Private signing JWKS; the first key of each alg signs, the others are published to verify. */
  jwks: { keys: JWK[] };
  cookieKeys: string[];
  dpopNonceSecret: Buffer;
  mtls: MtlsHooks['engineFeature'];
  accounts: AccountLookup;
  /** CIBA's peers: consent-service as the authentication device, and auth-server's own records. */
  ciba: Pick<CibaFeatureInput, 'directory' | 'store'>;
  /** Renders the engine's error page (HTML, no third-party assets). */
  renderError(ctx: KoaContextWithOidc, out: Record<string, unknown>): Promise<void>;
}

/**
 * The bank's own application (clients.v1 Client.first_party, which only an administrator's
 * CreateClient sets, never DCR), as the client adapter marks it in the engine's metadata.
 */
export const FIRST_PARTY_METADATA = 'obip_first_party';

/** A metadata value the client adapter set, as the engine's Client holds it (camelCased). */
function registeredValue(client: Record<string, unknown> | undefined, name: string): unknown {
  return client?.[camelCase(name)] ?? client?.[name];
}

/** The platform profile of the client in the request (set in its metadata by the client adapter). */
export function profileOfClient(
  client: Record<string, unknown> | undefined,
  fallback: PlatformProfile,
): PlatformProfile {
  const registered = registeredValue(client, PROFILE_METADATA);
  return isPlatformProfile(registered) ? registered : fallback;
}

/** Whether the engine's client is first-party (see FIRST_PARTY_METADATA). */
export function isFirstPartyClient(client: Record<string, unknown> | undefined): boolean {
  return registeredValue(client, FIRST_PARTY_METADATA) === true;
}

function camelCase(name: string): string {
  return name.replace(/_([a-z])/g, (_, letter: string) => letter.toUpperCase());
}

/**
 * Base URLs of the mTLS host's endpoints (RFC 8705 §5 `mtls_endpoint_aliases`).
 *
 * @example
 * mtlsEndpointAliases('https://mtls.bank.example'); // { token_endpoint: 'https://mtls.bank.example/token', … }
 */
export function mtlsEndpointAliases(mtlsBaseUrl: string): Record<string, string> {
  const base = new URL(mtlsBaseUrl).origin;
  return {
    token_endpoint: `${base}${ENGINE_ROUTES.token}`,
    pushed_authorization_request_endpoint: `${base}${ENGINE_ROUTES.pushed_authorization_request}`,
    revocation_endpoint: `${base}${ENGINE_ROUTES.revocation}`,
    userinfo_endpoint: `${base}${ENGINE_ROUTES.userinfo}`,
    backchannel_authentication_endpoint: `${base}${ENGINE_ROUTES.backchannel_authentication}`,
  };
}

/**
 * node-oidc-provider's configuration, built from auth-server's settings. Every FAPI check stays
 * the engine's; this only chooses features, algorithms, lifetimes and hooks:
 *
 * - client authentication: private_key_jwt, tls_client_auth, self_signed_tls_client_auth only
 *   (FAPI 1.0 Advanced 5.2.2-14, FAPI 2.0 SP 5.3.2.1-5); no secrets, no public clients;
 * - JWS algorithms PS256 and ES256, EdDSA where FAPI 2.0 allows it; never none, HS* or RS256;
 *   what clients may sign with (request objects, client assertions, DPoP proofs) narrowed to the
 *   live `signingAlgorithms`;
 * - the FAPI profile per client (features.fapi.profile), the profile's required metadata being
 *   added by the client adapter (provider.profile.rules.ts);
 * - PAR, JAR, JARM, DPoP with server nonces, mTLS-bound tokens, RFC 9207 `iss`;
 * - CIBA poll and ping with consent-service as the authentication device (ciba/);
 * - the engine's own registration, introspection and dev interactions off (dcr-service,
 *   token-introspection and interactions/ serve those).
 */
export function buildProviderConfiguration(input: ProviderConfigurationInput): Record<string, unknown> {
  const { settings, live } = input;
  const defaultProfile = live.defaultFapiProfile;
  // Only ever narrows the lists below: what FAPI allows, intersected with what the platform accepts.
  const accepted = (algs: string[]) => algs.filter((alg) => (live.signingAlgorithms as string[]).includes(alg));
  const profileOf = (ctx: KoaContextWithOidc | undefined) => profileOfClient(ctx?.oidc?.client, defaultProfile);
  const mtlsBase = new URL(settings.MTLS_BASE_URL).origin;

  return {
    adapter: input.adapter,
    jwks: input.jwks,
    acrValues: OPEN_BANKING_ACR_VALUES,
    claims: {
      openid: ['sub'],
      acr: null,
      auth_time: null,
      openbanking_intent_id: null,
      // OpenID Connect for Identity Assurance: only through the claims parameter, never by scope.
      ...(settings.IDENTITY_ASSURANCE_TRUST_FRAMEWORKS.length > 0 ? { verified_claims: null } : {}),
    },
    // FAPI 2.0 SP 5.3.2.2-25: no CORS at the authorization endpoint; TPPs are servers, never browsers.
    clientBasedCORS: () => false,
    clientAuthMethods: ['private_key_jwt', 'tls_client_auth', 'self_signed_tls_client_auth'],
    clientDefaults: {
      grant_types: ['authorization_code'],
      response_types: ['code'],
      id_token_signed_response_alg: 'PS256',
      authorization_signed_response_alg: 'PS256',
      token_endpoint_auth_method: 'private_key_jwt',
      // RFC 9396 §10: a client may use every offered type unless its registration names fewer.
      authorization_details_types: [...settings.AUTHORIZATION_DETAILS_TYPES],
    },
    // FAPI 2.0 SP 5.3.2.1-11: accept iat/nbf up to 10 s ahead.
    clockTolerance: CLOCK_TOLERANCE_S,
    assertJwtClientAuthClaimsAndHeader: clientAssertionClaimsCheck(new URL(input.issuer).origin),
    // FAPI 1.0 Part 1 5.2.2-5: redirect_uri is required in every request.
    allowOmittingSingleRegisteredRedirectUri: false,
    cookies: {
      keys: input.cookieKeys,
      long: { signed: true, httpOnly: true, sameSite: 'lax' },
      short: { signed: true, httpOnly: true, sameSite: 'lax' },
    },
    discovery: {
      claim_types_supported: ['normal'],
      mtls_endpoint_aliases: mtlsEndpointAliases(settings.MTLS_BASE_URL),
      registration_endpoint: settings.REGISTRATION_ENDPOINT ?? `${mtlsBase}/register`,
      introspection_endpoint: settings.INTROSPECTION_ENDPOINT ?? `${mtlsBase}/introspect`,
      ...(settings.IDENTITY_ASSURANCE_TRUST_FRAMEWORKS.length > 0
        ? identityAssuranceMetadata(settings.IDENTITY_ASSURANCE_TRUST_FRAMEWORKS)
        : {}),
    },
    enabledJWA: {
      clientAuthSigningAlgValues: accepted(['PS256', 'ES256', 'EdDSA']),
      idTokenSigningAlgValues: ['PS256', 'ES256'],
      requestObjectSigningAlgValues: accepted(['PS256', 'ES256', 'EdDSA']),
      userinfoSigningAlgValues: ['PS256', 'ES256'],
      authorizationSigningAlgValues: ['PS256', 'ES256'],
      introspectionSigningAlgValues: ['PS256', 'ES256'],
      dPoPSigningAlgValues: accepted(['ES256', 'PS256', 'EdDSA']),
      // FAPI 1.0 Part 2 8.6.1: no RSA1_5; encryption is off, the lists only bound what could be enabled.
      idTokenEncryptionAlgValues: ['RSA-OAEP-256', 'ECDH-ES'],
      requestObjectEncryptionAlgValues: ['RSA-OAEP-256', 'ECDH-ES'],
      userinfoEncryptionAlgValues: ['RSA-OAEP-256', 'ECDH-ES'],
      introspectionEncryptionAlgValues: ['RSA-OAEP-256', 'ECDH-ES'],
      authorizationEncryptionAlgValues: ['RSA-OAEP-256', 'ECDH-ES'],
    },
    extraClientMetadata: {
      properties: [PROFILE_METADATA, FIRST_PARTY_METADATA],
      validator(_ctx: unknown, key: string, value: unknown) {
        if (key === PROFILE_METADATA && !isPlatformProfile(value)) {
          throw new errors.InvalidClient(`${PROFILE_METADATA} is not a known profile`);
        }
        if (key === FIRST_PARTY_METADATA && typeof value !== 'boolean') {
          throw new errors.InvalidClient(`${FIRST_PARTY_METADATA} must be a boolean`);
        }
      },
    },
    // Open Banking: tokens outlive the browser session; consent expiry bounds them instead.
    expiresWithSession: async () => false,
    features: {
      devInteractions: { enabled: false },
      ciba: cibaFeature({ settings: live.ciba, ...input.ciba }),
      claimsParameter: { enabled: true, assertClaimsParameter },
      clientCredentials: { enabled: true },
      dPoP: {
        enabled: true,
        nonceSecret: input.dpopNonceSecret,
        // RFC 9449 §8: server nonces bound DPoP proofs' freshness (live setting requirements.dpopNonces).
        requireNonce: () => live.requirements.dpopNonces,
      },
      fapi: {
        enabled: true,
        profile: (ctx: KoaContextWithOidc | undefined) => engineProfileOf(profileOf(ctx)),
      },
      introspection: { enabled: false },
      jwtResponseModes: { enabled: true },
      mTLS: {
        enabled: true,
        certificateBoundAccessTokens: true,
        selfSignedTlsClientAuth: true,
        tlsClientAuth: true,
        ...input.mtls,
      },
      richAuthorizationRequests: richAuthorizationRequestsFeature(settings.AUTHORIZATION_DETAILS_TYPES),
      pushedAuthorizationRequests: {
        enabled: true,
        // Required per client by its profile (FAPI 2.0); FAPI 1.0 clients may also send by value.
        requirePushedAuthorizationRequests: false,
        allowUnregisteredRedirectUris: false,
      },
      registration: { enabled: false },
      requestObjects: { enabled: true, requireSignedRequestObject: false },
      resourceIndicators: resourceIndicatorsFeature({
        admin: { resource: settings.ADMIN_API_RESOURCE, accessTokenTtlSeconds: settings.ADMIN_TOKEN_TTL_SECONDS },
        openBanking: {
          resource: settings.OPEN_BANKING_API_RESOURCE,
          scopes: OPEN_BANKING_API_SCOPES,
          accessTokenTtlSeconds: live.lifetimes.accessTokenSeconds,
        },
      }),
      revocation: { enabled: true },
      rpInitiatedLogout: { enabled: false },
      userinfo: { enabled: true },
    },
    findAccount: (ctx: KoaContextWithOidc, sub: string) => input.accounts.findAccount(ctx, sub),
    interactions: {
      url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}`,
    },
    // Open Banking: a client allowed the refresh_token grant gets one, without offline_access.
    issueRefreshToken: async (_ctx: unknown, client: { grantTypeAllowed(type: string): boolean }) =>
      client.grantTypeAllowed('refresh_token'),
    renderError: (ctx: KoaContextWithOidc, out: Record<string, unknown>) => input.renderError(ctx, out),
    responseTypes: ['code', 'code id_token'],
    // FAPI 2.0 SP 5.3.2.1-8: never rotate for FAPI 2.0; a setting for FAPI 1.0 clients.
    rotateRefreshToken: (ctx: KoaContextWithOidc) =>
      profileOf(ctx) === 'fapi1-advanced' ? settings.REFRESH_TOKEN_ROTATION : false,
    routes: Object.fromEntries(Object.entries(ENGINE_ROUTES)),
    // Admin scopes are known to the engine so administrator clients validate; discovery hides them.
    scopes: [...SCOPES, ...ADMIN_API_SCOPES],
    subjectTypes: ['public'],
    ttl: {
      AccessToken: live.lifetimes.accessTokenSeconds,
      AuthorizationCode: live.lifetimes.authorizationCodeSeconds,
      // A resource server's own lifetime first (the admin API's, provider.admin.ts).
      ClientCredentials: (_ctx: unknown, token: { resourceServer?: { accessTokenTTL?: number } }) =>
        token.resourceServer?.accessTokenTTL ?? live.lifetimes.clientCredentialsSeconds,
      Grant: settings.GRANT_TTL_SECONDS,
      IdToken: live.lifetimes.idTokenSeconds,
      Interaction: settings.INTERACTION_TTL_SECONDS,
      RefreshToken: live.lifetimes.refreshTokenSeconds,
      Session: settings.SESSION_TTL_SECONDS,
      BackchannelAuthenticationRequest: (ctx: KoaContextWithOidc | undefined) =>
        cibaExpirySeconds(ctx?.oidc?.params?.requested_expiry, live.ciba),
    },
  };
}
