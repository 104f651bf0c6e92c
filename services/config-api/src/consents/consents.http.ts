import { Router, type RequestHandler } from 'express';
import { jsonBody } from '@obip/http';
import { principalOf } from '../access/access.http';
import type { AdminScope } from '../access/access.tokens';
import type { ConsentAdministration } from './consents.service';

/** `/v1/consents`: reading a consent and revoking it as an admin, through consent-service. */
export function createConsentsRouter(
  consents: ConsentAdministration,
  guard: (scope: AdminScope) => RequestHandler,
): Router {
  const router = Router();

  router.get('/v1/consents/:consentId', guard('obip:consents:read'), async (req, res) => {
    res.json(await consents.get(String(req.params.consentId)));
  });

  router.post(
    '/v1/consents/:consentId/revoke',
    guard('obip:consents:write'),
    jsonBody({ limit: '4kb' }),
    async (req, res) => {
      res.json(await consents.revoke(principalOf(res), String(req.params.consentId), req.body));
    },
  );

  return router;
}
