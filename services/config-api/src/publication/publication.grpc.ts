import type { configV1 } from '@obip/contracts';
import type { ServiceHandlers } from '@obip/grpc';
import type { Publication, PublishedConfig } from './publication.service';

function toSnapshot(published: PublishedConfig): configV1.ConfigSnapshot {
  return {
    version: published.version,
    settingsJson: JSON.stringify(published.config),
    updatedAt: Math.floor(published.updatedAt.getTime() / 1000),
  };
}

/**
 * The gRPC adapter of `config.v1.Config`. A watch first sends the current snapshot unless the
 * caller already has its version, then every later one; it ends when the caller cancels or the
 * publication stops (shutdown), and the caller reconnects with the last version it saw.
 *
 * @example
 * grpcServer.addService(configV1.ConfigService, createConfigHandlers(publication));
 */
export function createConfigHandlers(publication: Publication): ServiceHandlers<typeof configV1.ConfigService> {
  return {
    async getConfig() {
      return { snapshot: toSnapshot(await publication.current()) };
    },

    async watchConfig(request, call) {
      // The first snapshot goes out unless the caller has that very version (even an older one:
      // the store may have been restored); after that, only newer ones.
      let sentVersion: number | undefined;
      const send = (published: PublishedConfig) => {
        const skip =
          sentVersion === undefined ? published.version === request.knownVersion : published.version <= sentVersion;
        sentVersion = Math.max(sentVersion ?? published.version, published.version);
        if (!skip) call.write({ snapshot: toSnapshot(published) });
      };
      await new Promise<void>((resolve, reject) => {
        const unsubscribe = publication.subscribe(send);
        const stopWatching = publication.onStop(end);
        function end() {
          unsubscribe();
          stopWatching();
          resolve();
        }
        call.on('cancelled', end);
        publication.current().then(send, (error: unknown) => {
          unsubscribe();
          stopWatching();
          reject(error instanceof Error ? error : new Error(String(error)));
        });
      });
    },
  };
}
