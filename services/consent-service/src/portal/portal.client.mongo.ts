import { Schema, type Connection, type Model } from 'mongoose';
import { isDuplicateKeyError, translateMongoError } from '@obip/mongo';
import type { PortalRegistrationRecord, PortalRegistrationStore } from './portal.client';

interface RegistrationDocument {
  _id: string;
  clientId: string;
  metadataHash: string;
  updatedAt: Date;
}

const registrationSchema = new Schema<RegistrationDocument>(
  {
    // One document: the portal has one registration at a time.
    _id: { type: String, required: true },
    clientId: { type: String, required: true },
    metadataHash: { type: String, required: true },
    updatedAt: { type: Date, required: true },
  },
  { collection: 'portal_registration', versionKey: false },
);

const ID = 'portal';

/**
 * The portal's registration record in MongoDB: one document under a fixed `_id`, so the first
 * registration is a unique insert (a duplicate key means another replica won) and a later one a
 * conditional update on the client_id it replaces. Database errors become domain errors here.
 *
 * @example
 * const store = createMongoPortalRegistrationStore(connection);
 */
export function createMongoPortalRegistrationStore(
  connection: Connection,
  options: { now?: () => Date } = {},
): PortalRegistrationStore {
  const now = options.now ?? (() => new Date());
  const Registrations: Model<RegistrationDocument> =
    (connection.models.PortalRegistration as Model<RegistrationDocument> | undefined) ??
    connection.model<RegistrationDocument>('PortalRegistration', registrationSchema);

  return {
    async find() {
      try {
        const found = await Registrations.findById(ID).lean<RegistrationDocument>().exec();
        return found ? { clientId: found.clientId, metadataHash: found.metadataHash } : undefined;
      } catch (error) {
        translateMongoError(error);
      }
    },

    async replace(record: PortalRegistrationRecord, previousClientId: string | undefined) {
      try {
        if (previousClientId === undefined) {
          await Registrations.create({ _id: ID, ...record, updatedAt: now() });
          return true;
        }
        const updated = await Registrations.findOneAndUpdate(
          { _id: ID, clientId: previousClientId },
          { $set: { ...record, updatedAt: now() } },
          { returnDocument: 'after' },
        )
          .lean()
          .exec();
        return updated !== null;
      } catch (error) {
        if (isDuplicateKeyError(error)) return false;
        translateMongoError(error);
      }
    },
  };
}
