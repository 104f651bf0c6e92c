import { z } from 'zod';
import { platformSettingsSchema, trustedDirectorySchema } from '@obip/platform-config';
import { directoryInputSchema } from '../directories/directories.service';
import { rotateInputSchema } from '../keys/keys.service';
import { trustAnchorInputSchema } from '../trust-anchors/trust-anchors.service';

/** A zod schema as an OpenAPI 3.1 (JSON Schema 2020-12) schema, without the `$schema` marker. */
function schemaOf(schema: z.ZodType, io: 'input' | 'output' = 'output'): Record<string, unknown> {
  const { $schema: _marker, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  return rest;
}

const string = { type: 'string' };
const dateTime = { type: 'string', format: 'date-time' };
const json = (schema: object) => ({ content: { 'application/json': { schema } } });
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

const problem = {
  type: 'object',
  required: ['type', 'title', 'status', 'detail', 'code'],
  additionalProperties: false,
  properties: {
    type: string,
    title: string,
    status: { type: 'integer' },
    detail: string,
    code: string,
    errors: {
      type: 'array',
      items: {
        type: 'object',
        required: ['pointer', 'detail'],
        additionalProperties: false,
        properties: { pointer: string, detail: string },
      },
    },
  },
};

const problemResponse = (description: string, headers?: object) => ({
  description,
  ...(headers ? { headers } : {}),
  content: { 'application/problem+json': { schema: ref('Problem') } },
});

const challenge = { 'WWW-Authenticate': { schema: string } };
const etag = { ETag: { schema: string, description: 'the revision; send it back in If-Match' } };

/** Responses every guarded operation can give. */
const guarded = {
  '400': problemResponse('Malformed request or body; `errors` names each invalid member'),
  '401': problemResponse('No access token, or one that is invalid, expired or from an untrusted issuer', challenge),
  '403': problemResponse('The token lacks the scope this operation needs (insufficient_scope)', challenge),
  '500': problemResponse('Unexpected error'),
  '503': problemResponse(
    'A dependency (MongoDB, a token issuer JWKS, dcr-service, consent-service) is not answering; retry',
  ),
};

/** Responses of every operation that reads a JSON body (libs/http jsonBody). */
const bodyErrors = {
  '413': problemResponse('The body is larger than the limit'),
  '415': problemResponse('The body is not application/json (or is missing, compressed or not UTF-8)'),
};

const ifMatch = {
  name: 'If-Match',
  in: 'header',
  required: true,
  schema: string,
  description: 'the ETag read before the change (optimistic concurrency)',
};

const conditional = {
  '412': problemResponse('The resource changed since the ETag in If-Match was read'),
  '428': problemResponse('If-Match is missing'),
};

const directory = {
  ...schemaOf(trustedDirectorySchema),
  required: ['id', 'name', 'issuer', 'jwksUri', 'environment', 'status', 'createdAt', 'updatedAt'],
  properties: {
    ...(schemaOf(trustedDirectorySchema).properties as object),
    createdAt: dateTime,
    updatedAt: dateTime,
  },
};

const trustAnchor = {
  type: 'object',
  additionalProperties: false,
  required: [
    'fingerprint',
    'name',
    'subject',
    'issuer',
    'notBefore',
    'notAfter',
    'expiring',
    'expired',
    'pem',
    'createdAt',
  ],
  properties: {
    fingerprint: { type: 'string', pattern: '^[0-9a-f]{64}$', description: 'SHA-256 of the DER' },
    name: string,
    subject: string,
    issuer: string,
    notBefore: dateTime,
    notAfter: dateTime,
    expiring: { type: 'boolean', description: 'expires within TRUST_ANCHOR_EXPIRY_WARNING_DAYS' },
    expired: { type: 'boolean' },
    pem: string,
    createdAt: dateTime,
  },
};

const signingKey = {
  type: 'object',
  additionalProperties: false,
  required: ['kid', 'alg', 'status', 'createdAt', 'activatesAt', 'retiresAt', 'publicJwk'],
  properties: {
    kid: string,
    alg: { type: 'string', enum: ['PS256', 'ES256', 'EdDSA'] },
    status: { type: 'string', enum: ['pending', 'active', 'retiring', 'retired'] },
    createdAt: dateTime,
    activatesAt: dateTime,
    retiresAt: { type: ['string', 'null'], format: 'date-time' },
    publicJwk: { type: 'object', description: 'public members only' },
  },
};

const auditEntry = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'at', 'actor', 'action', 'resource', 'resourceId', 'changes'],
  properties: {
    id: string,
    at: dateTime,
    actor: {
      type: 'object',
      additionalProperties: false,
      required: ['subject', 'clientId', 'issuer'],
      properties: { subject: string, clientId: string, issuer: string },
    },
    action: string,
    resource: string,
    resourceId: string,
    changes: {
      type: 'array',
      items: {
        type: 'object',
        required: ['path'],
        properties: { path: string, before: {}, after: {} },
        description: 'secrets appear as [redacted]',
      },
    },
  },
};

/**
 * The OpenAPI 3.1 description of config-api's admin API, served at `/openapi.json`. Request and
 * settings schemas are generated from the same zod schemas that validate them.
 */
export function configApiOpenApi(extraPaths: Record<string, object> = {}) {
  return {
    openapi: '3.1.0',
    info: {
      title: 'obip config-api',
      version: '1',
      description:
        'Admin API of the platform: settings, trusted directories, trust anchors, signing keys, manual client onboarding, consent revocation and the audit trail. Internal host only. Bearer JWT access tokens (RFC 9068) from a trusted issuer, with obip:* scopes.',
    },
    security: [{ bearer: [] }],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      schemas: {
        Problem: problem,
        Settings: schemaOf(platformSettingsSchema),
        DirectoryInput: schemaOf(directoryInputSchema, 'input'),
        Directory: directory,
        TrustAnchorInput: schemaOf(trustAnchorInputSchema),
        TrustAnchor: trustAnchor,
        RotateInput: schemaOf(rotateInputSchema),
        SigningKey: signingKey,
        AuditEntry: auditEntry,
      },
    },
    paths: {
      '/v1/settings': {
        get: {
          summary: 'Read the platform settings (obip:config:read)',
          responses: { '200': { description: 'The settings', headers: etag, ...json(ref('Settings')) }, ...guarded },
        },
        put: {
          summary: 'Replace the platform settings (obip:config:write); applied live by every service',
          parameters: [ifMatch],
          requestBody: { required: true, ...json(ref('Settings')) },
          responses: {
            '200': { description: 'The new settings', headers: etag, ...json(ref('Settings')) },
            ...guarded,
            ...bodyErrors,
            ...conditional,
          },
        },
      },
      '/v1/directories': {
        get: {
          summary: 'List trusted software-statement issuers (obip:config:read)',
          responses: {
            '200': {
              description: 'The directories',
              ...json({
                type: 'object',
                required: ['directories'],
                additionalProperties: false,
                properties: { directories: { type: 'array', items: ref('Directory') } },
              }),
            },
            ...guarded,
          },
        },
        post: {
          summary: 'Trust a software-statement issuer (obip:config:write)',
          requestBody: { required: true, ...json(ref('DirectoryInput')) },
          responses: {
            '201': { description: 'Created', headers: etag, ...json(ref('Directory')) },
            '409': problemResponse('A directory with this issuer exists'),
            ...guarded,
            ...bodyErrors,
          },
        },
      },
      '/v1/directories/{id}': {
        parameters: [{ name: 'id', in: 'path', required: true, schema: string }],
        get: {
          summary: 'Read one directory (obip:config:read)',
          responses: {
            '200': { description: 'The directory', headers: etag, ...json(ref('Directory')) },
            '404': problemResponse('No such directory'),
            ...guarded,
          },
        },
        put: {
          summary: 'Replace one directory (obip:config:write)',
          parameters: [ifMatch],
          requestBody: { required: true, ...json(ref('DirectoryInput')) },
          responses: {
            '200': { description: 'The directory', headers: etag, ...json(ref('Directory')) },
            '404': problemResponse('No such directory'),
            '409': problemResponse('Another directory has this issuer'),
            ...guarded,
            ...bodyErrors,
            ...conditional,
          },
        },
        delete: {
          summary: 'Stop trusting a directory (obip:config:write)',
          responses: { '204': { description: 'Deleted' }, '404': problemResponse('No such directory'), ...guarded },
        },
      },
      '/v1/trust-anchors': {
        get: {
          summary: 'List CA certificates trusted for TPP transport certificates (obip:config:read)',
          responses: {
            '200': {
              description: 'The trust anchors, expiring ones flagged',
              ...json({
                type: 'object',
                required: ['trustAnchors'],
                additionalProperties: false,
                properties: { trustAnchors: { type: 'array', items: ref('TrustAnchor') } },
              }),
            },
            ...guarded,
          },
        },
        post: {
          summary: 'Upload one CA certificate, PEM (obip:config:write); written to the ingress CA bundle',
          requestBody: { required: true, ...json(ref('TrustAnchorInput')) },
          responses: {
            '201': { description: 'Created', ...json(ref('TrustAnchor')) },
            '409': problemResponse('This CA is already a trust anchor'),
            ...guarded,
            ...bodyErrors,
          },
        },
      },
      '/v1/trust-anchors/{fingerprint}': {
        parameters: [{ name: 'fingerprint', in: 'path', required: true, schema: string }],
        delete: {
          summary: 'Remove a trust anchor (obip:config:write)',
          responses: {
            '204': { description: 'Deleted' },
            '404': problemResponse('No such trust anchor'),
            '409': problemResponse('The last trust anchor cannot be removed (last_trust_anchor)'),
            ...guarded,
          },
        },
      },
      '/v1/keys': {
        get: {
          summary: 'Public view of auth-server signing keys (obip:config:read)',
          responses: {
            '200': {
              description: 'Every key, with its status',
              ...json({
                type: 'object',
                required: ['keys'],
                additionalProperties: false,
                properties: { keys: { type: 'array', items: ref('SigningKey') } },
              }),
            },
            ...guarded,
          },
        },
      },
      '/v1/keys/rotate': {
        post: {
          summary:
            'Rotate signing keys (obip:keys:rotate): new keys are published now, sign after the activation delay; the old ones retire after the retirement delay',
          requestBody: { required: false, ...json(ref('RotateInput')) },
          responses: {
            '201': {
              description: 'The new keys',
              ...json({
                type: 'object',
                required: ['keys'],
                additionalProperties: false,
                properties: { keys: { type: 'array', items: ref('SigningKey') } },
              }),
            },
            '409': problemResponse('A rotation of that algorithm is already pending'),
            ...guarded,
            ...bodyErrors,
          },
        },
      },
      '/v1/keys/{kid}/retire': {
        parameters: [{ name: 'kid', in: 'path', required: true, schema: string }],
        post: {
          summary: 'Stop publishing a key now (obip:keys:rotate); the active key cannot be retired',
          responses: {
            '200': { description: 'The retired key', ...json(ref('SigningKey')) },
            '404': problemResponse('No such key'),
            '409': problemResponse('The key is active or already retired'),
            ...guarded,
          },
        },
      },
      '/v1/audit': {
        get: {
          summary: 'Every change, newest first (obip:audit:read)',
          parameters: [
            {
              name: 'resource',
              in: 'query',
              schema: { type: 'string', enum: ['settings', 'directory', 'trust-anchor', 'key', 'client', 'consent'] },
            },
            { name: 'resourceId', in: 'query', schema: string },
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 200 } },
            { name: 'cursor', in: 'query', schema: string },
          ],
          responses: {
            '200': {
              description: 'One page of entries',
              ...json({
                type: 'object',
                required: ['entries', 'nextCursor'],
                additionalProperties: false,
                properties: {
                  entries: { type: 'array', items: ref('AuditEntry') },
                  nextCursor: { type: ['string', 'null'] },
                },
              }),
            },
            ...guarded,
          },
        },
      },
      ...extraPaths,
    },
  };
}
