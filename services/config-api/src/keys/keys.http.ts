import { Router, type RequestHandler } from 'express';
import { jsonBody } from '@obip/http';
import { principalOf } from '../access/access.http';
import type { AdminScope } from '../access/access.tokens';
import type { KeyService } from './keys.service';

/** `/v1/keys`: the public view of auth-server's signing keys, rotation and retirement. */
export function createKeysRouter(keys: KeyService, guard: (scope: AdminScope) => RequestHandler): Router {
  const router = Router();

  router.get('/v1/keys', guard('obip:config:read'), async (_req, res) => {
    res.json({ keys: await keys.list() });
  });

  router.post(
    '/v1/keys/rotate',
    guard('obip:keys:rotate'),
    // An empty body means "rotate every algorithm with the default delay".
    (req, res, next) =>
      req.headers['content-length'] === '0' || req.headers['content-type'] === undefined
        ? next()
        : jsonBody({ limit: '4kb' })(req, res, next),
    async (req, res) => {
      res.status(201).json({ keys: await keys.rotate(principalOf(res), req.body ?? {}) });
    },
  );

  router.post('/v1/keys/:kid/retire', guard('obip:keys:rotate'), async (req, res) => {
    res.json(await keys.retire(principalOf(res), String(req.params.kid)));
  });

  return router;
}
