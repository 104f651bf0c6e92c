import type Provider from 'oidc-provider';
import type { JWK } from 'jose';
import { changedLiveSettings, needsNewEngine, type LiveSettingName, type LiveSettings } from './live.settings';

/** What an engine is built from, besides the settings fixed at start. */
export interface EngineInputs {
  live: LiveSettings;
  /** Private signing JWKS; the first key of each alg signs. */
  jwks: { keys: JWK[] };
  /** Cookie keys, newest first: the first signs, all verify. */
  cookieKeys: string[];
}

/** Why a new engine was built while serving. */
export type EngineRebuildCause = 'settings' | 'signing_keys' | 'cookie_keys';

/** The part of a pino logger the live engine writes to. */
export interface LiveEngineLogger {
  info(bindings: object, message: string): void;
  warn(bindings: object, message: string): void;
}

export interface LiveEngineOptions {
  /** The issuer chosen at start (origin form); the engine never changes it. */
  issuer: string;
  initial: EngineInputs;
  /** The platform config version `initial.live` came from; undefined when from the environment. */
  initialVersion?: number;
  /**
   * Builds an engine. It must register nothing outside the instance it returns (no process or
   * shared-emitter listeners, no metrics, no timers; listeners on the instance itself are fine):
   * an engine is dropped simply by no longer being referenced.
   */
  build(inputs: EngineInputs): Provider;
  /** Called each time a newly built engine has been swapped in (not for the first one). */
  onRebuilt?(cause: EngineRebuildCause): void;
  logger: LiveEngineLogger;
}

/**
 * auth-server's engine, replaceable while requests are served. node-oidc-provider binds its
 * configuration and keys when constructed, so a change of live settings or signing keys builds a
 * new instance and swaps it in at once: a request already running finishes on the instance it
 * started on, the next one goes to the new instance. Everything a flow needs between requests
 * (interactions, codes, PAR requests, sessions, grants, tokens, DPoP nonces derived from a shared
 * secret) lives in Redis and MongoDB, so flows cross the swap unharmed.
 */
export interface LiveEngine {
  /** The engine for requests arriving now. */
  provider(): Provider;
  /** The live settings in force (`issuer` as last published; the engine keeps the one chosen at start). */
  settings(): LiveSettings;
  /** The platform config version in force; undefined while the environment's values are. */
  version(): number | undefined;
  /** The signing keys in force. */
  signingKeys(): { keys: JWK[] };
  /**
   * Applies a platform config version. Rate limits take effect at once (they are read per
   * request); a change the engine is built with swaps in a new engine; an issuer change is logged
   * and waits for the next start. Throws, keeping everything as it was, when the new engine
   * cannot be built. Returns the names of the settings that changed.
   */
  applySettings(next: LiveSettings, version: number): LiveSettingName[];
  /** Swaps in an engine signing with `jwks`. Throws, keeping the current keys, when it cannot be built. */
  applySigningKeys(jwks: { keys: JWK[] }): void;
  /** The cookie keys in force. */
  cookieKeys(): string[];
  /** Swaps in an engine signing cookies with the first of `keys` and verifying with all of them. */
  applyCookieKeys(keys: string[]): void;
}

/**
 * Creates the live engine with its first instance.
 *
 * @example
 * const engine = createLiveEngine({ issuer, initial: { live, jwks: keys.jwks, cookieKeys: keys.cookieKeys }, build: (inputs) => createProvider({ ...fixed, ...inputs }), logger });
 * app.use(engineHandler(() => engine.provider(), origins));
 * engine.applySettings(liveSettingsFromPlatform(config.settings), version);
 */
export function createLiveEngine(options: LiveEngineOptions): LiveEngine {
  const { issuer, logger } = options;
  let inputs: EngineInputs = options.initial;
  let version = options.initialVersion;
  let provider = options.build(inputs);
  let generation = 1;
  warnOfIssuerChange(inputs.live, version);

  function swap(next: EngineInputs, cause: EngineRebuildCause, reason: string): void {
    const built = options.build(next); // throws before anything changes
    provider = built;
    inputs = next;
    generation += 1;
    logger.info({ generation, reason }, `engine ${generation} serves from now on (${reason})`);
    options.onRebuilt?.(cause);
  }

  function warnOfIssuerChange(live: LiveSettings, fromVersion: number | undefined): void {
    if (new URL(live.issuer).origin === issuer) return;
    logger.warn(
      { issuer, platformIssuer: live.issuer, version: fromVersion },
      `the platform config sets the issuer to ${live.issuer}; it applies when auth-server next starts (from CONFIG_CACHE_FILE), ${issuer} stays in force until then`,
    );
  }

  return {
    provider: () => provider,
    settings: () => inputs.live,
    version: () => version,
    signingKeys: () => inputs.jwks,

    applySettings(next, nextVersion) {
      const changed = changedLiveSettings(inputs.live, next);
      if (needsNewEngine(changed)) swap({ ...inputs, live: next }, 'settings', `settings version ${nextVersion}`);
      else inputs = { ...inputs, live: next };
      version = nextVersion;
      if (changed.includes('issuer')) warnOfIssuerChange(next, nextVersion);
      logger.info(
        { version: nextVersion, changed },
        changed.length === 0
          ? `settings version ${nextVersion} changes nothing auth-server applies`
          : `settings version ${nextVersion} in force: ${changed.join(', ')} changed`,
      );
      return changed;
    },

    applySigningKeys(jwks) {
      swap({ ...inputs, jwks }, 'signing_keys', `signing keys ${jwks.keys.map((key) => key.kid).join(', ')}`);
    },

    cookieKeys: () => inputs.cookieKeys,

    applyCookieKeys(cookieKeys) {
      swap({ ...inputs, cookieKeys }, 'cookie_keys', `${cookieKeys.length} cookie keys`);
    },
  };
}
