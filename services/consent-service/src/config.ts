import { z } from 'zod';
import {
  mongoSettings,
  loadSettingsOrExit,
  perClientRateLimitSetting,
  rateLimitSettings,
  serviceBaseSettings,
  setting,
  splitList,
} from '@obip/config';

/** An optional https (or, for a local twin, http) URL. */
function optionalUrl(description: string) {
  return setting.url(undefined, description, ['https', 'http']).optional().describe(description);
}

/** Every environment variable consent-service reads, validated once at start-up. */
export const settingsShape = {
  ...serviceBaseSettings('consent-service', { http: 8083, grpc: 50053, ops: 9093 }),
  ...mongoSettings('obip_consent'),

  // ---- consents ----
  CONSENT_AUTHORISATION_WINDOW_SECONDS: setting.integer(
    1_800,
    'how long a consent may await the customer’s authorisation before it expires, in seconds',
    { min: 30, max: 86_400 },
  ),
  CONSENT_EXPIRY_SWEEP_MS: setting.durationMs(
    60_000,
    'how often consents whose expiry fell due are marked Expired (reads also expire them on the spot)',
    { min: 100, max: 3_600_000 },
  ),
  CONSENT_IDEMPOTENCY_KEY_TTL_SECONDS: setting.integer(
    86_400,
    'how long an x-idempotency-key binds the payment consent it created, in seconds (OBIE Read/Write API: 24 hours); after it the same key creates a new consent. An expired key is replaced when reused and removed by the expiry sweep (CONSENT_EXPIRY_SWEEP_MS)',
    { min: 60, max: 604_800 },
  ),
  CONSENT_PAYMENT_CURRENCIES: setting.list(['GBP'], 'ISO 4217 currencies domestic payment consents may use'),
  CONSENT_LINKS_BASE_URL: z
    .string()
    .url('must be an absolute URL')
    .optional()
    .describe(
      'origin of the mTLS host used in OBIE Links.Self (e.g. https://mtls.bank.example); without it links are relative paths',
    ),

  // ---- customers ----
  CONSENT_CUSTOMERS_FILE: z
    .string()
    .optional()
    .describe(
      'JSON file of the sandbox customer directory (customers, scrypt password hashes, accounts) in the shape of ' +
        'src/customers/sandbox-customers.json; without it the bundled sandbox customers are used',
    ),

  // ---- TPP authentication ----
  CLIENT_CERT_HEADER_FORMAT: setting.oneOf(
    ['nginx', 'xfcc', 'traefik', 'rfc9440'],
    'nginx',
    'how the edge forwards the client certificate: nginx (ssl-client-cert), xfcc (Envoy/Istio), traefik, rfc9440 (Client-Cert)',
  ),
  TRUSTED_PROXY_CIDRS: setting.list(
    [],
    'addresses (CIDRs) of the edge: allowed to send client-certificate headers, and the only peers whose X-Forwarded-For names the source address of per-address rate limits; empty trusts the NetworkPolicy alone for the certificate header, and per-address limits count the TCP peer',
  ),

  ...rateLimitSettings('the OBIE intent APIs (/open-banking) and, counted apart, on the portal (/portal)'),
  ...perClientRateLimitSetting('the OBIE intent APIs (/open-banking)', 'the client the access token was issued to'),
  // ---- token revocation ----
  TOKENS_GRPC_TARGET: setting.string(
    'dns:///127.0.0.1:50051',
    'gRPC target of auth-server tokens.v1.Tokens, called to revoke every token of a revoked or expired consent and to deliver customers’ decisions on decoupled (CIBA) authentication requests',
  ),
  CONSENT_REVOCATION_POLL_MS: setting.durationMs(5_000, 'how often the revocation outbox looks for due entries', {
    min: 50,
    max: 600_000,
  }),
  CONSENT_REVOCATION_BACKOFF_INITIAL_MS: setting.durationMs(500, 'first wait after a failed delivery to auth-server', {
    min: 10,
    max: 60_000,
  }),
  CONSENT_REVOCATION_BACKOFF_MAX_MS: setting.durationMs(
    300_000,
    'longest wait between two delivery attempts of one revocation',
    { min: 100 },
  ),

  // ---- decoupled authentication (CIBA): this service is the customer's authentication device ----
  CONSENT_DECISION_POLL_MS: setting.durationMs(
    2_000,
    'how often the decision outbox looks for decoupled decisions still to deliver to auth-server (a decision is sent at once; this is the retry sweep)',
    { min: 50, max: 600_000 },
  ),
  CONSENT_DECISION_BACKOFF_INITIAL_MS: setting.durationMs(
    250,
    'first wait after a failed delivery of a decision to auth-server',
    { min: 10, max: 60_000 },
  ),
  CONSENT_DECISION_BACKOFF_MAX_MS: setting.durationMs(
    10_000,
    'longest wait between two delivery attempts of one decision: short, since the client is polling for it and the request expires within minutes',
    { min: 100, max: 600_000 },
  ),
  CONSENT_DECOUPLED_RETENTION_SECONDS: setting.integer(
    86_400,
    'how long a decoupled authentication request is kept after it expires, decided or not, before it is removed (TTL index on MongoDB, purge sweep everywhere)',
    { min: 60, max: 2_592_000 },
  ),
  SANDBOX_DEVICE_API: setting.boolean(
    false,
    'serve /sandbox/decoupled-authentications on the HTTP port (never routed by the edge): list a customer’s pending CIBA requests by username and approve or deny them, without any authentication. Sandbox, tests and demos only; never in production (a warning is logged when on)',
  ),

  // ---- customer portal (public host, /portal) ----
  PORTAL_PUBLIC_URL: optionalUrl(
    'origin of the public host where the edge routes /portal to this service (e.g. https://bank.example); the portal is off without it. Its redirect URI is <origin>/portal/callback',
  ),
  PORTAL_ISSUER: optionalUrl(
    'Issuer Identifier of auth-server, where customers sign in to the portal; default: the origin of PORTAL_PUBLIC_URL (auth-server and the portal share the public host)',
  ),
  AUTH_SERVER_URL: setting.url(
    'http://127.0.0.1:8081',
    'in-cluster HTTP base of auth-server: the portal reads discovery and /jwks and calls /par and /token there directly, as it holds no TLS client certificate for the edge’s mTLS host (its tokens are DPoP-bound)',
    ['http', 'https'],
  ),
  CLIENT_REGISTRY_GRPC_TARGET: setting.string(
    'dns:///127.0.0.1:50052',
    'gRPC target of dcr-service clients.v1.ClientRegistry: the portal registers itself there as a first-party client and reads TPP names and logos',
  ),
  PORTAL_CLIENT_NAME: setting.string(
    'Connected apps',
    'client_name of the portal’s registration: what auth-server’s sign-in page names it',
  ),
  PORTAL_CLIENT_KEYS_FILE: z
    .string()
    .min(1)
    .optional()
    .describe(
      'path of a private JWKS (JSON; a Kubernetes Secret mount) with the portal’s client authentication keys (ES256 or PS256, each with a kid); the first signs, all are registered. Unset: a development key is generated once and kept in DEV_KEYS_DIR, with a warning',
    ),
  PORTAL_COOKIE_KEYS: z
    .string()
    .transform(splitList)
    .pipe(z.array(z.string().min(32, 'each key must be at least 32 characters')).min(1))
    .optional()
    .describe(
      'comma-separated keys that sign the portal’s cookies, newest first (older ones still verify); the same on every replica. Unset: a development key kept in DEV_KEYS_DIR, with a warning',
    ),
  DEV_KEYS_DIR: setting.string(
    'tmp/consent-service/dev-keys',
    'directory where the development portal key and cookie key are generated and kept when none are configured (relative to the working directory)',
  ),
  PORTAL_SESSION_IDLE_SECONDS: setting.integer(900, 'a portal session ends after this many seconds without a request', {
    min: 60,
    max: 86_400,
  }),
  PORTAL_SESSION_MAX_SECONDS: setting.integer(
    28_800,
    'a portal session ends this many seconds after sign-in, however active',
    { min: 300, max: 604_800 },
  ),
};

export type ConsentSettings = z.infer<z.ZodObject<typeof settingsShape>>;

export function loadConfig(env: NodeJS.ProcessEnv = process.env): ConsentSettings {
  return loadSettingsOrExit('consent-service', settingsShape, env);
}
