import { readFile } from 'node:fs/promises';
import type { JWK } from 'jose';
import { KeyConfigurationError, parseCookieKeys, parseSigningJwks } from './keys.signing';

/** The part of a pino logger the watcher writes to. */
export interface KeysReloadLogger {
  info(bindings: object, message: string): void;
  warn(bindings: object, message: string): void;
  error(bindings: object, message: string): void;
}

/** What every key-file watch is told, whatever the file holds. */
interface KeyFileWatchOptions<T> {
  file: string;
  /** How often it is read, in ms (SIGNING_KEYS_RELOAD_MS). */
  intervalMs: number;
  /** The keys in force; a file with the same keys changes nothing. */
  current(): T;
  /** Puts a new, valid key set in force; a throw is logged and the current keys stay. */
  onKeys(keys: T): void;
  logger: KeysReloadLogger;
}

export type SigningKeysWatchOptions = KeyFileWatchOptions<{ keys: JWK[] }>;
export type CookieKeysWatchOptions = KeyFileWatchOptions<string[]>;

export interface KeyFileWatch {
  /** Reads the file once now (the timer calls this); resolves when done. Never rejects. */
  check(): Promise<void>;
  stop(): void;
}
export type SigningKeysWatch = KeyFileWatch;

/** How one kind of key file is read and named in logs. */
interface KeyFileKind<T> {
  /** The setting naming the file, e.g. SIGNING_KEYS_FILE. */
  setting: string;
  /** What the keys are, in log messages ("signing keys"). */
  what: string;
  /** Parses and checks the file's text; throws KeyConfigurationError when it cannot be used. */
  parse(text: string): T;
  /** Log bindings that identify keys without revealing them. */
  describe(keys: T): object;
}

/**
 * Re-reads a key file every `intervalMs` and puts a changed, valid key set in force.
 *
 * Polling, not fs.watch: a Kubernetes Secret volume updates by swapping a `..data` symlink, which
 * file watchers miss or report on the wrong path, and polling a small file every few seconds costs
 * nothing. A file that cannot be read or parsed is logged (once per distinct content) and the keys
 * in force stay; the next valid content is taken as usual.
 */
function watchKeyFile<T>(kind: KeyFileKind<T>, options: KeyFileWatchOptions<T>): KeyFileWatch {
  const { file, logger } = options;
  const { setting, what } = kind;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let lastProblem: string | undefined;

  function report(problem: string, bindings: object, message: string): void {
    if (problem === lastProblem) return;
    lastProblem = problem;
    logger.warn({ file, keeping: kind.describe(options.current()), ...bindings }, message);
  }

  async function check(): Promise<void> {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      report(
        `unreadable:${(error as NodeJS.ErrnoException).code}`,
        { code: (error as NodeJS.ErrnoException).code },
        `${setting} cannot be read; keeping the ${what} in force`,
      );
      return;
    }
    let keys: T;
    try {
      keys = kind.parse(text);
    } catch (error) {
      const reason = error instanceof KeyConfigurationError ? error.message : 'cannot be parsed';
      report(`invalid:${text}`, { reason }, `${reason}; keeping the ${what} in force`);
      return;
    }
    if (JSON.stringify(keys) === JSON.stringify(options.current())) {
      lastProblem = undefined;
      return;
    }
    if (lastProblem === `unusable:${text}`) return; // already refused; wait for other content
    try {
      options.onKeys(keys);
      lastProblem = undefined;
      logger.info({ file, ...kind.describe(keys) }, `${what} reloaded from ${setting}`);
    } catch (error) {
      lastProblem = `unusable:${text}`;
      logger.error(
        { err: error, file, keeping: kind.describe(options.current()) },
        `the new ${what} cannot be used; keeping the ${what} in force`,
      );
    }
  }

  function schedule(): void {
    if (stopped) return;
    timer = setTimeout(() => {
      void check().finally(schedule);
    }, options.intervalMs);
    timer.unref();
  }
  schedule();

  return {
    check,
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

/**
 * Watches SIGNING_KEYS_FILE (see watchKeyFile): a changed, valid private JWKS swaps in an engine
 * signing with it.
 *
 * @example
 * const watch = watchSigningKeysFile({ file, intervalMs: 10_000, current: () => engine.signingKeys(), onKeys: (jwks) => engine.applySigningKeys(jwks), logger });
 * // on shutdown
 * watch.stop();
 */
export function watchSigningKeysFile(options: SigningKeysWatchOptions): KeyFileWatch {
  return watchKeyFile(
    {
      setting: 'SIGNING_KEYS_FILE',
      what: 'signing keys',
      parse: (text) => parseSigningJwks(text, 'SIGNING_KEYS_FILE'),
      describe: (jwks) => ({ kids: jwks.keys.map((key) => key.kid) }),
    },
    options,
  );
}

/**
 * Watches COOKIE_KEYS_FILE (see watchKeyFile): rotation without a restart. The operator puts a new
 * key first and keeps the old ones after it; cookies signed with them still verify until they are
 * removed. Keys are never logged, only how many there are.
 */
export function watchCookieKeysFile(options: CookieKeysWatchOptions): KeyFileWatch {
  return watchKeyFile(
    {
      setting: 'COOKIE_KEYS_FILE',
      what: 'cookie keys',
      parse: (text) => parseCookieKeys(text, 'COOKIE_KEYS_FILE'),
      describe: (keys) => ({ cookieKeys: keys.length }),
    },
    options,
  );
}
