import { loadSettingsOrExit, serviceBaseSettings } from '@obip/config';

/** Every environment variable token-introspection reads, validated once at start-up. */
export const settingsShape = {
  ...serviceBaseSettings('token-introspection', { http: 8084, grpc: 50054, ops: 9094 }),
};

export function loadConfig(env: NodeJS.ProcessEnv = process.env) {
  return loadSettingsOrExit('token-introspection', settingsShape, env);
}
