import { readFile } from 'node:fs/promises';
import type { JWK } from 'jose';
import { KeyConfigurationError, parseSigningJwks } from './keys.signing';

/** The part of a pino logger the watcher writes to. */
export interface KeysReloadLogger {
  info(bindings: object, message: string): void;
  warn(bindings: object, message: string): void;
  error(bindings: object, message: string): void;
}

export interface SigningKeysWatchOptions {
  /** SIGNING_KEYS_FILE. */
  file: string;
  /** How often it is read, in ms (SIGNING_KEYS_RELOAD_MS). */
  intervalMs: number;
  /** The keys in force; a file with the same keys changes nothing. */
  current(): { keys: JWK[] };
  /** Puts a new, valid key set in force; a throw is logged and the current keys stay. */
  onKeys(jwks: { keys: JWK[] }): void;
  logger: KeysReloadLogger;
}

export interface SigningKeysWatch {
  /** Reads the file once now (the timer calls this); resolves when done. Never rejects. */
  check(): Promise<void>;
  stop(): void;
}

/**
 * Re-reads the signing keys file every `intervalMs` and puts a changed, valid key set in force.
 *
 * Polling, not fs.watch: a Kubernetes Secret volume updates by swapping a `..data` symlink, which
 * file watchers miss or report on the wrong path, and polling a small file every few seconds costs
 * nothing. A file that cannot be read or fails {@link parseSigningJwks} is logged (once per
 * distinct content) and the keys in force stay; the next valid content is taken as usual.
 *
 * @example
 * const watch = watchSigningKeysFile({ file, intervalMs: 10_000, current: () => engine.signingKeys(), onKeys: (jwks) => engine.applySigningKeys(jwks), logger });
 * // on shutdown
 * watch.stop();
 */
export function watchSigningKeysFile(options: SigningKeysWatchOptions): SigningKeysWatch {
  const { file, logger } = options;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let lastProblem: string | undefined;
  const kids = (jwks: { keys: JWK[] }) => jwks.keys.map((key) => key.kid);

  function report(problem: string, bindings: object, message: string): void {
    if (problem === lastProblem) return;
    lastProblem = problem;
    logger.warn({ file, keeping: kids(options.current()), ...bindings }, message);
  }

  async function check(): Promise<void> {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      report(
        `unreadable:${(error as NodeJS.ErrnoException).code}`,
        { code: (error as NodeJS.ErrnoException).code },
        'SIGNING_KEYS_FILE cannot be read; keeping the signing keys in force',
      );
      return;
    }
    let jwks: { keys: JWK[] };
    try {
      jwks = parseSigningJwks(text, 'SIGNING_KEYS_FILE');
    } catch (error) {
      const reason = error instanceof KeyConfigurationError ? error.message : 'cannot be parsed';
      report(`invalid:${text}`, { reason }, `${reason}; keeping the signing keys in force`);
      return;
    }
    if (JSON.stringify(jwks) === JSON.stringify(options.current())) {
      lastProblem = undefined;
      return;
    }
    if (lastProblem === `unusable:${text}`) return; // already refused; wait for other content
    try {
      options.onKeys(jwks);
      lastProblem = undefined;
      logger.info({ file, kids: kids(jwks) }, 'signing keys reloaded from SIGNING_KEYS_FILE');
    } catch (error) {
      lastProblem = `unusable:${text}`;
      logger.error(
        { err: error, file, keeping: kids(options.current()) },
        'the new signing keys cannot be used; keeping the signing keys in force',
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
