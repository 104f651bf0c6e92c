export * from './platform-config';
export { readCachedSnapshot, writeCachedSnapshot, type PlatformConfigSnapshot } from './platform-config.cache';
export {
  backoffDelay,
  parsePlatformConfig,
  subscribeToPlatformConfig,
  type AppliedPlatformConfig,
  type PlatformConfigLogger,
  type PlatformConfigParseResult,
  type PlatformConfigSource,
  type PlatformConfigSubscription,
  type PlatformConfigSubscriptionOptions,
} from './platform-config.subscriber';
export { subscriptionSettings } from './platform-config.settings';
export {
  ADMIN_API_SCOPES,
  DEFAULT_ADMIN_API_RESOURCE,
  isAdminApiScope,
  type AdminApiScope,
} from './platform-config.admin';
