/**
 * The client store, as the registration use case and the ClientRegistry gRPC adapter need it.
 * Implemented by `clients.mongo.ts`; every implementation passes `clients.contract.ts`.
 */

export type ClientStatus = 'active' | 'suspended' | 'pending';

/** A registered client: its metadata, where it came from, and how to manage it. */
export interface RegisteredClient {
  clientId: string;
  status: ClientStatus;
  /** Why the status was last set (free text, for admins). Empty when never set. */
  statusReason: string;
  softwareId: string;
  orgId: string;
  /** The SSA's `software_environment` or the trusting directory's environment. */
  environment: string;
  /** The SSA issuer that vouched for the software. */
  directoryIssuer: string;
  /** Registered metadata (RFC 7591 names), without credentials. */
  metadata: Record<string, unknown>;
  /** The software statement exactly as presented (a JWS), kept for audit and later comparison. */
  softwareStatement: string;
  /** The verified SSA claims. */
  softwareStatementClaims: Record<string, unknown>;
  /** SHA-256 (base64url) of the registration access token; undefined once revoked. */
  registrationAccessTokenHash: string | undefined;
  /** The transport certificate seen at registration. */
  certificate: { subjectDn: string; thumbprintS256: string };
  createdAt: Date;
  updatedAt: Date;
}

/** Who did what to which fields, written for every create, update and delete. Never a secret. */
export interface AuditEvent {
  action: 'create' | 'update' | 'delete' | 'set_status' | 'revoke_registration_token';
  /** The TPP (`tpp:<software_id>`), an admin subject or a service name. */
  actor: string;
  /** Names of the changed fields; values are not recorded. */
  fields: string[];
  /** Free text, e.g. the reason given for a status change. */
  note?: string;
}

export interface ListClientsQuery {
  /** At most this many; the adapter does not cap it (the caller does). */
  limit: number;
  /** Return clients whose id sorts after this one (keyset paging). */
  afterClientId?: string;
  orgId?: string;
  softwareId?: string;
  status?: ClientStatus;
}

/** The fields `update` may change. */
export type ClientChanges = Pick<
  RegisteredClient,
  'metadata' | 'softwareStatement' | 'softwareStatementClaims' | 'environment' | 'directoryIssuer' | 'certificate'
> & { registrationAccessTokenHash?: string };

export interface ClientRepository {
  /** Stores a new client. ConflictError when the client id exists. */
  create(client: RegisteredClient, audit: AuditEvent): Promise<void>;
  findById(clientId: string): Promise<RegisteredClient | undefined>;
  findByRegistrationTokenHash(hash: string): Promise<RegisteredClient | undefined>;
  /** Replaces metadata; undefined when the client is gone. */
  update(clientId: string, changes: ClientChanges, audit: AuditEvent): Promise<RegisteredClient | undefined>;
  /** Clears the registration access token hash; false when the client is gone. */
  revokeRegistrationToken(clientId: string, audit: AuditEvent): Promise<boolean>;
  setStatus(
    clientId: string,
    status: ClientStatus,
    reason: string,
    audit: AuditEvent,
  ): Promise<RegisteredClient | undefined>;
  /** Removes the client; false when it was already gone. */
  delete(clientId: string, audit: AuditEvent): Promise<boolean>;
  /** Clients ordered by client id. */
  list(query: ListClientsQuery): Promise<RegisteredClient[]>;
}
