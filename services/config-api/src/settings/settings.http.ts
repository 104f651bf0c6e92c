import { Router, type RequestHandler } from 'express';
import { jsonBody } from '@obip/http';
import { principalOf } from '../access/access.http';
import type { AdminScope } from '../access/access.tokens';
import { requiredIfMatchRevision, setEtag } from '../http/etag';
import type { SettingsService } from './settings.service';

/**
 * `GET/PUT /v1/settings`. The ETag is the settings revision; a PUT must send it back in
 * If-Match (missing → 428, stale → 412).
 */
export function createSettingsRouter(settings: SettingsService, guard: (scope: AdminScope) => RequestHandler): Router {
  const router = Router();

  router.get('/v1/settings', guard('obip:config:read'), async (_req, res) => {
    const stored = await settings.read();
    setEtag(res, stored.revision);
    res.setHeader('Last-Modified', stored.updatedAt.toUTCString());
    res.json(stored.settings);
  });

  router.put('/v1/settings', guard('obip:config:write'), jsonBody({ limit: '64kb' }), async (req, res) => {
    const revision = requiredIfMatchRevision(req);
    const stored = await settings.replace(principalOf(res), revision, req.body);
    setEtag(res, stored.revision);
    res.json(stored.settings);
  });

  return router;
}
