import { z } from 'zod';
import {
  mongoSettings,
  loadSettingsOrExit,
  rateLimitSettings,
  serviceBaseSettings,
  setting,
  splitList,
} from '@obip/config';
import { DEFAULT_ADMIN_API_RESOURCE, subscriptionSettings } from '@obip/platform-config';
import { RAR_TYPES } from './rar/rar.rules';

/** An optional setting: unset means "derived" or "off", as its description says. */
function optional<T extends z.ZodType>(schema: T, description: string) {
  return schema.optional().describe(description);
}

const httpsUrl = z.string().refine((value) => {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' && !url.search && !url.hash;
  } catch {
    return false;
  }
}, 'must be an https URL without query or fragment');

/** RFC 8176 method → Open Banking ACR; `pwd` is the password login of the sandbox login page. */
const acrByAuthenticationMethod = z
  .record(
    z.string().regex(/^[a-z][a-z0-9_-]*$/, 'keys must be RFC 8176 authentication method values, e.g. pwd'),
    z.string().min(1, 'an ACR must not be empty'),
  )
  .refine((map) => typeof map.pwd === 'string', 'must map "pwd", the password login the login page offers');

/** Every environment variable auth-server reads, validated once at start-up. */
export const settingsShape = {
  ...serviceBaseSettings('auth-server', { http: 8081, grpc: 50051, ops: 9091 }),
  ...mongoSettings('obip_auth'),

  // --- Hosts (ARCHITECTURE: two public hosts) ---
  ISSUER: httpsUrl
    .default('https://127.0.0.1:8443')
    .describe(
      'Issuer Identifier: the public host (browsers, no client certificate) as TPPs see it through the ingress; discovery, /jwks, /authorize and the login pages are advertised on it. Fixed while auth-server runs; the issuer of the platform config in hand at start (CONFIG_CACHE_FILE) replaces it. Default: the sandbox public host (development only)',
    ),
  MTLS_BASE_URL: httpsUrl
    .default('https://127.0.0.1:9443')
    .describe(
      'Base URL of the mTLS host (client certificate required); /par, /token, /revoke, /userinfo and /bc-authorize are advertised on it, also as mtls_endpoint_aliases. Default: the sandbox mTLS host (development only)',
    ),
  REGISTRATION_ENDPOINT: optional(
    httpsUrl,
    'registration_endpoint advertised in discovery (served by dcr-service). Default: <MTLS_BASE_URL>/register',
  ),
  INTROSPECTION_ENDPOINT: optional(
    httpsUrl,
    'introspection_endpoint advertised in discovery (served by token-introspection). Default: <MTLS_BASE_URL>/introspect',
  ),

  // --- FAPI ---
  FAPI_DEFAULT_PROFILE: setting.oneOf(
    ['fapi1-advanced', 'fapi2-security', 'fapi2-message-signing'],
    'fapi2-security',
    'FAPI profile enforced for a client that dcr-service registered without one',
  ),
  AUTHORIZATION_DETAILS_TYPES: z
    .string()
    .transform(splitList)
    .pipe(z.array(z.enum(RAR_TYPES, { message: `each entry must be one of ${RAR_TYPES.join(', ')}` })))
    .default([...RAR_TYPES])
    .describe(
      `comma-separated RFC 9396 authorization_details types accepted (${RAR_TYPES.join(', ')}); empty turns Rich Authorization Requests off`,
    ),

  // --- Lifetimes (seconds; limits from the FAPI specs, see notes/fapi-and-dcr-rules.md §3.6) ---
  ACCESS_TOKEN_TTL_SECONDS: setting.integer(
    300,
    'lifetime of access tokens from the authorization_code and refresh_token grants (seconds; always sender-constrained)',
    { min: 30, max: 3600 },
  ),
  CLIENT_CREDENTIALS_TTL_SECONDS: setting.integer(300, 'lifetime of client_credentials access tokens (seconds)', {
    min: 30,
    max: 3600,
  }),
  ADMIN_API_RESOURCE: z
    .string()
    .refine(
      (value) => URL.canParse(value) && !value.includes('#'),
      'must be an absolute URI without fragment (RFC 8707 §2)',
    )
    .default(DEFAULT_ADMIN_API_RESOURCE)
    .describe(
      "resource indicator of config-api's admin API (its ADMIN_TOKEN_AUDIENCE): an administrator client's " +
        'client_credentials token for it is a JWT (RFC 9068) carrying the obip:* scopes the client holds',
    ),
  IDENTITY_ASSURANCE_TRUST_FRAMEWORKS: z
    .string()
    .transform(splitList)
    .pipe(
      z.array(
        z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'each entry must be a trust framework identifier, e.g. uk_tfida'),
      ),
    )
    .default(['uk_tfida', 'eidas'])
    .describe(
      'comma-separated trust frameworks under which the bank verified its customers (OpenID Connect for Identity Assurance trust_frameworks_supported); empty turns verified_claims off',
    ),
  OPEN_BANKING_API_RESOURCE: z
    .string()
    .refine(
      (value) => URL.canParse(value) && !value.includes('#'),
      'must be an absolute URI without fragment (RFC 8707 §2)',
    )
    .default('urn:obip:open-banking-api')
    .describe(
      "resource indicator (RFC 8707) of the bank's Open Banking APIs: access tokens carrying RFC 9396 authorization_details are issued for it (aud), opaque and sender-constrained",
    ),
  ADMIN_TOKEN_TTL_SECONDS: setting.integer(300, 'lifetime of admin API access tokens (seconds)', {
    min: 30,
    max: 3600,
  }),
  AUTHORIZATION_CODE_TTL_SECONDS: setting.integer(
    60,
    'lifetime of authorization codes (seconds; FAPI 2.0 SP 5.3.2.1: at most 60)',
    { min: 5, max: 60 },
  ),
  ID_TOKEN_TTL_SECONDS: setting.integer(300, 'lifetime of ID tokens (seconds)', { min: 30, max: 3600 }),
  REFRESH_TOKEN_TTL_SECONDS: setting.integer(
    90 * 86_400,
    'lifetime of refresh tokens (seconds; Open Banking UK consents last 90 days by default)',
    { min: 300, max: 365 * 86_400 },
  ),
  REFRESH_TOKEN_ROTATION: setting.boolean(
    false,
    'rotate refresh tokens for FAPI 1.0 clients; FAPI 2.0 clients are never rotated (FAPI 2.0 SP 5.3.2.1)',
  ),
  GRANT_TTL_SECONDS: setting.integer(
    90 * 86_400,
    'lifetime of a grant (the engine record linking a customer, a client and a consent), seconds',
    { min: 300, max: 365 * 86_400 },
  ),
  SESSION_TTL_SECONDS: setting.integer(3600, 'lifetime of a customer login session at auth-server (seconds)', {
    min: 60,
    max: 30 * 86_400,
  }),
  EXPIRED_GRANTS_PURGE_MS: setting.durationMs(
    15 * 60_000,
    'how often expired grants and refresh tokens are deleted from MongoDB (readers already ignore them; a TTL index also removes them where the server has one, FerretDB has none). 0 turns the sweep off',
    { min: 0, max: 86_400_000 },
  ),
  INTERACTION_TTL_SECONDS: setting.integer(600, 'how long a customer has to complete login and consent (seconds)', {
    min: 60,
    max: 3600,
  }),

  // --- Keys and secrets ---
  SIGNING_KEYS_FILE: optional(
    z.string().min(1),
    'path of a private JWKS (JSON) with the signing keys, at least one PS256 and one ES256 key (a Kubernetes Secret mount), re-read every SIGNING_KEYS_RELOAD_MS. The first key of each alg signs; later keys of that alg are published for verification only (config-api orders them for rotation). Unset: development keys are generated once and kept in DEV_KEYS_DIR, with a warning',
  ),
  COOKIE_KEYS: optional(
    z
      .string()
      .transform(splitList)
      .pipe(z.array(z.string().min(32, 'each key must be at least 32 characters')).min(1)),
    'comma-separated keys that sign the session and interaction cookies, newest first (older ones still verify). Unset: a development key kept in DEV_KEYS_DIR, with a warning',
  ),
  COOKIE_KEYS_FILE: optional(
    z.string().min(1),
    'path of a file with the cookie keys (a Kubernetes Secret mount), comma- or line-separated, newest first, re-read every SIGNING_KEYS_RELOAD_MS: rotate by putting a new key first and removing the oldest once its cookies have aged out (SESSION_TTL_SECONDS). Instead of COOKIE_KEYS',
  ),
  DPOP_NONCE_SECRET: optional(
    z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'must be 32 bytes, base64url without padding (43 characters)'),
    'secret from which DPoP server nonces are derived (RFC 9449 §8); the same on every replica. Unset: a development secret kept in DEV_KEYS_DIR, with a warning',
  ),
  DEV_KEYS_DIR: setting.string(
    'tmp/auth-server/dev-keys',
    'directory where development signing keys, cookie key and DPoP nonce secret are generated and kept when none are configured (relative to the working directory)',
  ),

  // --- Live settings (issue 8): config-api's values replace these without a restart ---
  ...subscriptionSettings(
    'auth-server',
    'lifetimes, FAPI default profile, PAR and DPoP nonce requirements, accepted algorithms, rate limits',
    'The issuer is taken from it at start',
  ),
  PAR_REQUIRED_FOR_FAPI1: setting.boolean(
    false,
    'FAPI 1.0 Advanced clients must use PAR too (FAPI 2.0 clients always must); live setting requirements.parForFapi1',
  ),
  DPOP_NONCES_REQUIRED: setting.boolean(
    true,
    'DPoP proofs must carry a server-issued nonce (RFC 9449 §8); live setting requirements.dpopNonces',
  ),
  ACCEPTED_SIGNING_ALGS: z
    .string()
    .transform(splitList)
    .pipe(
      z
        .array(z.enum(['PS256', 'ES256', 'EdDSA'], { message: 'each entry must be one of PS256, ES256, EdDSA' }))
        .min(1, 'must name at least one algorithm')
        .refine((algs) => new Set(algs).size === algs.length, 'must not repeat an algorithm'),
    )
    .default(['PS256', 'ES256', 'EdDSA'])
    .describe(
      'comma-separated JWS algorithms accepted for request objects, client assertions and DPoP proofs (any of PS256, ES256, EdDSA; never none, HS* or RS256); live setting signingAlgorithms',
    ),
  TOKEN_RATE_LIMIT_PER_MINUTE: setting.integer(
    600,
    'requests per client per minute at /token, counted in Redis across replicas; over it, 429 with Retry-After. Live setting rateLimits.tokenRequestsPerClientPerMinute',
    { min: 1, max: 100_000 },
  ),
  PAR_RATE_LIMIT_PER_MINUTE: setting.integer(
    600,
    'requests per client per minute at /par, counted like TOKEN_RATE_LIMIT_PER_MINUTE. Live setting rateLimits.parRequestsPerClientPerMinute',
    { min: 1, max: 100_000 },
  ),
  ...rateLimitSettings('every HTTP path (public and mTLS hosts)'),
  // --- CIBA (FAPI-CIBA; live setting ciba) ---
  CIBA_ENABLED: setting.boolean(
    true,
    "decoupled authentication (CIBA) at /bc-authorize on the mTLS host, with consent-service as the customer's authentication device; live setting ciba.enabled",
  ),
  CIBA_DELIVERY_MODES: z
    .string()
    .transform(splitList)
    .pipe(
      z
        .array(z.enum(['poll', 'ping'], { message: 'each entry must be poll or ping (FAPI-CIBA forbids push)' }))
        .min(1, 'must name at least one delivery mode'),
    )
    .default(['poll', 'ping'])
    .describe(
      'comma-separated CIBA token delivery modes offered: poll, ping (push never); live setting ciba.deliveryModes',
    ),
  CIBA_POLL_INTERVAL_SECONDS: setting.integer(
    5,
    'minimum seconds between two token requests for one pending auth_req_id (the interval returned by /bc-authorize); a faster poll gets slow_down. Live setting ciba.pollIntervalSeconds',
    { min: 1, max: 60 },
  ),
  CIBA_DEFAULT_EXPIRY_SECONDS: setting.integer(
    300,
    'lifetime of an auth_req_id when the client sends no requested_expiry; live setting ciba.defaultExpirySeconds',
    { min: 30, max: 3600 },
  ),
  CIBA_MAX_EXPIRY_SECONDS: setting.integer(
    600,
    'longest requested_expiry honoured (a longer one is shortened to it); live setting ciba.maxExpirySeconds',
    { min: 30, max: 3600 },
  ),
  CIBA_BINDING_MESSAGE_MAX_LENGTH: setting.integer(
    64,
    'longest binding_message accepted, in characters; live setting ciba.bindingMessageMaxLength',
    { min: 1, max: 256 },
  ),
  CIBA_PING_TIMEOUT_MS: setting.durationMs(
    5_000,
    "deadline of one ping to a client's backchannel_client_notification_endpoint",
    { min: 100, max: 30_000 },
  ),
  CIBA_PING_ATTEMPTS: setting.integer(
    3,
    'attempts of a ping that fails with a network error, a timeout or a 5xx (a 4xx or a redirect is never retried)',
    { min: 1, max: 10 },
  ),
  CIBA_PING_ALLOW_PRIVATE: setting.boolean(
    false,
    'allow pings to loopback, private and link-local addresses (sandbox and tests only: a TPP must not make the bank call into its own network)',
  ),
  CIBA_PING_CA_FILE: optional(
    z.string(),
    'PEM file of CAs trusted for client notification endpoints in addition to the system roots (sandbox: its own CA)',
  ),
  SIGNING_KEYS_RELOAD_MS: setting.durationMs(
    10_000,
    'how often SIGNING_KEYS_FILE is read again; a changed, valid key set is published at /jwks and signs from then on without a restart (an invalid one is logged and the current keys kept). 0: never re-read',
    { max: 3_600_000 },
  ),

  // --- Peers and the edge ---
  CLIENT_REGISTRY_GRPC_TARGET: setting.string(
    '127.0.0.1:50052',
    "gRPC target of dcr-service's obip.clients.v1.ClientRegistry, e.g. dns:///dcr-service-headless.obip.svc.cluster.local:50052",
  ),
  CONSENTS_GRPC_TARGET: setting.string(
    'dns:///127.0.0.1:50053',
    "gRPC target of consent-service's obip.consents.v1.Consents (customer login, accounts, consent decisions), e.g. dns:///consent-service-headless.obip.svc.cluster.local:50053; connected lazily",
  ),
  CONSENTS_GRPC_DEADLINE_MS: setting.durationMs(
    2_000,
    'deadline of each call to consent-service during login and consent; a consent-service that misses it makes the step a 503',
    { min: 100, max: 10_000 },
  ),
  ACR_BY_AUTHENTICATION_METHOD: setting.json(
    acrByAuthenticationMethod,
    { pwd: 'urn:openbanking:psd2:sca' },
    'JSON object: RFC 8176 authentication method (amr) → the acr asserted in the ID token after a login with it. Must map "pwd" (the password login). Default {"pwd":"urn:openbanking:psd2:sca"}',
  ),
  CLIENT_CACHE_TTL_MS: setting.durationMs(
    30_000,
    'how long a client read from dcr-service is reused before it is read again',
    { max: 300_000 },
  ),
  CLIENT_CERT_HEADER_FORMAT: setting.oneOf(
    ['nginx', 'xfcc', 'traefik', 'rfc9440'],
    'nginx',
    'how the ingress forwards the verified client certificate (ARCHITECTURE: Security model)',
  ),
  TRUSTED_PROXY_CIDRS: optional(
    z.string().transform(splitList),
    "comma-separated addresses or CIDRs of the ingress; a client-certificate header from any other peer is refused, and only these peers' X-Forwarded-For names the source address of per-address rate limits. Unset: only the NetworkPolicy guards the header, and per-address limits count the TCP peer",
  ),
};

export type AuthServerSettings = z.infer<z.ZodObject<typeof settingsShape>>;

export function loadConfig(env: NodeJS.ProcessEnv = process.env): AuthServerSettings {
  return loadSettingsOrExit('auth-server', settingsShape, env);
}
