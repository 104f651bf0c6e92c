import { z } from 'zod';

/**
 * The two environment settings of a service that subscribes to config-api, described once:
 * `whatItApplies` says which published values the service applies without a restart, and
 * `cacheNote` anything the cache is also used for.
 *
 * @example
 * export const settingsShape = { ...subscriptionSettings('token-introspection', 'introspection.consentStatusCacheMs') };
 */
export function subscriptionSettings(service: string, whatItApplies: string, cacheNote = '') {
  return {
    CONFIG_GRPC_TARGET: z
      .string()
      .min(1)
      .optional()
      .describe(
        `gRPC target of config-api's obip.config.v1.Config, e.g. dns:///config-api-headless.obip.svc.cluster.local:50055. ` +
          `${service} applies what it publishes without a restart: ${whatItApplies}. The values of this service's own ` +
          'settings stay in force until a snapshot arrives or is read from CONFIG_CACHE_FILE. Unset: no subscription',
      ),
    CONFIG_CACHE_FILE: z
      .string()
      .min(1)
      .optional()
      .describe(
        'file where the last platform configuration received from config-api is kept (written atomically) and read at ' +
          `start, so a restart while config-api is down keeps it; on a writable volume (emptyDir).${cacheNote ? ` ${cacheNote}.` : ''} ` +
          'Unset: nothing is cached',
      ),
  };
}
