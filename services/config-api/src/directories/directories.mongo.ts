import type { Connection } from 'mongoose';
import { ConflictError } from '@obip/errors';
import { isDuplicateKeyError, translateMongoError } from '@obip/mongo';
import type { TrustedDirectory } from '@obip/platform-config';
import type { DirectoryRepository, StoredDirectory } from './directories.repository';

type DirectoryDocument = Omit<StoredDirectory, 'id'> & { _id: string };

const toStored = ({ _id, ...rest }: DirectoryDocument): StoredDirectory => ({ id: _id, ...rest });

function translate(error: unknown): never {
  if (isDuplicateKeyError(error)) {
    throw new ConflictError('a directory with this issuer is already configured', { code: 'conflict', cause: error });
  }
  translateMongoError(error);
}

/**
 * Trusted software-statement issuers (`directories`), unique by issuer.
 *
 * @example
 * const directories = await createMongoDirectoryRepository(connection);
 */
export async function createMongoDirectoryRepository(connection: Connection): Promise<DirectoryRepository> {
  const collection = connection.collection<DirectoryDocument>('directories');
  try {
    await collection.createIndex({ issuer: 1 }, { unique: true });
  } catch (error) {
    translate(error);
  }

  return {
    async list() {
      try {
        return (await collection.find({}).sort({ createdAt: 1, _id: 1 }).toArray()).map(toStored);
      } catch (error) {
        translate(error);
      }
    },
    async find(id) {
      try {
        const document = await collection.findOne({ _id: id });
        return document ? toStored(document) : undefined;
      } catch (error) {
        translate(error);
      }
    },
    async insert(directory) {
      const { id, ...rest } = directory;
      try {
        await collection.insertOne({ _id: id, ...rest });
      } catch (error) {
        translate(error);
      }
    },
    async replace(id, expectedRevision, directory: TrustedDirectory, at) {
      const { id: _ignored, ...fields } = directory;
      try {
        const document = await collection.findOneAndUpdate(
          { _id: id, revision: expectedRevision },
          { $set: { ...fields, updatedAt: at }, $inc: { revision: 1 } },
          { returnDocument: 'after' },
        );
        return document ? toStored(document) : undefined;
      } catch (error) {
        translate(error);
      }
    },
    async remove(id) {
      try {
        return (await collection.deleteOne({ _id: id })).deletedCount === 1;
      } catch (error) {
        translate(error);
      }
    },
  };
}
