import type { Connection } from 'mongoose';
import { translateMongoError } from '@obip/mongo';
import type { KeyRepository, StoredKey } from './keys.repository';

type KeyDocument = Omit<StoredKey, 'kid' | 'retiresAt'> & { _id: string; retiresAt: Date | null };

const toStored = ({ _id, retiresAt, ...rest }: KeyDocument): StoredKey => ({
  kid: _id,
  ...rest,
  ...(retiresAt ? { retiresAt } : {}),
});

/**
 * Signing keys (`signing_keys`), keyed by kid; the private half is stored sealed only.
 *
 * @example
 * const keys = createMongoKeyRepository(connection);
 */
export function createMongoKeyRepository(connection: Connection): KeyRepository {
  const collection = connection.collection<KeyDocument>('signing_keys');
  return {
    async list() {
      try {
        return (await collection.find({}).sort({ createdAt: 1, _id: 1 }).toArray()).map(toStored);
      } catch (error) {
        translateMongoError(error);
      }
    },
    async insert(key) {
      const { kid, retiresAt, ...rest } = key;
      try {
        await collection.insertOne({ _id: kid, ...rest, retiresAt: retiresAt ?? null });
      } catch (error) {
        translateMongoError(error);
      }
    },
    async setRetiresAt(kid, retiresAt) {
      try {
        await collection.updateOne({ _id: kid }, { $set: { retiresAt: retiresAt ?? null } });
      } catch (error) {
        translateMongoError(error);
      }
    },
  };
}
