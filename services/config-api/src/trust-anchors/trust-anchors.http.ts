import { Router, type RequestHandler } from 'express';
import { jsonBody } from '@obip/http';
import { principalOf } from '../access/access.http';
import type { AdminScope } from '../access/access.tokens';
import type { TrustAnchorService } from './trust-anchors.service';

/** `/v1/trust-anchors`: CA certificates for TPP transport certificates. */
export function createTrustAnchorsRouter(
  anchors: TrustAnchorService,
  guard: (scope: AdminScope) => RequestHandler,
): Router {
  const router = Router();

  router.get('/v1/trust-anchors', guard('obip:config:read'), async (_req, res) => {
    res.json({ trustAnchors: await anchors.list() });
  });

  router.post('/v1/trust-anchors', guard('obip:config:write'), jsonBody({ limit: '96kb' }), async (req, res) => {
    const created = await anchors.add(principalOf(res), req.body);
    res.status(201).location(`/v1/trust-anchors/${created.fingerprint}`).json(created);
  });

  router.delete('/v1/trust-anchors/:fingerprint', guard('obip:config:write'), async (req, res) => {
    await anchors.remove(principalOf(res), String(req.params.fingerprint));
    res.status(204).end();
  });

  return router;
}
