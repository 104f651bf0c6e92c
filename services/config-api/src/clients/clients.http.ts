import { Router, type RequestHandler } from 'express';
import { jsonBody } from '@obip/http';
import { principalOf } from '../access/access.http';
import type { AdminScope } from '../access/access.tokens';
import { CLIENT_ACTIONS, type ClientAction, type ClientOnboarding } from './clients.service';

/** `/v1/clients`: manual onboarding of TPP clients through dcr-service. */
export function createClientsRouter(clients: ClientOnboarding, guard: (scope: AdminScope) => RequestHandler): Router {
  const router = Router();

  router.get('/v1/clients', guard('obip:config:read'), async (req, res) => {
    res.json(await clients.list(req.query));
  });

  router.post('/v1/clients', guard('obip:clients:write'), jsonBody({ limit: '64kb' }), async (req, res) => {
    const created = await clients.create(principalOf(res), req.body);
    res.status(201).location(`/v1/clients/${created.clientId}`).json(created);
  });

  router.get('/v1/clients/:clientId', guard('obip:config:read'), async (req, res) => {
    res.json(await clients.get(String(req.params.clientId)));
  });

  for (const action of Object.keys(CLIENT_ACTIONS) as ClientAction[]) {
    router.post(
      `/v1/clients/:clientId/${action}`,
      guard('obip:clients:write'),
      jsonBody({ limit: '4kb' }),
      async (req, res) => {
        res.json(await clients.act(principalOf(res), String(req.params.clientId), action, req.body));
      },
    );
  }

  return router;
}
