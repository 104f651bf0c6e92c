import { DependencyUnavailableError } from '@obip/errors';

// Socket-level failures: the server is down, unreachable or went away mid-command.
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNABORTED',
]);

// Replies from a server that is reachable but cannot serve right now (loading its dataset,
// no quorum, failover in progress). Any other reply error is a bug in the command, not an outage.
const UNAVAILABLE_REPLY_PREFIXES = [
  'LOADING',
  'MASTERDOWN',
  'CLUSTERDOWN',
  'TRYAGAIN',
  'BUSY',
  'READONLY',
  'NOREPLICAS',
];

// ioredis signals a missing connection with plain Errors; these are its messages (ioredis 6).
const CLIENT_UNAVAILABLE_MESSAGES = [
  'Connection is closed.',
  "Stream isn't writeable and enableOfflineQueue options is false",
  "Cluster isn't ready and enableOfflineQueue options is false",
  'Command timed out',
  'None of startup nodes is available',
  'Cluster is disconnected.',
  'Cluster is disconnecting.',
  'Cluster is ended.',
  'Failed to refresh slots cache.',
  'connect ETIMEDOUT',
];

/**
 * True when `error` means Redis cannot be reached or cannot serve, as opposed to a command the
 * server rejected (`WRONGTYPE`, syntax errors) or a programming error.
 */
export function isRedisUnavailableError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const { name, message } = error;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return true;
  if (name === 'ReplyError') return UNAVAILABLE_REPLY_PREFIXES.some((prefix) => message.startsWith(prefix));
  // MaxRetriesPerRequestError and "Command aborted due to connection close" are AbortErrors.
  if (name === 'MaxRetriesPerRequestError' || name === 'AbortError' || name === 'ClusterAllFailedError') return true;
  if (message.startsWith('Socket timeout.')) return true;
  return CLIENT_UNAVAILABLE_MESSAGES.includes(message);
}

/**
 * The one place where Redis client failures become domain errors: connection-level failures
 * become {@link DependencyUnavailableError} (a 503, STYLE habit 5), anything else is rethrown
 * unchanged so that bugs stay visible.
 *
 * @example
 * try { await redis.set(key, value, 'PX', ttl, 'NX'); } catch (err) { translateRedisError(err); }
 */
export function translateRedisError(error: unknown): never {
  if (error instanceof DependencyUnavailableError) throw error;
  if (isRedisUnavailableError(error)) {
    throw new DependencyUnavailableError('redis is unavailable', { cause: error });
  }
  throw error;
}
