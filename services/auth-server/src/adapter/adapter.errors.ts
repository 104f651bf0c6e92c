import { errors } from 'oidc-provider';
import { DependencyUnavailableError } from '@obip/errors';
import { translateMongoError } from '@obip/mongo';
import { translateRedisError } from '@obip/redis';

/**
 * The one place where store failures become engine errors. A store that does not answer is a
 * 503 `temporarily_unavailable` (STYLE habit 5: never "not found", never a bare 500), which the
 * engine serialises like any OAuth error.
 */
export function toEngineError(error: unknown, store: 'redis' | 'mongodb'): never {
  try {
    if (store === 'redis') translateRedisError(error);
    else translateMongoError(error);
  } catch (translated) {
    if (translated instanceof DependencyUnavailableError) throw temporarilyUnavailable(store, translated);
    throw translated;
  }
  throw error;
}

/** A 503 `temporarily_unavailable` for the engine to answer with, naming what did not answer. */
export function temporarilyUnavailable(dependency: string, cause: Error): errors.OIDCProviderError {
  const error = new errors.TemporarilyUnavailable(`${dependency} is unavailable, try again later`);
  error.status = 503;
  error.statusCode = 503;
  error.expose = true;
  error.cause = cause;
  return error;
}

/** Runs a store call, translating its failures. */
export async function guarded<T>(store: 'redis' | 'mongodb', work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof errors.OIDCProviderError) throw error;
    return toEngineError(error, store);
  }
}
