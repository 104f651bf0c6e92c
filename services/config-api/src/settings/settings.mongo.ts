import type { Connection } from 'mongoose';
import { isDuplicateKeyError, translateMongoError } from '@obip/mongo';
import type { PlatformSettings } from '@obip/platform-config';
import type { SettingsRepository, StoredSettings } from './settings.repository';

interface SettingsDocument {
  _id: 'platform';
  revision: number;
  settings: PlatformSettings;
  updatedAt: Date;
}

const toStored = ({ revision, settings, updatedAt }: SettingsDocument): StoredSettings => ({
  revision,
  settings,
  updatedAt,
});

/**
 * One document (`settings/platform`). A replace is a single conditional update on the revision,
 * so of two admins editing the same revision exactly one wins on MongoDB (FerretDB 1.x does not
 * make conditional updates atomic under a race: docs/testing.md).
 *
 * @example
 * const settings = createMongoSettingsRepository(connection);
 */
export function createMongoSettingsRepository(connection: Connection): SettingsRepository {
  const collection = connection.collection<SettingsDocument>('settings');

  return {
    async read(initial) {
      try {
        const existing = await collection.findOne({ _id: 'platform' });
        if (existing) return toStored(existing);
        const seeded: SettingsDocument = { _id: 'platform', revision: 1, settings: initial, updatedAt: new Date() };
        try {
          await collection.insertOne(seeded);
          return toStored(seeded);
        } catch (error) {
          // Another replica seeded it first: read theirs.
          if (!isDuplicateKeyError(error)) throw error;
          const theirs = await collection.findOne({ _id: 'platform' });
          if (!theirs) throw error;
          return toStored(theirs);
        }
      } catch (error) {
        translateMongoError(error);
      }
    },

    async replace(expectedRevision, settings, at) {
      try {
        const updated = await collection.findOneAndUpdate(
          { _id: 'platform', revision: expectedRevision },
          { $set: { settings, updatedAt: at }, $inc: { revision: 1 } },
          { returnDocument: 'after' },
        );
        return updated ? toStored(updated) : undefined;
      } catch (error) {
        translateMongoError(error);
      }
    },
  };
}
