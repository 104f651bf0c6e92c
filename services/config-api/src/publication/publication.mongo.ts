import type { Connection } from 'mongoose';
import { translateMongoError } from '@obip/mongo';
import type { PublicationState, PublicationStateRepository } from './publication.repository';

interface StateDocument {
  _id: 'publication';
  version: number;
  updatedAt: Date;
}

/**
 * The published version in one document (`config_state/publication`), shared by every replica:
 * a replica that did not make a change learns of it by polling this one small document.
 *
 * @example
 * const state = createMongoPublicationState(connection);
 */
export function createMongoPublicationState(connection: Connection): PublicationStateRepository {
  const collection = connection.collection<StateDocument>('config_state');
  return {
    async read(): Promise<PublicationState> {
      try {
        const document = await collection.findOne({ _id: 'publication' });
        return document
          ? { version: document.version, updatedAt: document.updatedAt }
          : { version: 0, updatedAt: new Date(0) };
      } catch (error) {
        translateMongoError(error);
      }
    },
    async bump(at) {
      try {
        const document = await collection.findOneAndUpdate(
          { _id: 'publication' },
          { $inc: { version: 1 }, $set: { updatedAt: at } },
          { upsert: true, returnDocument: 'after' },
        );
        if (!document) throw new Error('config_state upsert returned no document');
        return { version: document.version, updatedAt: document.updatedAt };
      } catch (error) {
        translateMongoError(error);
      }
    },
  };
}
