// Test double (tests only): config-api's obip.config.v1.Config as a real gRPC server, publishing
// platform config snapshots to every open WatchConfig stream.
import { configV1 } from '@obip/contracts';
import { createGrpcServer, type ServerStreamHandler } from '@obip/grpc';
import { createLogger } from '@obip/observability';
import type { PlatformConfig, PlatformSettings } from '@obip/platform-config';

export interface ConfigApiDouble {
  /** gRPC target for CONFIG_GRPC_TARGET. */
  target: string;
  /** The version last published (0 before the first). */
  version(): number;
  /** Publishes new settings as the next version and returns it. */
  publish(settings: PlatformSettings): number;
  stop(): Promise<void>;
}

type Watch = Parameters<ServerStreamHandler<configV1.WatchConfigRequest, configV1.WatchConfigResponse>>[1];

export async function startConfigApiDouble(): Promise<ConfigApiDouble> {
  let latest: configV1.ConfigSnapshot | undefined;
  const watches = new Set<Watch>();
  const server = createGrpcServer({
    serviceName: 'config-api-double',
    logger: createLogger({ service: 'config-api-double', level: 'silent' }),
  });
  server.addService(configV1.ConfigService, {
    async getConfig() {
      if (!latest) throw new Error('nothing published yet');
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
  return {
    target: `ipv4:///127.0.0.1:${port}`,
    version: () => latest?.version ?? 0,
    publish(settings) {
      const config: PlatformConfig = { settings, directories: [], trustAnchors: [] };
      latest = {
        version: (latest?.version ?? 0) + 1,
        settingsJson: JSON.stringify(config),
        updatedAt: Math.floor(Date.now() / 1000),
      };
      for (const watch of watches) watch.write({ snapshot: latest });
      return latest.version;
    },
    stop: () => server.shutdown(0),
  };
}
