import { z } from 'zod';

/*
 * The platform configuration config-api publishes on config.v1.Config (GetConfig / WatchConfig,
 * `settings_json`) and every service applies without a restart. Environment variables remain the
 * bootstrap values a service uses until it has received (or cached) a snapshot.
 */

const seconds = (min: number, max: number, description: string) =>
  z.number().int().min(min).max(max).describe(`${description} (seconds, ${min}–${max})`);

const httpsUrl = z
  .string()
  .refine((value) => {
    try {
      const url = new URL(value);
      return url.protocol === 'https:' && !url.search && !url.hash;
    } catch {
      return false;
    }
  }, 'must be an https URL without query or fragment')
  .describe('an https URL without query or fragment');

export const FAPI_PROFILES = ['fapi1-advanced', 'fapi2-security', 'fapi2-message-signing'] as const;
export const SIGNING_ALGORITHMS = ['PS256', 'ES256', 'EdDSA'] as const;

/** Token and code lifetimes; limits follow the FAPI specs (notes/fapi-and-dcr-rules.md §3.6). */
export const lifetimesSchema = z
  .object({
    accessTokenSeconds: seconds(30, 3600, 'access tokens from the authorization_code and refresh_token grants'),
    clientCredentialsSeconds: seconds(30, 3600, 'client_credentials access tokens'),
    authorizationCodeSeconds: seconds(5, 60, 'authorization codes (FAPI 2.0 SP 5.3.2.1: at most 60)'),
    idTokenSeconds: seconds(30, 3600, 'ID tokens'),
    refreshTokenSeconds: seconds(300, 365 * 86_400, 'refresh tokens'),
  })
  .strict();

/** The admin-editable settings (`GET/PUT /v1/settings` on config-api). Unknown fields are refused. */
export const platformSettingsSchema = z
  .object({
    issuer: httpsUrl.describe('Issuer Identifier of auth-server; a change applies when auth-server next starts'),
    defaultFapiProfile: z.enum(FAPI_PROFILES).describe('FAPI profile enforced for a client registered without one'),
    lifetimes: lifetimesSchema,
    requirements: z
      .object({
        parForFapi1: z.boolean().describe('FAPI 1.0 clients must use PAR (FAPI 2.0 clients always must)'),
        dpopNonces: z.boolean().describe('DPoP proofs must carry a server-issued nonce (RFC 9449 §8)'),
      })
      .strict(),
    ciba: z
      .object({
        enabled: z.boolean(),
        deliveryModes: z
          .array(z.enum(['poll', 'ping']))
          .min(1)
          .describe('FAPI-CIBA allows poll and ping; push is never offered'),
        pollIntervalSeconds: seconds(1, 60, 'minimum interval between two polls of one auth_req_id'),
        defaultExpirySeconds: seconds(30, 3600, 'auth_req_id lifetime when the client sends no requested_expiry'),
        maxExpirySeconds: seconds(30, 3600, 'longest requested_expiry honoured'),
        bindingMessageMaxLength: z.number().int().min(1).max(256),
      })
      .strict()
      .refine((ciba) => ciba.defaultExpirySeconds <= ciba.maxExpirySeconds, {
        message: 'defaultExpirySeconds must not exceed maxExpirySeconds',
        path: ['defaultExpirySeconds'],
      }),
    signingAlgorithms: z
      .array(z.enum(SIGNING_ALGORITHMS))
      .min(1)
      .refine((algs) => new Set(algs).size === algs.length, 'must not repeat an algorithm')
      .describe('algorithms accepted for request objects, client assertions and DPoP proofs'),
    rateLimits: z
      .object({
        // Per client, counted across replicas (Redis); over the limit → 429 with Retry-After.
        tokenRequestsPerClientPerMinute: z.number().int().min(1).max(100_000),
        parRequestsPerClientPerMinute: z.number().int().min(1).max(100_000),
      })
      .strict(),
    introspection: z
      .object({
        consentStatusCacheMs: z
          .number()
          .int()
          .min(0)
          .max(1_000)
          .describe('how long token-introspection reuses a consent status (ms; revocation is visible within this)'),
      })
      .strict(),
  })
  .strict();

export type PlatformSettings = z.infer<typeof platformSettingsSchema>;

/** A trusted software-statement issuer, as dcr-service applies it. */
export const trustedDirectorySchema = z
  .object({
    id: z.string().min(1),
    name: z.string().min(1).max(200),
    issuer: z.string().min(1).max(500),
    jwksUri: httpsUrl,
    environment: z.enum(['sandbox', 'production']),
    status: z.enum(['active', 'disabled']),
  })
  .strict();

export type TrustedDirectory = z.infer<typeof trustedDirectorySchema>;

/** A CA trusted to issue TPP transport certificates. */
export const trustAnchorSchema = z
  .object({
    fingerprint: z.string().regex(/^[0-9a-f]{64}$/, 'SHA-256 of the DER, lowercase hex'),
    subject: z.string(),
    notAfter: z.string().describe('ISO 8601'),
    pem: z.string(),
  })
  .strict();

export type TrustAnchor = z.infer<typeof trustAnchorSchema>;

/** What one `settings_json` carries. */
export const platformConfigSchema = z
  .object({
    settings: platformSettingsSchema,
    directories: z.array(trustedDirectorySchema),
    trustAnchors: z.array(trustAnchorSchema),
  })
  .strict();

export type PlatformConfig = z.infer<typeof platformConfigSchema>;

/**
 * The settings config-api starts with before an admin changes anything. They equal the services'
 * own environment defaults, so subscribing to config-api changes nothing until an admin acts.
 */
export function defaultPlatformSettings(issuer = 'https://127.0.0.1:8443'): PlatformSettings {
  return {
    issuer,
    defaultFapiProfile: 'fapi2-security',
    lifetimes: {
      accessTokenSeconds: 300,
      clientCredentialsSeconds: 300,
      authorizationCodeSeconds: 60,
      idTokenSeconds: 300,
      refreshTokenSeconds: 90 * 86_400,
    },
    requirements: { parForFapi1: false, dpopNonces: true },
    ciba: {
      enabled: true,
      deliveryModes: ['poll', 'ping'],
      pollIntervalSeconds: 5,
      defaultExpirySeconds: 300,
      maxExpirySeconds: 600,
      bindingMessageMaxLength: 64,
    },
    signingAlgorithms: ['PS256', 'ES256', 'EdDSA'],
    rateLimits: {
      tokenRequestsPerClientPerMinute: 600,
      parRequestsPerClientPerMinute: 600,
    },
    introspection: { consentStatusCacheMs: 1_000 },
  };
}
