import { Schema, type Connection, type Model } from 'mongoose';
import { translateMongoError } from '@obip/mongo';
import type {
  AuditEvent,
  ClientProfile,
  ClientRepository,
  ClientStatus,
  ListClientsQuery,
  RegisteredClient,
} from './clients.repository';

interface ClientDocument {
  _id: string;
  status: ClientStatus;
  statusReason: string;
  softwareId: string;
  orgId: string;
  environment: string;
  directoryIssuer: string;
  metadata: Record<string, unknown>;
  softwareStatement: string;
  softwareStatementClaims: Record<string, unknown>;
  registrationAccessTokenHash: string | null;
  certificate: { subjectDn: string; thumbprintS256: string };
  fapiProfile: ClientProfile | null;
  firstParty: boolean;
  createdAt: Date;
  updatedAt: Date;
}

interface AuditDocument {
  clientId: string;
  action: AuditEvent['action'];
  actor: string;
  fields: string[];
  note: string;
  at: Date;
}

const clientSchema = new Schema<ClientDocument>(
  {
    // The client id is the primary key: unique by construction, on MongoDB and FerretDB alike.
    _id: { type: String, required: true },
    status: { type: String, required: true, enum: ['active', 'suspended', 'pending', 'rejected'] },
    statusReason: { type: String, default: '' },
    softwareId: { type: String, required: true, index: true },
    orgId: { type: String, required: true, index: true },
    // Empty for a client an administrator onboarded (no software statement, no certificate):
    // mongoose's `required` refuses an empty string, so these only default.
    environment: { type: String, default: '' },
    directoryIssuer: { type: String, default: '' },
    metadata: { type: Schema.Types.Mixed, required: true },
    softwareStatement: { type: String, default: '' },
    softwareStatementClaims: { type: Schema.Types.Mixed, required: true },
    // ARCHITECTURE: registration access tokens are stored hashed, never as issued.
    registrationAccessTokenHash: { type: String, default: null, index: true },
    certificate: {
      subjectDn: { type: String, default: '' },
      thumbprintS256: { type: String, default: '' },
    },
    fapiProfile: {
      type: String,
      enum: ['fapi1-advanced', 'fapi2-security', 'fapi2-message-signing', null],
      default: null,
    },
    // Set only by administrator onboarding (clients.v1 CreateClient first_party).
    firstParty: { type: Boolean, default: false },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
  },
  { collection: 'clients', versionKey: false, minimize: false },
);

const auditSchema = new Schema<AuditDocument>(
  {
    clientId: { type: String, required: true, index: true },
    action: { type: String, required: true },
    actor: { type: String, required: true },
    fields: { type: [String], default: [] },
    note: { type: String, default: '' },
    at: { type: Date, required: true },
  },
  { collection: 'client_audit', versionKey: false },
);

/**
 * The MongoDB client store (mongoose). No transactions (FerretDB has none), so a write and its
 * audit entry are two single-document operations: a registration writes its audit entry first,
 * so that an outage or crash between the two can never leave a client without one (at worst an
 * entry for a registration that was refused with 503 and never stored); later changes are
 * audited after they apply. Database errors become domain errors here and nowhere else
 * (duplicate id → ConflictError, outage → DependencyUnavailableError).
 *
 * @example
 * const clients = await createMongoClientRepository(connection);
 */
export async function createMongoClientRepository(
  connection: Connection,
  options: { now?: () => Date } = {},
): Promise<ClientRepository> {
  const now = options.now ?? (() => new Date());
  const Clients: Model<ClientDocument> = connection.model<ClientDocument>('Client', clientSchema);
  const Audit: Model<AuditDocument> = connection.model<AuditDocument>('ClientAudit', auditSchema);
  await guard(() => Promise.all([Clients.createIndexes(), Audit.createIndexes()]));

  const audit = (clientId: string, event: AuditEvent) =>
    guard(() =>
      Audit.create({
        clientId,
        action: event.action,
        actor: event.actor,
        fields: event.fields,
        note: event.note ?? '',
        at: now(),
      }),
    );

  return {
    async create(client, event) {
      const entry = await audit(client.clientId, event);
      try {
        await guard(() => Clients.create(toDocument(client)));
      } catch (error) {
        // The registration was refused: take its entry back when the database still answers.
        await Audit.deleteOne({ _id: entry._id })
          .exec()
          .catch(() => undefined);
        throw error;
      }
    },

    async findById(clientId) {
      const found = await guard(() => Clients.findById(clientId).lean<ClientDocument>().exec());
      return found ? toClient(found) : undefined;
    },

    async findByRegistrationTokenHash(hash) {
      const found = await guard(() =>
        Clients.findOne({ registrationAccessTokenHash: hash }).lean<ClientDocument>().exec(),
      );
      return found ? toClient(found) : undefined;
    },

    async update(clientId, changes, event) {
      const set: Partial<ClientDocument> = {
        metadata: changes.metadata,
        softwareStatement: changes.softwareStatement,
        softwareStatementClaims: changes.softwareStatementClaims,
        environment: changes.environment,
        directoryIssuer: changes.directoryIssuer,
        certificate: changes.certificate,
        updatedAt: now(),
      };
      if (changes.registrationAccessTokenHash !== undefined) {
        set.registrationAccessTokenHash = changes.registrationAccessTokenHash;
      }
      const updated = await guard(() =>
        Clients.findOneAndUpdate({ _id: clientId }, { $set: set }, { new: true }).lean<ClientDocument>().exec(),
      );
      if (!updated) return undefined;
      await audit(clientId, event);
      return toClient(updated);
    },

    async revokeRegistrationToken(clientId, event) {
      const result = await guard(() =>
        Clients.updateOne({ _id: clientId }, { $set: { registrationAccessTokenHash: null, updatedAt: now() } }).exec(),
      );
      if (result.matchedCount === 0) return false;
      await audit(clientId, event);
      return true;
    },

    async setStatus(clientId, change, event) {
      // The filter on the current status makes the change a compare-and-set in one operation:
      // atomic on MongoDB. FerretDB 1.x runs it as a query then an update by _id and may let two
      // racing callers both pass the filter (docs/testing.md), so two transitions checked against
      // the same status can both apply there, the last one winning. Production runs MongoDB.
      const updated = await guard(() =>
        Clients.findOneAndUpdate(
          { _id: clientId, status: change.from },
          { $set: { status: change.to, statusReason: change.reason, updatedAt: now() } },
          { new: true },
        )
          .lean<ClientDocument>()
          .exec(),
      );
      if (!updated) return undefined;
      await audit(clientId, event);
      return toClient(updated);
    },

    async delete(clientId, event) {
      const result = await guard(() => Clients.deleteOne({ _id: clientId }).exec());
      if (result.deletedCount === 0) return false;
      await audit(clientId, event);
      return true;
    },

    async list(query: ListClientsQuery) {
      const filter: Record<string, unknown> = {};
      if (query.afterClientId !== undefined) filter._id = { $gt: query.afterClientId };
      if (query.orgId !== undefined) filter.orgId = query.orgId;
      if (query.softwareId !== undefined) filter.softwareId = query.softwareId;
      if (query.status !== undefined) filter.status = query.status;
      const found = await guard(() =>
        Clients.find(filter).sort({ _id: 1 }).limit(query.limit).lean<ClientDocument[]>().exec(),
      );
      return found.map(toClient);
    },
  };
}

/** Runs a database call, translating its failures into domain errors. */
async function guard<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    translateMongoError(error);
  }
}

function toDocument(client: RegisteredClient): ClientDocument {
  return {
    _id: client.clientId,
    status: client.status,
    statusReason: client.statusReason,
    softwareId: client.softwareId,
    orgId: client.orgId,
    environment: client.environment,
    directoryIssuer: client.directoryIssuer,
    metadata: client.metadata,
    softwareStatement: client.softwareStatement,
    softwareStatementClaims: client.softwareStatementClaims,
    registrationAccessTokenHash: client.registrationAccessTokenHash ?? null,
    certificate: { ...client.certificate },
    fapiProfile: client.fapiProfile ?? null,
    firstParty: client.firstParty === true,
    createdAt: client.createdAt,
    updatedAt: client.updatedAt,
  };
}

function toClient(document: ClientDocument): RegisteredClient {
  return {
    clientId: document._id,
    status: document.status,
    statusReason: document.statusReason ?? '',
    softwareId: document.softwareId,
    orgId: document.orgId,
    environment: document.environment,
    directoryIssuer: document.directoryIssuer,
    metadata: document.metadata,
    softwareStatement: document.softwareStatement,
    softwareStatementClaims: document.softwareStatementClaims,
    registrationAccessTokenHash: document.registrationAccessTokenHash ?? undefined,
    certificate: { subjectDn: document.certificate.subjectDn, thumbprintS256: document.certificate.thumbprintS256 },
    ...(document.fapiProfile ? { fapiProfile: document.fapiProfile } : {}),
    ...(document.firstParty === true ? { firstParty: true } : {}),
    createdAt: new Date(document.createdAt),
    updatedAt: new Date(document.updatedAt),
  };
}
