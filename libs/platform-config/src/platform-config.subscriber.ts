import { setTimeout as sleep } from 'node:timers/promises';
import { configV1 } from '@obip/contracts';
import { createGrpcClient, type GrpcClientOptions } from '@obip/grpc';
import { readCachedSnapshot, writeCachedSnapshot, type PlatformConfigSnapshot } from './platform-config.cache';
import { platformConfigSchema, type PlatformConfig } from './platform-config';

/** The part of a pino logger the subscriber uses; a pino `Logger` fits. */
export interface PlatformConfigLogger {
  info(bindings: object, message: string): void;
  warn(bindings: object, message: string): void;
  error(bindings: object, message: string): void;
}

/** Where the configuration a service runs with came from. */
export type PlatformConfigSource = 'cache' | 'config-api';

/** The configuration a service applied last, with its version. */
export interface AppliedPlatformConfig {
  config: PlatformConfig;
  version: number;
  /** When config-api published this version, in unix seconds. */
  updatedAt: number;
  source: PlatformConfigSource;
}

export interface PlatformConfigSubscriptionOptions {
  /** gRPC target of config-api's `obip.config.v1.Config`, e.g. `dns:///config-api-headless.obip.svc:50055`. */
  target: string;
  /**
   * Where the last applied snapshot is kept (written atomically), and read first at start so that
   * a service restarted while config-api is down still runs with the settings it last had.
   * Unset: nothing is cached, and until config-api answers the service runs on its environment.
   */
  cacheFile?: string;
  logger: PlatformConfigLogger;
  /**
   * Applies a validated configuration. Called one snapshot at a time, in version order, first
   * with the cached snapshot (before `subscribeToPlatformConfig` resolves) and then with every
   * newer one config-api publishes. A throw (or rejection) is logged and the version is not
   * taken: `current()` keeps the previous one and the cache file is not rewritten.
   */
  onConfig(config: PlatformConfig, version: number): void | Promise<void>;
  /** Reconnection delays: exponential from `initialMs` (default 500) up to `maxMs` (default 30 000), with jitter. */
  backoff?: { initialMs?: number; maxMs?: number };
  /** Deadline of GetConfig on each (re)connection, in ms. Default 5 000. */
  deadlineMs?: number;
  /** Transport options of the channel (credentials, keepalive); the target and deadline come from above. */
  grpc?: Omit<GrpcClientOptions<typeof configV1.ConfigClient.service>, 'target' | 'defaultDeadlineMs'>;
}

export interface PlatformConfigSubscription {
  /** The configuration applied last, or undefined while the service still runs on its environment. */
  current(): AppliedPlatformConfig | undefined;
  /** Ends the watch and closes the channel; resolves once nothing runs any more. Safe to call twice. */
  stop(): Promise<void>;
}

/** What validating a `settings_json` gives. */
export type PlatformConfigParseResult =
  { success: true; config: PlatformConfig } | { success: false; issues: Array<{ path: string; message: string }> };

/**
 * Validates one `settings_json` against {@link platformConfigSchema}. The issues name paths and
 * rules, never the values, so they are safe to log.
 *
 * @example
 * const parsed = parsePlatformConfig(snapshot.settingsJson);
 * if (!parsed.success) logger.warn({ issues: parsed.issues }, 'invalid platform config');
 */
export function parsePlatformConfig(settingsJson: string): PlatformConfigParseResult {
  let value: unknown;
  try {
    value = JSON.parse(settingsJson);
  } catch {
    return { success: false, issues: [{ path: '', message: 'settings_json is not JSON' }] };
  }
  const result = platformConfigSchema.safeParse(value);
  if (result.success) return { success: true, config: result.data };
  return {
    success: false,
    issues: result.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message })),
  };
}

/**
 * The delay before reconnection attempt `attempt` (0-based): exponential, capped, and jittered
 * over its upper half so that replicas restarted together do not reconnect in step.
 *
 * @example
 * backoffDelay(0, { initialMs: 500, maxMs: 30_000 }); // 250–500
 * backoffDelay(10, { initialMs: 500, maxMs: 30_000 }); // 15 000–30 000
 */
export function backoffDelay(attempt: number, backoff: { initialMs: number; maxMs: number }, random = Math.random) {
  const ceiling = Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/**
 * Keeps a service's platform configuration current: applies the cached snapshot (if any), then
 * connects to config-api (GetConfig, then WatchConfig with the version it has) and applies every
 * newer valid snapshot, caching each one. It never blocks start-up on config-api and never
 * throws into the service:
 *
 * - config-api unreachable, or the stream failing or ending: logged, retried with capped
 *   exponential backoff and jitter; the service keeps the version it has;
 * - a snapshot that fails {@link platformConfigSchema}: logged with its issues and ignored;
 * - versions only move forward, except that config-api's answer replaces a version read from the
 *   cache (config-api is the authority; its store may have been restored to an older version).
 *
 * @example
 * const subscription = await subscribeToPlatformConfig({
 *   target: settings.CONFIG_GRPC_TARGET,
 *   cacheFile: settings.CONFIG_CACHE_FILE,
 *   logger,
 *   onConfig: (config, version) => engine.applySettings(config.settings, version),
 * });
 * // ... on shutdown
 * await subscription.stop();
 */
export async function subscribeToPlatformConfig(
  options: PlatformConfigSubscriptionOptions,
): Promise<PlatformConfigSubscription> {
  const { logger, target } = options;
  const backoff = { initialMs: options.backoff?.initialMs ?? 500, maxMs: options.backoff?.maxMs ?? 30_000 };
  const deadlineMs = options.deadlineMs ?? 5_000;
  const abort = new AbortController();
  let current: AppliedPlatformConfig | undefined;
  let rejectedVersion: number | undefined;

  const keeping = () => (current ? `keeping version ${current.version}` : 'keeping the settings from the environment');

  /** Validates and applies one snapshot; true when it became the current version. */
  async function apply(snapshot: PlatformConfigSnapshot, source: PlatformConfigSource): Promise<boolean> {
    const { version } = snapshot;
    const parsed = parsePlatformConfig(snapshot.settingsJson);
    if (!parsed.success) {
      if (rejectedVersion !== version) {
        logger.warn(
          { version, source, issues: parsed.issues },
          `platform config version ${version} is invalid; ${keeping()}`,
        );
      }
      rejectedVersion = version;
      return false;
    }
    try {
      await options.onConfig(parsed.config, version);
    } catch (error) {
      logger.error({ err: error, version, source }, `applying platform config version ${version} failed; ${keeping()}`);
      return false;
    }
    current = { config: parsed.config, version, updatedAt: snapshot.updatedAt, source };
    logger.info({ version, source, updatedAt: snapshot.updatedAt }, `applied platform config version ${version}`);
    return true;
  }

  /** A snapshot from config-api: applied when it is news, then cached. */
  async function receive(snapshot: configV1.ConfigSnapshot | undefined): Promise<void> {
    if (!snapshot || abort.signal.aborted) return;
    if (current && snapshot.version === current.version) return;
    if (current?.source === 'config-api' && snapshot.version < current.version) return;
    const received = { version: snapshot.version, settingsJson: snapshot.settingsJson, updatedAt: snapshot.updatedAt };
    if (!(await apply(received, 'config-api')) || !options.cacheFile) return;
    try {
      await writeCachedSnapshot(options.cacheFile, received);
    } catch (error) {
      logger.warn({ err: error, file: options.cacheFile }, 'cannot write the platform config cache file');
    }
  }

  if (options.cacheFile) {
    try {
      const cached = await readCachedSnapshot(options.cacheFile);
      if (cached) await apply(cached, 'cache');
    } catch (error) {
      logger.warn({ err: error, file: options.cacheFile }, 'ignoring an unreadable platform config cache file');
    }
  }

  const client = createGrpcClient(configV1.ConfigClient, {
    ...options.grpc,
    target,
    defaultDeadlineMs: deadlineMs,
    idempotentMethods: ['getConfig'],
  });

  /** One connection: GetConfig, then the watch until the server ends it (resolves) or it breaks (throws). */
  async function watchOnce(onConnected: (version: number | undefined) => void): Promise<void> {
    const { snapshot } = await client.call('getConfig', {});
    onConnected(snapshot?.version);
    await receive(snapshot);
    const watch = client.stream('watchConfig', { knownVersion: current?.version ?? 0 }, { signal: abort.signal });
    for await (const message of watch) await receive(message.snapshot);
  }

  /** Waits, unless stopped first; holds no process open. */
  const pause = (ms: number) => sleep(ms, undefined, { signal: abort.signal, ref: false }).catch(() => undefined);

  const running = (async () => {
    let failures = 0; // consecutive connection attempts that failed
    let reachable: boolean | undefined;
    while (!abort.signal.aborted) {
      let connected = false;
      try {
        await watchOnce((version) => {
          connected = true;
          failures = 0;
          if (reachable !== true) logger.info({ target, version }, 'connected to config-api');
          reachable = true;
        });
        // The server ended the watch (shutdown, connection ageing): reconnect soon, quietly.
      } catch (error) {
        if (abort.signal.aborted) break;
        const reason = (error as { code?: string }).code;
        if (connected) {
          // Broke after it was established (a pod went away, a connection was cut): not an outage yet.
          logger.info({ target, reason }, `the watch on config-api was interrupted; reconnecting, ${keeping()}`);
        } else {
          reachable = false;
          const delay = backoffDelay(failures, backoff);
          failures += 1;
          logger.warn(
            { target, attempt: failures, retryInMs: delay, reason },
            `config-api unreachable; ${keeping()}; retrying in ${delay} ms`,
          );
          await pause(delay);
          continue;
        }
      }
      await pause(backoffDelay(0, backoff));
    }
  })().catch((error: unknown) => {
    logger.error({ err: error }, 'the platform config subscription stopped unexpectedly');
  });

  let stopping: Promise<void> | undefined;
  return {
    current: () => current,
    stop() {
      stopping ??= (async () => {
        abort.abort();
        client.close();
        await running;
      })();
      return stopping;
    },
  };
}
