import type { FieldChange } from './audit.rules';

/** What an admin did, to which resource. */
export interface AuditEntry {
  id: string;
  at: Date;
  actor: { subject: string; clientId: string; issuer: string };
  /** e.g. `settings.update`, `trust-anchor.create`, `key.rotate`, `client.approve`. */
  action: string;
  resource: string;
  resourceId: string;
  changes: FieldChange[];
}

export interface AuditQuery {
  resource?: string;
  resourceId?: string;
  /** Entries strictly older than this cursor (from a previous page). */
  before?: { at: Date; id: string };
  limit: number;
}

/** The audit trail; declared here, by the code that writes and reads it. */
export interface AuditRepository {
  append(entry: AuditEntry): Promise<void>;
  /** Newest first. */
  list(query: AuditQuery): Promise<AuditEntry[]>;
}
