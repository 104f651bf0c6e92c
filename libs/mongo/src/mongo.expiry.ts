import { translateMongoError } from './mongo.errors';

/** What this needs of a driver or mongoose collection (`Model.collection`). */
export interface IndexableCollection {
  createIndex(spec: Record<string, 1>, options: { name: string; expireAfterSeconds?: number }): Promise<unknown>;
}

/** MongoDB's NotImplemented and CommandNotSupported: FerretDB 1.x answers a TTL index with the first. */
const UNSUPPORTED_CODES = new Set([115, 238]);

/**
 * An index on a date field that says when a document may go: a TTL index (expireAfterSeconds 0)
 * where the server has them (MongoDB), a plain index where it refuses them (FerretDB), so that the
 * caller's own purge sweep, which must run in both cases (ARCHITECTURE: do not rely on TTL
 * indexes), stays an index scan. Documents whose field is null are never removed by either.
 * Resolves with which index exists.
 *
 * @example
 * const kind = await ensureExpiryIndex(Grants.collection, 'expiresAt'); // 'ttl' | 'plain'
 */
export async function ensureExpiryIndex(collection: IndexableCollection, field: string): Promise<'ttl' | 'plain'> {
  try {
    await collection.createIndex({ [field]: 1 }, { name: `${field}_ttl`, expireAfterSeconds: 0 });
    return 'ttl';
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code !== 'number' || !UNSUPPORTED_CODES.has(code)) return translateMongoError(error);
  }
  try {
    await collection.createIndex({ [field]: 1 }, { name: field });
  } catch (error) {
    return translateMongoError(error);
  }
  return 'plain';
}
