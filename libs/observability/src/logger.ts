import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

/** Member names that hold credentials: secrets, passwords, tokens, assertions, private keys, cookies. */
const CREDENTIAL_MEMBERS = [
  'password',
  'client_secret',
  'client_assertion',
  'access_token',
  'refresh_token',
  'id_token',
  'registration_access_token',
  'token',
  'private_key',
  'authorization',
  'cookie',
];

/**
 * Paths never written to logs (ARCHITECTURE: logs never contain tokens, secrets or full
 * certificates): a credential member of the logged object, or of its `err` (pino's error
 * serialiser copies an error's own members, and an error may carry what it was given).
 *
 * Request headers and bodies are kept out where they would enter: @obip/http's request log
 * writes a fixed set of fields, never a header value, query string or body. So there are no
 * wildcard paths here: pino checks a plain path with a property lookup, but walks every member
 * of every line for a wildcard one, which made the redaction a measurable share of the hot
 * paths (bench/src/discovery/findings.md). Log a credential-bearing object under one of these
 * names, or not at all.
 */
export const REDACTED_PATHS: readonly string[] = CREDENTIAL_MEMBERS.flatMap((name) => [name, `err.${name}`]);

/**
 * The service's pino logger: JSON lines with `level` as a label, an ISO `time`, `service`, and
 * the credential paths redacted.
 *
 * @example
 * const logger = createLogger({ service: 'auth-server', level: settings.LOG_LEVEL });
 * logger.info({ generation }, 'engine rebuilt');
 */
export function createLogger(options: { service: string; level?: string }, destination?: DestinationStream): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: options.service },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: [...REDACTED_PATHS], censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}
