import type { Logger } from '@obip/observability';
import { platformConfigSchema, type PlatformConfig } from '@obip/platform-config';
import type { PublicationStateRepository } from './publication.repository';

/** One published version of the platform configuration. */
export interface PublishedConfig {
  version: number;
  updatedAt: Date;
  config: PlatformConfig;
}

export type PublicationListener = (published: PublishedConfig) => void;

export interface PublicationOptions {
  state: PublicationStateRepository;
  /** Reads the configuration as stored now (settings, active directories, trust anchors). */
  readConfig(): Promise<PlatformConfig>;
  /** How often changes made by other replicas are looked for. */
  pollMs: number;
  logger: Logger;
  now?: () => Date;
}

/**
 * What config-api publishes on `config.v1.Config`. A change made here is published at once
 * (`changed()`); a change made by another replica is found by polling the shared version. The
 * version is read before the configuration, so a snapshot is never older than its version: a
 * concurrent change bumps the version again and is published next.
 *
 * @example
 * const publication = createPublication({ state, readConfig, pollMs: 1000, logger });
 * publication.start();
 * const unsubscribe = publication.subscribe((published) => stream.write(published));
 */
export function createPublication(options: PublicationOptions) {
  const { state, logger } = options;
  const now = options.now ?? (() => new Date());
  const listeners = new Set<PublicationListener>();
  const stopListeners = new Set<() => void>();
  let latest: PublishedConfig | undefined;
  let refreshing: Promise<PublishedConfig> | undefined;
  let timer: NodeJS.Timeout | undefined;

  async function build(): Promise<PublishedConfig> {
    const { version, updatedAt } = await state.read();
    if (latest && latest.version >= version) return latest;
    // Validated as every subscriber will validate it: never publish what services would refuse.
    const config = platformConfigSchema.parse(await options.readConfig());
    // Builds run one at a time (refresh), so nothing newer can have arrived meanwhile.
    latest = { version, updatedAt, config };
    for (const listener of listeners) listener(latest);
    logger.info({ version }, 'platform configuration published');
    return latest;
  }

  /** One refresh at a time; callers arriving meanwhile share it. */
  function refresh(): Promise<PublishedConfig> {
    refreshing ??= build().finally(() => {
      refreshing = undefined;
    });
    return refreshing;
  }

  function poll(): void {
    timer = setTimeout(() => {
      refresh()
        .catch((error: unknown) => logger.warn({ err: error }, 'could not look for published changes'))
        .finally(() => {
          if (timer) poll();
        });
    }, options.pollMs);
    timer.unref();
  }

  return {
    /** The latest published configuration (reads the store when nothing is known yet). */
    async current(): Promise<PublishedConfig> {
      return latest ?? refresh();
    },

    /** Call after every change to what is published: bumps the version and publishes it. */
    async changed(): Promise<PublishedConfig> {
      await state.bump(now());
      // A refresh already under way may have read the old version: wait for it, then build anew.
      await refreshing?.catch(() => undefined);
      return refresh();
    },

    subscribe(listener: PublicationListener): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    /** Called once when the publication stops (shutdown): open watches end so clients reconnect elsewhere. */
    onStop(listener: () => void): () => void {
      stopListeners.add(listener);
      return () => stopListeners.delete(listener);
    },

    start(): void {
      if (!timer) poll();
    },

    stop(): void {
      clearTimeout(timer);
      timer = undefined;
      for (const listener of [...stopListeners]) listener();
      stopListeners.clear();
      listeners.clear();
    },
  };
}

export type Publication = ReturnType<typeof createPublication>;
