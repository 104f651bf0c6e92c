import { Router, type RequestHandler } from 'express';
import { jsonBody } from '@obip/http';
import { principalOf } from '../access/access.http';
import type { AdminScope } from '../access/access.tokens';
import { requiredIfMatchRevision, setEtag } from '../http/etag';
import { publicView, type DirectoryService } from './directories.service';

/** `/v1/directories`: trusted software-statement issuers. */
export function createDirectoriesRouter(
  directories: DirectoryService,
  guard: (scope: AdminScope) => RequestHandler,
): Router {
  const router = Router();

  router.get('/v1/directories', guard('obip:config:read'), async (_req, res) => {
    res.json({ directories: (await directories.list()).map(publicView) });
  });

  router.post('/v1/directories', guard('obip:config:write'), jsonBody({ limit: '16kb' }), async (req, res) => {
    const created = await directories.create(principalOf(res), req.body);
    setEtag(res, created.revision);
    res.status(201).location(`/v1/directories/${created.id}`).json(publicView(created));
  });

  router.get('/v1/directories/:id', guard('obip:config:read'), async (req, res) => {
    const directory = await directories.find(String(req.params.id));
    setEtag(res, directory.revision);
    res.json(publicView(directory));
  });

  router.put('/v1/directories/:id', guard('obip:config:write'), jsonBody({ limit: '16kb' }), async (req, res) => {
    const revision = requiredIfMatchRevision(req);
    const updated = await directories.replace(principalOf(res), String(req.params.id), revision, req.body);
    setEtag(res, updated.revision);
    res.json(publicView(updated));
  });

  router.delete('/v1/directories/:id', guard('obip:config:write'), async (req, res) => {
    await directories.remove(principalOf(res), String(req.params.id));
    res.status(204).end();
  });

  return router;
}
