import { mongoSettings, loadSettingsOrExit, serviceBaseSettings } from '@obip/config';

/** Every environment variable auth-server reads, validated once at start-up. */
export const settingsShape = {
  ...serviceBaseSettings('auth-server', { http: 8081, grpc: 50051, ops: 9091 }),
  ...mongoSettings('obip_auth'),
};

export function loadConfig(env: NodeJS.ProcessEnv = process.env) {
  return loadSettingsOrExit('auth-server', settingsShape, env);
}
