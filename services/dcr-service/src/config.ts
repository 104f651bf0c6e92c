import { mongoSettings, loadSettingsOrExit, serviceBaseSettings } from '@obip/config';

/** Every environment variable dcr-service reads, validated once at start-up. */
export const settingsShape = {
  ...serviceBaseSettings('dcr-service', { http: 8082, grpc: 50052, ops: 9092 }),
  ...mongoSettings('obip_dcr'),
};

export function loadConfig(env: NodeJS.ProcessEnv = process.env) {
  return loadSettingsOrExit('dcr-service', settingsShape, env);
}
