import type { Connection } from 'mongoose';
import { ConflictError } from '@obip/errors';
import { isDuplicateKeyError, translateMongoError } from '@obip/mongo';
import type { StoredTrustAnchor, TrustAnchorRepository } from './trust-anchors.repository';

type TrustAnchorDocument = Omit<StoredTrustAnchor, 'fingerprint'> & { _id: string };

const toStored = ({ _id, ...rest }: TrustAnchorDocument): StoredTrustAnchor => ({ fingerprint: _id, ...rest });

/**
 * Trust anchors (`trust_anchors`), keyed by their SHA-256 fingerprint, so one CA is stored once.
 *
 * @example
 * const anchors = createMongoTrustAnchorRepository(connection);
 */
export function createMongoTrustAnchorRepository(connection: Connection): TrustAnchorRepository {
  const collection = connection.collection<TrustAnchorDocument>('trust_anchors');
  return {
    async list() {
      try {
        return (await collection.find({}).sort({ createdAt: 1, _id: 1 }).toArray()).map(toStored);
      } catch (error) {
        translateMongoError(error);
      }
    },
    async insert(anchor) {
      const { fingerprint, ...rest } = anchor;
      try {
        await collection.insertOne({ _id: fingerprint, ...rest });
      } catch (error) {
        if (isDuplicateKeyError(error)) {
          throw new ConflictError('this CA certificate is already a trust anchor', { code: 'conflict', cause: error });
        }
        translateMongoError(error);
      }
    },
    async remove(fingerprint) {
      try {
        const document = await collection.findOneAndDelete({ _id: fingerprint });
        return document ? toStored(document) : undefined;
      } catch (error) {
        translateMongoError(error);
      }
    },
  };
}
