/**
 * The client store, as the registration use case, client administration and the ClientRegistry
 * gRPC adapter need it. Implemented by `clients.mongo.ts`.
 */

/**
 * The lifecycle state of a client. Which changes are allowed is decided by
 * `checkStatusTransition` (`clients.rules.ts`); the store applies whatever it is told, atomically.
 */
export type ClientStatus = 'active' | 'suspended' | 'pending' | 'rejected';

/** The FAPI profile enforced for a client (clients.v1 FapiProfile); undefined: the platform default. */
export type ClientProfile = 'fapi1-advanced' | 'fapi2-security' | 'fapi2-message-signing';

/**
 * A registered client: its metadata, where it came from, and how to manage it. A client an
 * administrator onboarded (clients.v1 CreateClient) presented no software statement and no
 * certificate: its `environment`, `directoryIssuer`, `softwareStatement` and certificate fields
 * are empty strings, its `softwareStatementClaims` `{}`, and it has no registration access token.
 */
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
  /** The FAPI profile an administrator chose; undefined for the platform default. */
  fapiProfile?: ClientProfile;
  /**
   * The bank's own application, onboarded as such by an administrator (clients.v1 CreateClient
   * first_party): auth-server skips the consent page for it. Never set by DCR; undefined is false.
   */
  firstParty?: boolean;
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
  /**
   * Sets the status to `change.to` only if it is still `change.from` (a compare-and-set, so two
   * administrators cannot both apply a transition checked against the same state). Undefined when
   * the client is gone or its status is no longer `change.from`.
   */
  setStatus(
    clientId: string,
    change: { from: ClientStatus; to: ClientStatus; reason: string },
    audit: AuditEvent,
  ): Promise<RegisteredClient | undefined>;
  /** Removes the client; false when it was already gone. */
  delete(clientId: string, audit: AuditEvent): Promise<boolean>;
  /** Clients ordered by client id. */
  list(query: ListClientsQuery): Promise<RegisteredClient[]>;
}
