import type { Connection } from 'mongoose';
import { translateMongoError } from '@obip/mongo';
import type { AuditEntry, AuditQuery, AuditRepository } from './audit.repository';

type AuditDocument = Omit<AuditEntry, 'id'> & { _id: string };

/**
 * The audit trail in MongoDB (`audit`), append-only. Listing is newest first with a keyset
 * cursor on (at, _id), so pages stay stable while entries are being added.
 *
 * @example
 * const audit = await createMongoAuditRepository(connection);
 */
export async function createMongoAuditRepository(connection: Connection): Promise<AuditRepository> {
  const collection = connection.collection<AuditDocument>('audit');
  try {
    await collection.createIndex({ at: -1, _id: -1 });
    await collection.createIndex({ resource: 1, resourceId: 1, at: -1 });
  } catch (error) {
    translateMongoError(error);
  }

  return {
    async append(entry) {
      const { id, ...rest } = entry;
      try {
        await collection.insertOne({ _id: id, ...rest });
      } catch (error) {
        translateMongoError(error);
      }
    },

    async list(query: AuditQuery) {
      const filter: Record<string, unknown> = {};
      if (query.resource) filter.resource = query.resource;
      if (query.resourceId) filter.resourceId = query.resourceId;
      if (query.before) {
        filter.$or = [{ at: { $lt: query.before.at } }, { at: query.before.at, _id: { $lt: query.before.id } }];
      }
      try {
        const documents = await collection.find(filter).sort({ at: -1, _id: -1 }).limit(query.limit).toArray();
        return documents.map(({ _id, ...rest }) => ({ id: _id, ...rest }) as AuditEntry);
      } catch (error) {
        translateMongoError(error);
      }
    },
  };
}
