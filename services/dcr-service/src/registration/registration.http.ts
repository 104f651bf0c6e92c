import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import { BadRequestError } from '@obip/errors';
import {
  clientCertificate,
  errorHandler,
  HttpStatusError,
  jsonBody,
  mediaTypeOf,
  rawJoseBody,
  UnsupportedMediaTypeError,
  type ClientCertificateReader,
} from '@obip/http';
import { RegistrationError } from './registration.errors';
import type { RegistrationBody, RegistrationService } from './registration.service';
import { toRegistrationResponse } from './registration.response';

/** OBIE DCR issue 3: request bodies are at most 64 KiB. */
const BODY_LIMIT = 64 * 1024;
const JOSE_TYPES = ['application/jose', 'application/jwt'];
/** The RFC 7592 management methods on `/register/{clientId}`. */
export type ManagementMethod = 'GET' | 'PUT' | 'DELETE';

export interface RegistrationRouterOptions {
  service: RegistrationService;
  readCertificate: ClientCertificateReader;
  /** Also accept RFC 7591 `application/json` registrations. */
  acceptJson: boolean;
  /** Management methods served; others answer 405. */
  enabledMethods: readonly ManagementMethod[];
  /** Absolute URL of `/register` on the mTLS host; default from the Host header. */
  registrationBaseUrl: string | undefined;
}

/**
 * The registration API on the mTLS host: `POST /register` and `GET`/`PUT`/`DELETE
 * /register/{clientId}` (OBIE DCR 3.3, RFC 7591, RFC 7592). Errors are RFC 7591 §3.2.2 JSON.
 *
 * @example
 * app.use(createRegistrationRouter({ service, readCertificate, acceptJson: false, enabledMethods: ['GET'], registrationBaseUrl }));
 */
export function createRegistrationRouter(options: RegistrationRouterOptions): Router {
  const { service } = options;
  const router = express.Router();
  const readBody = createRegistrationBodyReader(options.acceptJson);
  const enabled = new Set<string>(options.enabledMethods);
  const allowOnClient = ['GET', 'PUT', 'DELETE'].filter((method) => enabled.has(method)).join(', ');

  const clientUri = (req: Request, clientId: string): string => {
    const base = options.registrationBaseUrl ?? `https://${req.headers.host ?? 'localhost'}/register`;
    return `${base.replace(/\/+$/, '')}/${encodeURIComponent(clientId)}`;
  };

  const onlyIfEnabled = (method: ManagementMethod): RequestHandler =>
    function checkMethodEnabled(_req, _res, next) {
      next(enabled.has(method) ? undefined : methodNotAllowed(allowOnClient));
    };

  router.use('/register', clientCertificate(options.readCertificate));

  router.post('/register', readBody, async function register(req, res) {
    const result = await service.register({ body: req.body as RegistrationBody, certificate: req.clientCertificate });
    sendJson(
      res,
      201,
      toRegistrationResponse(result.client, {
        registrationClientUri: clientUri(req, result.client.clientId),
        registrationAccessToken: result.registrationAccessToken,
      }),
    );
  });

  router.get('/register/:clientId', onlyIfEnabled('GET'), async function readRegistration(req, res) {
    const client = await service.read(manageCommand(req));
    sendJson(res, 200, toRegistrationResponse(client, { registrationClientUri: clientUri(req, client.clientId) }));
  });

  router.put('/register/:clientId', onlyIfEnabled('PUT'), readBody, async function updateRegistration(req, res) {
    const result = await service.update({ ...manageCommand(req), body: req.body as RegistrationBody });
    sendJson(
      res,
      200,
      toRegistrationResponse(result.client, {
        registrationClientUri: clientUri(req, result.client.clientId),
        registrationAccessToken: result.registrationAccessToken,
      }),
    );
  });

  router.delete('/register/:clientId', onlyIfEnabled('DELETE'), async function deleteRegistration(req, res) {
    await service.remove(manageCommand(req));
    res.setHeader('Cache-Control', 'no-store');
    res.status(204).end();
  });

  router.all('/register', (_req, _res, next) => next(methodNotAllowed('POST')));
  router.all('/register/:clientId', (_req, _res, next) => next(methodNotAllowed(allowOnClient)));
  router.use('/register', errorHandler('oauth'));
  return router;
}

/**
 * Reads a registration body by Content-Type: a compact JWS as `application/jose` or
 * `application/jwt` (the OBIE tool sends the former, other ecosystems the latter), or RFC 7591
 * JSON where allowed. 415 for anything else, 413 past 64 KiB.
 */
function createRegistrationBodyReader(acceptJson: boolean): RequestHandler {
  const readJose = rawJoseBody({ limit: BODY_LIMIT, types: JOSE_TYPES });
  const readJson = jsonBody({ limit: BODY_LIMIT });
  const accepted = acceptJson ? [...JOSE_TYPES, 'application/json'] : JOSE_TYPES;
  return function readRegistrationBody(req, res, next) {
    const type = mediaTypeOf(req.headers['content-type'])?.type;
    const wrap = (error?: unknown) => {
      if (error) return next(error);
      if (typeof req.body === 'string') req.body = { format: 'jws', jws: req.body } satisfies RegistrationBody;
      else if (typeof req.body === 'object' && req.body !== null && !Array.isArray(req.body)) {
        req.body = { format: 'json', metadata: req.body as Record<string, unknown> } satisfies RegistrationBody;
      } else return next(new UnsupportedMediaTypeError(`Content-Type must be ${accepted.join(' or ')}`));
      next();
    };
    if (type !== undefined && JOSE_TYPES.includes(type)) {
      // A body that is no compact JWS is a malformed registration request: OBIE DCR's
      // RegistrationError has no invalid_request (the size and type limits keep their 413/415).
      return readJose(req, res, (error?: unknown) =>
        wrap(
          error instanceof BadRequestError
            ? new RegistrationError(
                'invalid_client_metadata',
                'rule 2 request JWS',
                'the request is not a readable compact JWS',
                error,
              )
            : error,
        ),
      );
    }
    if (acceptJson && type === 'application/json') return readJson(req, res, wrap);
    next(new UnsupportedMediaTypeError(`Content-Type must be ${accepted.join(' or ')}`));
  };
}

function manageCommand(req: Request) {
  return {
    clientId: String(req.params.clientId),
    token: bearerTokenOf(req.headers.authorization),
    certificate: req.clientCertificate,
  };
}

/** RFC 6750 §2.1: `Authorization: Bearer <token>`; anything else is no token. */
function bearerTokenOf(header: string | undefined): string | undefined {
  const match = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header ?? '');
  return match?.[1];
}

function methodNotAllowed(allow: string): HttpStatusError {
  return new HttpStatusError(405, {
    kind: 'bad_request',
    code: 'invalid_request',
    description: 'this method is not available on this resource',
    headers: { Allow: allow },
  });
}

function sendJson(res: Response, status: number, body: unknown): void {
  // RFC 7591 §3.2.1: the response carries credentials; it must not be cached.
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Pragma', 'no-cache');
  res.status(status).json(body);
}
