import { z } from 'zod';
import {
  loadSettingsOrExit,
  perClientRateLimitSetting,
  rateLimitSettings,
  serviceBaseSettings,
  setting,
  splitList,
} from '@obip/config';
import { subscriptionSettings } from '@obip/platform-config';

const httpsUrl = z.string().refine((value) => {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' && !url.hash;
  } catch {
    return false;
  }
}, 'must be an https URL without fragment');

/** Settings that start a local twin as they are and that production must replace; each logs a warning when left so. */
export const INSECURE_DEVELOPMENT_DEFAULTS = ['ISSUER', 'INTROSPECTION_ENDPOINT'] as const;

/** Every environment variable token-introspection reads, validated once at start-up. */
export const settingsShape = {
  ...serviceBaseSettings('token-introspection', { http: 8084, grpc: 50054, ops: 9094 }),

  // ---- identity of this endpoint ----
  ISSUER: httpsUrl
    .default('https://127.0.0.1:8443')
    .describe(
      "auth-server's Issuer Identifier: the iss of signed introspection responses (RFC 9701 §5) and an accepted aud of " +
        'client assertions. Default: the sandbox public host (development only, logs a warning)',
    ),
  INTROSPECTION_ENDPOINT: httpsUrl
    .default('https://127.0.0.1:9443/introspect')
    .describe(
      'the URL of POST /introspect on the mTLS host as callers see it; the other accepted aud of client assertions ' +
        '(RFC 7523 §3). Default: the sandbox mTLS host (development only, logs a warning)',
    ),

  // ---- callers (resource servers) ----
  RESOURCE_SERVER_CLIENT_IDS: z
    .string()
    .transform(splitList)
    .default([])
    .describe(
      'comma-separated client_ids allowed to introspect (bank API gateways), besides clients whose metadata carries ' +
        'obip_resource_server: true. Every other client is refused with invalid_client',
    ),
  CLIENT_CERT_HEADER_FORMAT: setting.oneOf(
    ['nginx', 'xfcc', 'traefik', 'rfc9440'],
    'nginx',
    'how the edge forwards the client certificate: nginx (ssl-client-cert), xfcc (Envoy/Istio), traefik, rfc9440 (Client-Cert)',
  ),
  TRUSTED_PROXY_CIDRS: z
    .string()
    .transform(splitList)
    .default([])
    .describe(
      'addresses (CIDRs) of the edge: allowed to send client-certificate headers, and the only peers whose X-Forwarded-For names the source address of per-address rate limits; empty trusts the NetworkPolicy alone for the certificate header, and per-address limits count the TCP peer',
    ),

  ...rateLimitSettings('POST /introspect'),
  ...perClientRateLimitSetting('POST /introspect', 'the calling resource server once authenticated'),
  CLIENT_REGISTRY_GRPC_TARGET: setting.string(
    'dns:///127.0.0.1:50052',
    "gRPC target of dcr-service's clients.v1.ClientRegistry (caller metadata, keys and certificate binding); connected lazily",
  ),
  CLIENTS_CACHE_MS: setting.durationMs(
    10_000,
    'how long a caller registration read from dcr-service is reused (a suspension takes effect within this)',
    { max: 300_000 },
  ),
  CLIENT_ASSERTION_CLOCK_SKEW_SECONDS: setting.integer(
    30,
    'tolerated clock difference for exp, nbf and iat of client assertions (seconds)',
    { min: 0, max: 300 },
  ),
  CLIENT_ASSERTION_MAX_LIFETIME_SECONDS: setting.integer(
    300,
    'a client assertion whose exp lies further ahead than this is refused, which also bounds the jti replay memory (seconds)',
    { min: 10, max: 3600 },
  ),
  JWKS_TIMEOUT_MS: setting.durationMs(2_000, 'timeout of one fetch of a caller jwks_uri', { min: 100, max: 30_000 }),
  JWKS_CACHE_TTL_MS: setting.durationMs(300_000, 'how long a fetched caller JWKS is reused', { max: 86_400_000 }),
  ALLOW_PRIVATE_JWKS_URIS: setting.boolean(
    false,
    'sandbox and tests only: fetch caller JWKS over http and from private, loopback and link-local addresses (refused by default against SSRF)',
  ),

  // ---- consent status ----
  CONSENTS_GRPC_TARGET: setting.string(
    'dns:///127.0.0.1:50053',
    "gRPC target of consent-service's consents.v1.Consents (GetConsentStatus); connected lazily",
  ),
  CONSENT_STATUS_CACHE_MS: setting.durationMs(
    1_000,
    'how long a consent status is reused; a revoked consent makes its tokens inactive within this (issue 6: at most one ' +
      'second). Live setting introspection.consentStatusCacheMs: with CONFIG_GRPC_TARGET, the value config-api ' +
      'publishes replaces this one without a restart',
    { max: 1_000 },
  ),
  PEER_DEADLINE_MS: setting.durationMs(
    1_000,
    'deadline of each call to dcr-service and consent-service; a peer that misses it makes the answer 503 / UNAVAILABLE',
    { min: 50, max: 10_000 },
  ),

  // ---- live settings (issue 8): what config-api publishes replaces CONSENT_STATUS_CACHE_MS without a restart ----
  ...subscriptionSettings('token-introspection', 'introspection.consentStatusCacheMs replaces CONSENT_STATUS_CACHE_MS'),

  SIGNING_KEYS_FILE: z
    .string()
    .min(1)
    .optional()
    .describe(
      'path of the private JWKS (JSON) auth-server signs with (PS256 / ES256 keys); signed introspection responses use it. Unset: a request with Accept: application/token-introspection+jwt is answered 406',
    ),
  SIGNING_KEYS_RELOAD_MS: setting.durationMs(
    10_000,
    'how often SIGNING_KEYS_FILE is re-read, so keys config-api rotates are used without a restart; 0 reads it once',
    { max: 3_600_000 },
  ),
};

export type IntrospectionSettings = ReturnType<typeof loadConfig>;

export function loadConfig(env: NodeJS.ProcessEnv = process.env) {
  return loadSettingsOrExit('token-introspection', settingsShape, env);
}

/** Development defaults left in place and other insecure choices, each named, for a warning at start-up (STYLE habit 6). */
export function settingsWarnings(settings: IntrospectionSettings, env: NodeJS.ProcessEnv = process.env): string[] {
  const warnings: string[] = INSECURE_DEVELOPMENT_DEFAULTS.filter((name) => !env[name]).map(
    (name) => `${name} is not set: using the sandbox default ${settings[name]} (development only)`,
  );
  if (settings.ALLOW_PRIVATE_JWKS_URIS)
    warnings.push(
      'ALLOW_PRIVATE_JWKS_URIS is on: caller key sets may be fetched from private addresses (sandbox only)',
    );
  if (!settings.SIGNING_KEYS_FILE)
    warnings.push('SIGNING_KEYS_FILE is not set: signed introspection responses (RFC 9701) are answered 406');
  return warnings;
}
