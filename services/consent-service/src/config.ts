import { z } from 'zod';
import { mongoSettings, loadSettingsOrExit, serviceBaseSettings, setting } from '@obip/config';

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
    'addresses (CIDRs) allowed to send client-certificate headers; empty trusts the NetworkPolicy alone',
  ),

  // ---- token revocation ----
  TOKENS_GRPC_TARGET: setting.string(
    'dns:///127.0.0.1:50051',
    'gRPC target of auth-server tokens.v1.Tokens, called to revoke every token of a revoked or expired consent',
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
};

export type ConsentSettings = z.infer<z.ZodObject<typeof settingsShape>>;

export function loadConfig(env: NodeJS.ProcessEnv = process.env): ConsentSettings {
  return loadSettingsOrExit('consent-service', settingsShape, env);
}
