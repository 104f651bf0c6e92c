import { mongoSettings, loadSettingsOrExit, serviceBaseSettings } from '@obip/config';

/** Every environment variable consent-service reads, validated once at start-up. */
export const settingsShape = {
  ...serviceBaseSettings('consent-service', { http: 8083, grpc: 50053, ops: 9093 }),
  ...mongoSettings('obip_consent'),
};

export function loadConfig(env: NodeJS.ProcessEnv = process.env) {
  return loadSettingsOrExit('consent-service', settingsShape, env);
}
