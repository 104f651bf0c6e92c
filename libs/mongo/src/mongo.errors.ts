import { ConflictError, DependencyUnavailableError } from '@obip/errors';

// MongoDB server error codes (src/mongo/base/error_codes.yml).
const DUPLICATE_KEY_CODES = new Set([11000, 11001]);
// The server is reachable but cannot serve this operation now: shutdown, step-down, no primary.
const UNAVAILABLE_SERVER_CODES = new Set([
  6, // HostUnreachable
  7, // HostNotFound
  89, // NetworkTimeout
  91, // ShutdownInProgress
  189, // PrimarySteppedDown
  9001, // SocketException
  10107, // NotWritablePrimary
  11600, // InterruptedAtShutdown
  11602, // InterruptedDueToReplStateChange
  13435, // NotPrimaryNoSecondaryOk
  13436, // NotPrimaryOrSecondary
]);

// Driver and mongoose errors that mean "no usable connection" (mongodb 7, mongoose 9). Matched
// by name because an app can end up with more than one copy of the driver's classes.
const UNAVAILABLE_ERROR_NAMES = new Set([
  'MongoNetworkError',
  'MongoNetworkTimeoutError',
  'MongoPoolClearedError',
  'MongoServerSelectionError',
  'MongooseServerSelectionError',
  'MongoTopologyClosedError',
  'MongoNotConnectedError',
  'MongoServerClosedError',
  'MongoClientClosedError',
  'MongoOperationTimeoutError',
]);

// Socket failures that can surface from the driver as plain Node errors, e.g. a write on a socket
// the server has just closed ("This socket has been ended by the other party", EPIPE).
const SOCKET_ERROR_CODES = new Set([
  'EPIPE',
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'ECONNABORTED',
  'EHOSTUNREACH',
]);

function codeOf(error: object): unknown {
  return (error as { code?: unknown }).code;
}

/**
 * True for a unique-index violation, including one reported inside a bulk write
 * (`insertMany`), where the code sits on the first write error.
 */
export function isDuplicateKeyError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  if (DUPLICATE_KEY_CODES.has(codeOf(error) as number)) return true;
  const writeErrors = (error as { writeErrors?: unknown }).writeErrors;
  return (
    Array.isArray(writeErrors) &&
    writeErrors.some(
      (w: unknown) => typeof w === 'object' && w !== null && DUPLICATE_KEY_CODES.has(codeOf(w) as number),
    )
  );
}

/** True when `error` means MongoDB cannot be reached or cannot serve right now. */
export function isMongoUnavailableError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (UNAVAILABLE_ERROR_NAMES.has(error.name)) return true;
  // mongoose's "buffering timed out" error: a command waited for a connection that never came.
  if (error.name === 'MongooseError' && /buffering timed out|before initial connection/.test(error.message))
    return true;
  const code = codeOf(error);
  if (typeof code === 'string' && SOCKET_ERROR_CODES.has(code)) return true;
  return error.name === 'MongoServerError' && typeof code === 'number' && UNAVAILABLE_SERVER_CODES.has(code);
}

/**
 * The one place where MongoDB failures become domain errors, for storage adapters
 * (`clients.mongo.ts`) to call in their `catch`: a duplicate key becomes {@link ConflictError},
 * a network or server-selection failure {@link DependencyUnavailableError} (503, never "not
 * found"); anything else is rethrown unchanged.
 *
 * The conflict description names the index fields when the server reports them (MongoDB does;
 * FerretDB 1.x does not), never the values, which may be secrets.
 *
 * @example
 * try { await Clients.create(doc); } catch (err) { translateMongoError(err); }
 */
export function translateMongoError(error: unknown): never {
  if (error instanceof ConflictError || error instanceof DependencyUnavailableError) throw error;
  if (isDuplicateKeyError(error)) {
    const keyPattern = (error as { keyPattern?: Record<string, unknown> }).keyPattern;
    const fields = keyPattern ? Object.keys(keyPattern) : [];
    throw new ConflictError(
      fields.length > 0
        ? `a record with the same ${fields.join(', ')} already exists`
        : 'a record with the same key already exists',
      { cause: error },
    );
  }
  if (isMongoUnavailableError(error)) {
    throw new DependencyUnavailableError('mongodb is unavailable', { cause: error });
  }
  throw error;
}
