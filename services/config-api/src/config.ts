import { mongoSettings, loadSettingsOrExit, serviceBaseSettings } from '@obip/config';

/** Every environment variable config-api reads, validated once at start-up. */
export const settingsShape = {
  ...serviceBaseSettings('config-api', { http: 8085, grpc: 50055, ops: 9095 }),
  ...mongoSettings('obip_config'),
};

export function loadConfig(env: NodeJS.ProcessEnv = process.env) {
  return loadSettingsOrExit('config-api', settingsShape, env);
}
