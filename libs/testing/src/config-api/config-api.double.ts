// config-api's obip.config.v1.Config as a real gRPC server on 127.0.0.1, port 0, for the tests of
// the services that subscribe to it (subscribeToPlatformConfig). Not a mock of the transport: the
// service's own gRPC client, deadlines and reconnection run for real against it.
import { configV1 } from '@obip/contracts';
import { DependencyUnavailableError } from '@obip/errors';
import { createGrpcServer, type GrpcLogger, type ServerStreamHandler } from '@obip/grpc';
import { defaultPlatformSettings, type PlatformConfig } from '@obip/platform-config';

export interface ConfigApiDouble {
  /** gRPC target for CONFIG_GRPC_TARGET, e.g. `ipv4:///127.0.0.1:41234`. */
  readonly target: string;
  /** The version published last; 0 before the first. */
  version(): number;
  /** The platform config published last (the defaults before the first). */
  config(): PlatformConfig;
  /**
   * Publishes the last config with `change` applied (each part replaced whole) as the next
   * version, to GetConfig and every open WatchConfig, and returns that version.
   */
  publish(change?: Partial<PlatformConfig>): number;
  /** Publishes `settingsJson` as it is, valid or not, as the next version, and returns it. */
  publishJson(settingsJson: string): number;
  /** How many WatchConfig streams are open: a subscriber that stopped has closed its own. */
  watchers(): number;
  stop(): Promise<void>;
}

export interface StartConfigApiDoubleOptions {
  /** What `publish` starts from. Default: `defaultPlatformSettings()`, no directories, no trust anchors. */
  base?: PlatformConfig;
}

type Watch = Parameters<ServerStreamHandler<configV1.WatchConfigRequest, configV1.WatchConfigResponse>>[1];

const silentLogger: GrpcLogger = {
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => silentLogger,
};

/**
 * Starts the double. Until something is published, GetConfig answers UNAVAILABLE (as config-api
 * does before its store answers), so a subscriber started first keeps its environment and retries.
 * A watch gets the latest snapshot at once unless it already has that version, then every later
 * one, as config-api's publication does.
 *
 * @example
 * const configApi = await startConfigApiDouble();
 * configApi.publish({ directories: [] });
 * const service = await startService({ CONFIG_GRPC_TARGET: configApi.target });
 * const version = configApi.publish({ directories: [{ ...directory, status: 'active' }] });
 * after(() => configApi.stop());
 */
export async function startConfigApiDouble(options: StartConfigApiDoubleOptions = {}): Promise<ConfigApiDouble> {
  let config: PlatformConfig = options.base ?? {
    settings: defaultPlatformSettings(),
    directories: [],
    trustAnchors: [],
  };
  let latest: configV1.ConfigSnapshot | undefined;
  const watches = new Set<Watch>();
  const server = createGrpcServer({ serviceName: 'config-api-double', logger: silentLogger });
  server.addService(configV1.ConfigService, {
    async getConfig() {
      if (!latest) throw new DependencyUnavailableError('nothing is published yet');
      return { snapshot: latest };
    },
    async watchConfig({ knownVersion }, call) {
      if (latest && latest.version !== knownVersion) call.write({ snapshot: latest });
      watches.add(call);
      await new Promise<void>((resolve) => {
        call.on('cancelled', resolve);
        call.on('close', resolve);
      });
      watches.delete(call);
    },
  });
  const port = await server.listen('127.0.0.1', 0);

  function publishJson(settingsJson: string): number {
    latest = { version: (latest?.version ?? 0) + 1, settingsJson, updatedAt: Math.floor(Date.now() / 1000) };
    for (const watch of watches) watch.write({ snapshot: latest });
    return latest.version;
  }

  return {
    target: `ipv4:///127.0.0.1:${port}`,
    version: () => latest?.version ?? 0,
    config: () => structuredClone(config),
    publish(change = {}) {
      config = { ...config, ...structuredClone(change) };
      return publishJson(JSON.stringify(config));
    },
    publishJson,
    watchers: () => watches.size,
    stop: () => server.shutdown(0),
  };
}
