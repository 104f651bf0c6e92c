import { z } from 'zod';
import {
  mongoSettings,
  loadSettingsOrExit,
  perClientRateLimitSetting,
  rateLimitSettings,
  serviceBaseSettings,
  setting,
} from '@obip/config';
import { subscriptionSettings } from '@obip/platform-config';

const httpsOrHttpUrl = z.string().refine((value) => {
  try {
    return ['https:', 'http:'].includes(new URL(value).protocol);
  } catch {
    return false;
  }
}, 'must be an http(s) URL');

/** One trusted software-statement issuer (OB Directory, a national directory, the sandbox's). */
export const trustedDirectorySchema = z
  .object({
    issuer: z.string().min(1, 'issuer must not be empty'),
    jwksUri: httpsOrHttpUrl,
    environment: z.enum(['sandbox', 'production']),
  })
  .strict();

export type TrustedDirectory = z.infer<typeof trustedDirectorySchema>;

const DEFAULT_SCOPES_BY_ROLE = { AISP: ['accounts'], PISP: ['payments'], CBPII: ['fundsconfirmations'] };

/** Every environment variable dcr-service reads, validated once at start-up. */
export const settingsShape = {
  ...serviceBaseSettings('dcr-service', { http: 8082, grpc: 50052, ops: 9092 }),
  ...mongoSettings('obip_dcr'),

  // ---- trust ----
  DCR_TRUSTED_DIRECTORIES: setting.json(
    z.array(trustedDirectorySchema),
    [],
    'JSON array of trusted software-statement issuers: [{"issuer","jwksUri","environment":"sandbox"|"production"}]. ' +
      'An SSA from any other issuer is refused with unapproved_software_statement. With CONFIG_GRPC_TARGET, the ' +
      'directories config-api publishes replace this list once a snapshot is in hand. Empty by default: nothing can ' +
      'register until it is set',
  ),
  DCR_TRUSTED_CA_FILE: z
    .string()
    .optional()
    .describe(
      'PEM file of the CAs that may issue TPP transport certificates (OB / eIDAS issuing and root CAs). The edge already ' +
        'verifies the chain; when this is set dcr-service verifies the leaf against it too (defence in depth). Set, it ' +
        'takes precedence over the trust anchors config-api publishes; unset, a non-empty list of published trust ' +
        'anchors is used instead (CONFIG_GRPC_TARGET), and with neither the edge verifies alone',
    ),
  DCR_CERTIFICATE_BINDING: setting.oneOf(
    ['require', 'warn', 'off'],
    'require',
    'whether a directory-issued transport certificate must name the SSA software (CN = software_id, OU = org_id): ' +
      'require refuses a mismatch, warn logs it, off skips the check (eIDAS QWACs carry no software id)',
  ),
  DCR_ACCEPTED_AUDIENCES: setting.list(
    [],
    'identifiers of this bank accepted as the registration request aud (OB organisation id, issuer URL). Empty by ' +
      'default: every registration is refused until it is set',
  ),

  // ---- live trust (issue 8): what config-api publishes replaces the trust settings above without a restart ----
  ...subscriptionSettings(
    'dcr-service',
    'the active directories replace DCR_TRUSTED_DIRECTORIES once config-api holds at least one (until then the ' +
      'environment list stays; a removed or disabled directory is refused with unapproved_software_statement and its ' +
      'cached key set dropped), and the trust anchors replace the CAs of transport certificates unless ' +
      'DCR_TRUSTED_CA_FILE is set',
  ),

  // ---- time windows ----
  DCR_CLOCK_SKEW_SECONDS: setting.integer(30, 'tolerated clock difference for exp and iat, in seconds', {
    min: 0,
    max: 300,
  }),
  DCR_REQUEST_MAX_AGE_SECONDS: setting.integer(
    600,
    'policy window: a registration request older than this (by iat) is refused, in seconds',
    { min: 10, max: 86_400 },
  ),
  DCR_SSA_MAX_AGE_SECONDS: setting.integer(
    1_800,
    'software statement acceptance window by its iat, in seconds (OB Directory "SSA lifetime" guidance: minutes for automated DCR)',
    { min: 10, max: 31_536_000 },
  ),
  DCR_SSA_REPLAY_CHECK: setting.boolean(
    true,
    'refuse a software statement whose jti was already used for another registration (kept for the acceptance window)',
  ),

  // ---- client metadata policy ----
  DCR_SIGNING_ALGS: setting.listOf(
    ['PS256', 'ES256', 'EdDSA'],
    ['PS256', 'ES256'],
    'JWS algorithms accepted for the request, the SSA and the client metadata algs (FAPI 1.0 §8.6; EdDSA only under FAPI 2.0)',
  ),
  DCR_TOKEN_ENDPOINT_AUTH_METHODS: setting.listOf(
    ['private_key_jwt', 'tls_client_auth', 'self_signed_tls_client_auth'],
    ['private_key_jwt', 'tls_client_auth', 'self_signed_tls_client_auth'],
    'token_endpoint_auth_method values a client may register',
  ),
  DCR_APPLICATION_TYPES: setting.listOf(
    ['web', 'mobile', 'native'],
    ['web'],
    'application_type values a client may register',
  ),
  DCR_SCOPES_BY_ROLE: setting.json(
    z.record(z.string().min(1), z.array(z.string().min(1))),
    DEFAULT_SCOPES_BY_ROLE,
    'JSON object: software role → scopes it permits (OBIE DCR data mapping). Default {"AISP":["accounts"],' +
      '"PISP":["payments"],"CBPII":["fundsconfirmations"]}; openid is always permitted',
  ),
  DCR_USE_SOFTWARE_ID_AS_CLIENT_NAME: setting.boolean(
    false,
    'register client_name as the SSA software_id instead of software_client_name',
  ),

  // ---- sandbox relaxations ----
  DCR_ALLOW_LOOPBACK_REDIRECT_URIS: setting.boolean(
    false,
    'sandbox only: accept redirect URIs on localhost / loopback addresses (OBIE DCR forbids them)',
  ),
  DCR_ALLOW_PRIVATE_JWKS_URIS: setting.boolean(
    false,
    'sandbox and tests only: fetch JWKS from private, loopback and link-local addresses (refused by default against SSRF)',
  ),
  DCR_ACCEPT_JSON_REGISTRATION: setting.boolean(
    false,
    'also accept RFC 7591 application/json registrations (unsigned metadata with a software_statement); OBIE requires a signed JWS',
  ),

  // ---- JWKS fetching ----
  DCR_JWKS_TIMEOUT_MS: setting.durationMs(3_000, 'timeout of one JWKS fetch', { min: 100, max: 30_000 }),
  DCR_JWKS_CACHE_TTL_MS: setting.durationMs(300_000, 'how long a fetched JWKS is used before it is fetched again', {
    max: 86_400_000,
  }),
  DCR_JWKS_REFRESH_COOLDOWN_MS: setting.durationMs(
    10_000,
    'least time between two refetches of one JWKS triggered by an unknown kid (stops a kid flood hammering a TPP)',
    { max: 600_000 },
  ),

  // ---- HTTP API ----
  DCR_ENABLED_METHODS: setting.listOf(
    ['GET', 'PUT', 'DELETE'],
    ['GET', 'PUT', 'DELETE'],
    'management methods served on /register/{clientId}; the others answer 405',
  ),
  DCR_REGISTRATION_BASE_URL: z
    .string()
    .url('must be an absolute URL')
    .optional()
    .describe(
      'absolute URL of POST /register on the mTLS host, used to build registration_client_uri; without it the URL is ' +
        'taken from the request Host header (development only: a warning is logged)',
    ),
  DCR_ROTATE_REGISTRATION_ACCESS_TOKEN: setting.boolean(
    false,
    'issue a new registration_access_token on every PUT (RFC 7592 §3 allows it; OIDF Brazil DCR tests expect no rotation)',
  ),
  CLIENT_CERT_HEADER_FORMAT: setting.oneOf(
    ['nginx', 'xfcc', 'traefik', 'rfc9440'],
    'nginx',
    'how the edge forwards the client certificate: nginx (ssl-client-cert), xfcc (Envoy/Istio), traefik, rfc9440 (Client-Cert)',
  ),
  TRUSTED_PROXY_CIDRS: setting.list(
    [],
    'addresses (CIDRs) of the edge: allowed to send client-certificate headers, and the only peers whose X-Forwarded-For names the source address of per-address rate limits; empty trusts the NetworkPolicy alone for the certificate header, and per-address limits count the TCP peer',
  ),

  ...rateLimitSettings('/register (POST and the RFC 7592 management methods)'),
  ...perClientRateLimitSetting(
    '/register (POST and the RFC 7592 management methods)',
    'the client certificate the edge verified (the TPP transport certificate)',
  ),
  // ---- token revocation outbox ----
  TOKENS_GRPC_TARGET: setting.string(
    'dns:///127.0.0.1:50051',
    'gRPC target of auth-server tokens.v1.Tokens, called to revoke every token of a deleted client',
  ),
  DCR_REVOCATION_POLL_MS: setting.durationMs(5_000, 'how often the revocation outbox looks for due entries', {
    min: 50,
    max: 600_000,
  }),
  DCR_REVOCATION_BACKOFF_MAX_MS: setting.durationMs(
    300_000,
    'longest wait between two delivery attempts of one entry',
    {
      min: 100,
    },
  ),
};

export type DcrSettings = z.infer<z.ZodObject<typeof settingsShape>>;

export function loadConfig(env: NodeJS.ProcessEnv = process.env): DcrSettings {
  return loadSettingsOrExit('dcr-service', settingsShape, env);
}
