import { Router, type RequestHandler } from 'express';
import { z } from 'zod';
import { InvalidFieldsError } from '@obip/http';
import type { AdminScope } from '../access/access.tokens';
import { parseBody } from '../http/validation';
import type { AuditEntry } from './audit.repository';
import type { AuditTrail } from './audit.service';

const auditQuerySchema = z
  .object({
    resource: z.enum(['settings', 'directory', 'trust-anchor', 'key', 'client', 'consent']).optional(),
    resourceId: z.string().min(1).max(200).optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
    cursor: z.string().max(200).optional(),
  })
  .strict();

/** An opaque keyset cursor: the last entry's time and id. */
function cursorOf(entry: AuditEntry): string {
  return Buffer.from(JSON.stringify([entry.at.toISOString(), entry.id])).toString('base64url');
}

function parseCursor(cursor: string): { at: Date; id: string } | undefined {
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [string, string];
    const date = new Date(at);
    if (typeof id !== 'string' || Number.isNaN(date.getTime())) return undefined;
    return { at: date, id };
  } catch {
    return undefined;
  }
}

/** `GET /v1/audit`: every change, newest first, paged with `cursor`. */
export function createAuditRouter(audit: AuditTrail, guard: (scope: AdminScope) => RequestHandler): Router {
  const router = Router();
  router.get('/v1/audit', guard('obip:audit:read'), async (req, res) => {
    const query = parseBody(auditQuerySchema, req.query, 'the audit query is not valid');
    const before = query.cursor === undefined ? undefined : parseCursor(query.cursor);
    if (query.cursor !== undefined && !before) {
      throw new InvalidFieldsError('the audit query is not valid', [
        { pointer: '/cursor', detail: 'is not a cursor this API returned' },
      ]);
    }
    const entries = await audit.list({
      limit: query.limit,
      ...(query.resource ? { resource: query.resource } : {}),
      ...(query.resourceId ? { resourceId: query.resourceId } : {}),
      ...(before ? { before } : {}),
    });
    const last = entries.at(-1);
    res.json({
      entries: entries.map((entry) => ({ ...entry, at: entry.at.toISOString() })),
      nextCursor: entries.length === query.limit && last ? cursorOf(last) : null,
    });
  });
  return router;
}
