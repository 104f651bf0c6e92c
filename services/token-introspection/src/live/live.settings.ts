// The settings of token-introspection that the platform config config-api publishes replaces while
// the service runs (issue 8). The environment gives them until a snapshot is in hand.
import type { PlatformSettings } from '@obip/platform-config';
import type { IntrospectionSettings } from '../config';

export interface LiveSettings {
  /** How long a consent status is reused, in ms (at most 1000): introspection.consentStatusCacheMs. */
  consentStatusCacheMs: number;
}

/**
 * The live settings from the environment: CONSENT_STATUS_CACHE_MS.
 *
 * @example
 * liveSettingsFromEnvironment(loadConfig()); // { consentStatusCacheMs: 1000 }
 */
export function liveSettingsFromEnvironment(
  settings: Pick<IntrospectionSettings, 'CONSENT_STATUS_CACHE_MS'>,
): LiveSettings {
  return { consentStatusCacheMs: settings.CONSENT_STATUS_CACHE_MS };
}

/**
 * The live settings from a platform config's settings.
 *
 * @example
 * liveSettingsFromPlatform(config.settings); // { consentStatusCacheMs: config.settings.introspection.consentStatusCacheMs }
 */
export function liveSettingsFromPlatform(settings: PlatformSettings): LiveSettings {
  return { consentStatusCacheMs: settings.introspection.consentStatusCacheMs };
}
