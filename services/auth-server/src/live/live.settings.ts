import type { PlatformSettings } from '@obip/platform-config';
import type { AuthServerSettings } from '../config';

/**
 * The platform settings auth-server applies while it runs (issue 8): config-api publishes them;
 * the environment gives the values in force until a snapshot arrives. Every other setting of
 * auth-server is fixed for the life of the process.
 *
 * - `lifetimes`, `defaultFapiProfile`, `requirements`, `signingAlgorithms`, `ciba`: a new engine is built
 *   with them and swapped in (live.engine.ts);
 * - `rateLimits`: read per request by the rate limiter;
 * - `issuer`: fixed at start (every token, cookie and client assertion names it); a change is
 *   logged and applies at the next start, from CONFIG_CACHE_FILE.
 */
export type LiveSettings = Pick<
  PlatformSettings,
  'issuer' | 'defaultFapiProfile' | 'lifetimes' | 'requirements' | 'signingAlgorithms' | 'rateLimits' | 'ciba'
>;

/** The live settings' names, as `changedLiveSettings` reports them. */
export type LiveSettingName = keyof LiveSettings;

/**
 * The live settings as the environment gives them: the bootstrap values.
 *
 * @example
 * const live = liveSettingsFromEnvironment(loadConfig());
 */
export function liveSettingsFromEnvironment(settings: AuthServerSettings): LiveSettings {
  return {
    issuer: settings.ISSUER,
    defaultFapiProfile: settings.FAPI_DEFAULT_PROFILE,
    lifetimes: {
      accessTokenSeconds: settings.ACCESS_TOKEN_TTL_SECONDS,
      clientCredentialsSeconds: settings.CLIENT_CREDENTIALS_TTL_SECONDS,
      authorizationCodeSeconds: settings.AUTHORIZATION_CODE_TTL_SECONDS,
      idTokenSeconds: settings.ID_TOKEN_TTL_SECONDS,
      refreshTokenSeconds: settings.REFRESH_TOKEN_TTL_SECONDS,
    },
    requirements: {
      parForFapi1: settings.PAR_REQUIRED_FOR_FAPI1,
      dpopNonces: settings.DPOP_NONCES_REQUIRED,
    },
    signingAlgorithms: [...settings.ACCEPTED_SIGNING_ALGS],
    rateLimits: {
      tokenRequestsPerClientPerMinute: settings.TOKEN_RATE_LIMIT_PER_MINUTE,
      parRequestsPerClientPerMinute: settings.PAR_RATE_LIMIT_PER_MINUTE,
    },
    ciba: {
      enabled: settings.CIBA_ENABLED,
      deliveryModes: [...settings.CIBA_DELIVERY_MODES],
      pollIntervalSeconds: settings.CIBA_POLL_INTERVAL_SECONDS,
      defaultExpirySeconds: Math.min(settings.CIBA_DEFAULT_EXPIRY_SECONDS, settings.CIBA_MAX_EXPIRY_SECONDS),
      maxExpirySeconds: settings.CIBA_MAX_EXPIRY_SECONDS,
      bindingMessageMaxLength: settings.CIBA_BINDING_MESSAGE_MAX_LENGTH,
    },
  };
}

/**
 * The part of a platform configuration auth-server applies (directories and trust anchors are
 * dcr-service's and the ingress's).
 *
 * @example
 * liveSettingsFromPlatform(config.settings).lifetimes.clientCredentialsSeconds; // 300
 */
export function liveSettingsFromPlatform(settings: PlatformSettings): LiveSettings {
  return {
    issuer: settings.issuer,
    defaultFapiProfile: settings.defaultFapiProfile,
    lifetimes: { ...settings.lifetimes },
    requirements: { ...settings.requirements },
    signingAlgorithms: [...settings.signingAlgorithms],
    rateLimits: { ...settings.rateLimits },
    ciba: { ...settings.ciba, deliveryModes: [...settings.ciba.deliveryModes] },
  };
}

const LIVE_SETTING_NAMES: readonly LiveSettingName[] = [
  'issuer',
  'defaultFapiProfile',
  'lifetimes',
  'requirements',
  'signingAlgorithms',
  'rateLimits',
  'ciba',
];

/**
 * The live settings that differ between `before` and `after`.
 *
 * @example
 * changedLiveSettings(before, { ...before, rateLimits: { ...before.rateLimits, parRequestsPerClientPerMinute: 5 } });
 * // ['rateLimits']
 */
export function changedLiveSettings(before: LiveSettings, after: LiveSettings): LiveSettingName[] {
  return LIVE_SETTING_NAMES.filter((name) => canonicalJson(before[name]) !== canonicalJson(after[name]));
}

/** Whether the engine must be rebuilt for these changes: all but the rate limits and the issuer are its configuration. */
export function needsNewEngine(changed: readonly LiveSettingName[]): boolean {
  return changed.some((name) => name !== 'rateLimits' && name !== 'issuer');
}

function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) =>
    inner && typeof inner === 'object' && !Array.isArray(inner)
      ? Object.fromEntries(Object.entries(inner).sort(([a], [b]) => a.localeCompare(b)))
      : inner,
  );
}
