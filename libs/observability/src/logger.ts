import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

/**
 * Paths never written to logs: credentials, tokens, assertions and client certificates
 * (ARCHITECTURE: logs never contain tokens, secrets or full certificates).
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers.dpop',
  'req.headers["ssl-client-cert"]',
  'req.headers["x-forwarded-client-cert"]',
  'req.headers["client-cert"]',
  'req.headers["client-cert-chain"]',
  'req.headers["x-forwarded-tls-client-cert"]',
  'res.headers["set-cookie"]',
  '*.password',
  '*.client_secret',
  '*.client_assertion',
  '*.access_token',
  '*.refresh_token',
  '*.id_token',
  '*.registration_access_token',
  '*.token',
  '*.private_key',
];

export function createLogger(options: { service: string; level?: string }, destination?: DestinationStream): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: options.service },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}
