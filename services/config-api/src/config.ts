import { z } from 'zod';
import { mongoSettings, loadSettingsOrExit, serviceBaseSettings, setting } from '@obip/config';
import { DEFAULT_ADMIN_API_RESOURCE } from '@obip/platform-config';
import { bootstrapAdminClientSchema } from './clients/clients.bootstrap';

/** A DNS-1123 label: what Kubernetes accepts as a namespace name. */
const dnsLabel = z
  .string()
  .max(63, 'must be at most 63 characters')
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a DNS-1123 label: lower-case letters, digits and -');

/** A DNS-1123 subdomain: what Kubernetes accepts as the name of a Secret or a Lease. */
const dnsSubdomain = z
  .string()
  .max(253, 'must be at most 253 characters')
  .regex(
    /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/,
    'must be a DNS-1123 subdomain: lower-case letters, digits, - and .',
  );

/** Every environment variable config-api reads, validated once at start-up. */
export const settingsShape = {
  ...serviceBaseSettings('config-api', { http: 8085, grpc: 50055, ops: 9095 }),
  ...mongoSettings('obip_config'),

  // ---- who may call the admin API ----
  ADMIN_TOKEN_ISSUERS: setting.json(
    z.array(z.object({ issuer: z.string().min(1), jwksUri: z.string().url() }).strict()).min(1),
    [{ issuer: 'https://127.0.0.1:8443', jwksUri: 'http://127.0.0.1:8081/jwks' }],
    'JSON array of trusted access-token issuers: [{"issuer","jwksUri"}]. Default: the platform auth-server as the sandbox runs it',
  ),
  ADMIN_TOKEN_AUDIENCE: setting.string(
    DEFAULT_ADMIN_API_RESOURCE,
    'the aud an admin access token must carry: the RFC 8707 resource indicator admins request tokens for ' +
      "(auth-server's ADMIN_API_RESOURCE)",
  ),
  BOOTSTRAP_ADMIN_CLIENT: setting.json(
    bootstrapAdminClientSchema.optional(),
    undefined,
    'JSON client metadata of the first administrator client ({"jwks"} or {"jwks_uri"}, optional client_name, ' +
      'token_endpoint_auth_method private_key_jwt|tls_client_auth, tls_client_auth_subject_dn, scope; default every ' +
      'admin scope), onboarded and approved through dcr-service at start when none exists. Unset: none',
  ),
  ADMIN_TOKEN_CLOCK_SKEW_SECONDS: setting.integer(30, 'tolerated clock difference for exp and nbf, in seconds', {
    min: 0,
    max: 300,
  }),
  ADMIN_JWKS_TIMEOUT_MS: setting.durationMs(3_000, 'timeout of one fetch of a trusted issuer JWKS', {
    min: 100,
    max: 30_000,
  }),

  // ---- what config-api manages ----
  PLATFORM_ISSUER: setting.url(
    'https://127.0.0.1:8443',
    'issuer written into the first platform settings document (later changed through PUT /v1/settings)',
    ['https'],
  ),
  CLIENT_REGISTRY_GRPC_TARGET: setting.string(
    '127.0.0.1:50052',
    'host:port of dcr-service gRPC (clients.v1.ClientRegistry) for /v1/clients',
  ),
  TOKENS_GRPC_TARGET: setting.string(
    '127.0.0.1:50051',
    'host:port of auth-server gRPC (tokens.v1.Tokens): suspending a client revokes its tokens',
  ),
  CONSENTS_GRPC_TARGET: setting.string(
    '127.0.0.1:50053',
    'host:port of consent-service gRPC (consents.v1.Consents) for /v1/consents: reading a consent and revoking it as an admin',
  ),
  PEER_DEADLINE_MS: setting.durationMs(
    3_000,
    'deadline of one gRPC call to dcr-service, auth-server or consent-service',
    {
      min: 100,
      max: 30_000,
    },
  ),
  PUBLICATION_POLL_MS: setting.durationMs(
    1_000,
    'how often a replica checks for changes other replicas published, for its WatchConfig streams',
    { min: 100, max: 60_000 },
  ),
  TRUST_ANCHOR_EXPIRY_WARNING_DAYS: setting.integer(
    30,
    'a trust anchor expiring within this many days is flagged as expiring',
    { min: 1, max: 365 },
  ),
  KEY_ENCRYPTION_KEY: z
    .string()
    .regex(/^[A-Za-z0-9_-]{43}$/, 'must be 32 bytes, base64url without padding (43 characters)')
    .optional()
    .describe(
      'key that encrypts private signing keys at rest (AES-256-GCM). Unset: a development key kept in DEV_KEYS_DIR, with a warning',
    ),
  DEV_KEYS_DIR: setting.string(
    'tmp/config-api/dev-keys',
    'directory for the development key-encryption key when KEY_ENCRYPTION_KEY is unset',
  ),
  KEY_ACTIVATION_DELAY_SECONDS: setting.integer(
    3_600,
    'how long a rotated-in key is published before it signs, so every replica and cache knows it first',
    { min: 0, max: 7 * 86_400 },
  ),
  KEY_RETIREMENT_DELAY_SECONDS: setting.integer(
    90 * 86_400,
    'how long a replaced key stays published for verification: at least the longest token lifetime (refresh tokens)',
    { min: 0, max: 400 * 86_400 },
  ),

  // ---- Kubernetes sync (issue 8): the ingress CA bundle Secret and the signing-key Secret ----
  K8S_SYNC: setting.oneOf(
    ['auto', 'kubernetes', 'local', 'off'],
    'auto',
    'where trust anchors and signing keys are published: kubernetes writes Secrets (one replica at a time, elected ' +
      'with a Lease), local writes the files of the local twin and reloads nginx, off publishes nothing. auto picks ' +
      'kubernetes in a cluster or when KUBECONFIG is set, else local when LOCAL_CA_BUNDLE_FILE is set, else off',
  ),
  KUBERNETES_SERVICE_HOST: z
    .string()
    .optional()
    .describe(
      'set by Kubernetes in every pod; its presence means config-api runs in a cluster and uses the in-cluster ' +
        'service account. Never set it by hand',
    ),
  KUBECONFIG: z
    .string()
    .min(1)
    .optional()
    .describe(
      'path of one kubeconfig file (not a :-separated list) to reach a cluster from outside it, e.g. a kind cluster ' +
        'in development; takes precedence over the in-cluster service account',
    ),
  K8S_NAMESPACE: dnsLabel
    .optional()
    .describe(
      'namespace of the Secrets and the Lease. Default: in a cluster the pod namespace (/var/run/secrets/' +
        'kubernetes.io/serviceaccount/namespace), with KUBECONFIG its current context namespace; else default',
    ),
  LEASE_NAME: dnsSubdomain
    .default('obip-config-api')
    .describe('name of the coordination.k8s.io Lease the config-api replicas elect their one writer with'),
  LEASE_DURATION_SECONDS: setting.integer(
    15,
    'how long a leader holds the Lease without renewing it before another replica takes over (seconds); it renews ' +
      'every third of this and steps down when renewals fail for two thirds of it',
    { min: 2, max: 300 },
  ),
  CA_BUNDLE_SECRET_NAME: dnsSubdomain
    .default('obip-tpp-trust-bundle')
    .describe(
      'Secret holding the PEM bundle of trusted TPP CAs under ca.crt: the ingress verifies client certificates with ' +
        'it (nginx.ingress.kubernetes.io/auth-tls-secret)',
    ),
  SIGNING_KEYS_SECRET_NAME: dnsSubdomain
    .default('obip-signing-keys')
    .describe('Secret holding the private JWKS under jwks.json that auth-server mounts as SIGNING_KEYS_FILE'),
  POD_NAME: z
    .string()
    .min(1)
    .max(128)
    .optional()
    .describe(
      'identity of this replica in the Lease (set it from metadata.name with the downward API). Default: ' +
        '<hostname>-<pid>',
    ),
  LOCAL_CA_BUNDLE_FILE: z
    .string()
    .min(1)
    .optional()
    .describe('local twin only: PEM file of trusted TPP CAs that the nginx twin verifies client certificates with'),
  LOCAL_SIGNING_KEYS_FILE: z
    .string()
    .min(1)
    .optional()
    .describe(
      'local twin only: file the private JWKS is written to (mode 0600) for auth-server SIGNING_KEYS_FILE; unset ' +
        'leaves signing keys unpublished',
    ),
  LOCAL_RELOAD_COMMAND: setting.json(
    z.array(z.string().min(1, 'arguments must not be empty')),
    [],
    'local twin only: JSON array, the command run (without a shell) after the CA bundle file changed, e.g. ' +
      '["nginx","-s","reload","-c","/path/nginx.conf"]; empty runs nothing',
  ),
};

export type ConfigApiSettings = z.infer<z.ZodObject<typeof settingsShape>>;

export function loadConfig(env: NodeJS.ProcessEnv = process.env): ConfigApiSettings {
  return loadSettingsOrExit('config-api', settingsShape, env);
}
