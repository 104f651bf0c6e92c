export {
  SettingsError,
  loadSettings,
  loadSettingsOrExit,
  describeSettings,
  type SettingsIssue,
  type SettingsShape,
} from './settings';
export { setting, splitList } from './setting-types';
export {
  mongoSettings,
  perClientRateLimitSetting,
  rateLimitSettings,
  serviceBaseSettings,
  type ServiceBaseSettings,
} from './service-base';
export { readOrCreateDevelopmentFile } from './development-file';
