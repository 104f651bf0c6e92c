import { randomUUID } from 'node:crypto';
import type { AdminPrincipal } from '../access/access.tokens';
import type { AuditRepository } from './audit.repository';
import { diff } from './audit.rules';

export interface AuditRecord {
  actor: AdminPrincipal;
  action: string;
  resource: string;
  resourceId: string;
  before: unknown;
  after: unknown;
}

/**
 * Writes one audit entry per change, with the redacted field-level diff. A change and its entry
 * are two writes (FerretDB has no transactions): the change is made first, so an audit failure
 * can lose a line but never records a change that did not happen. The failure is logged loudly.
 *
 * @example
 * await audit.record({ actor, action: 'settings.update', resource: 'settings', resourceId: 'platform', before, after });
 */
export function createAuditTrail(
  repository: AuditRepository,
  onFailure: (error: unknown, record: AuditRecord) => void,
  now: () => Date = () => new Date(),
) {
  return {
    async record(record: AuditRecord): Promise<void> {
      try {
        await repository.append({
          id: randomUUID(),
          at: now(),
          actor: {
            subject: record.actor.subject,
            clientId: record.actor.clientId,
            issuer: record.actor.issuer,
          },
          action: record.action,
          resource: record.resource,
          resourceId: record.resourceId,
          changes: diff(record.before, record.after),
        });
      } catch (error) {
        onFailure(error, record);
      }
    },
    list: repository.list,
  };
}

export type AuditTrail = ReturnType<typeof createAuditTrail>;
