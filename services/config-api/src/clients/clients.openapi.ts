import { z } from 'zod';
import { clientInputSchema, CLIENT_ACTIONS, statusChangeSchema } from './clients.service';

const string = { type: 'string' };
const dateTime = { type: 'string', format: 'date-time' };
const json = (schema: object) => ({ content: { 'application/json': { schema } } });
const problem = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
});

function schemaOf(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _marker, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  return rest;
}

const client = {
  type: 'object',
  additionalProperties: false,
  required: [
    'clientId',
    'status',
    'statusReason',
    'softwareId',
    'orgId',
    'fapiProfile',
    'metadata',
    'createdAt',
    'updatedAt',
  ],
  properties: {
    clientId: string,
    status: { type: 'string', enum: ['active', 'suspended', 'pending', 'rejected'] },
    statusReason: string,
    softwareId: string,
    orgId: string,
    fapiProfile: {
      type: ['string', 'null'],
      enum: ['fapi1-advanced', 'fapi2-security', 'fapi2-message-signing', null],
    },
    metadata: { type: 'object' },
    createdAt: dateTime,
    updatedAt: dateTime,
    revokedTokens: { type: 'integer', description: 'after suspend: how many tokens and grants auth-server revoked' },
  },
};

/** Responses of every operation that reads a JSON body (libs/http jsonBody). */
const bodyErrors = {
  '413': problem('The body is larger than the limit'),
  '415': problem('The body is not application/json (or is missing, compressed or not UTF-8)'),
};

const common = {
  '400': problem('Malformed request, or metadata the registration rules refuse (detail names the field)'),
  '401': problem('Missing or invalid access token'),
  '403': problem('Insufficient scope'),
  '503': problem('dcr-service or auth-server is not answering; retrying is safe'),
};

/** OpenAPI paths of `/v1/clients`, merged into config-api's document. */
export function clientsOpenApiPaths(): Record<string, object> {
  const actions = Object.fromEntries(
    Object.entries(CLIENT_ACTIONS).map(([action, status]) => [
      `/v1/clients/{clientId}/${action}`,
      {
        parameters: [{ name: 'clientId', in: 'path', required: true, schema: string }],
        post: {
          summary: `Set the client ${status} (obip:clients:write)${action === 'suspend' ? ', and revoke all its tokens' : ''}`,
          requestBody: { required: true, ...json(schemaOf(statusChangeSchema)) },
          responses: {
            '200': { description: 'The client after the change', ...json(client) },
            '404': problem('No such client'),
            '409': problem(`The client's status does not allow this (invalid_status_transition)`),
            ...common,
            ...bodyErrors,
          },
        },
      },
    ]),
  );
  return {
    '/v1/clients': {
      get: {
        summary: 'List clients (obip:config:read)',
        parameters: ['status', 'orgId', 'softwareId', 'pageSize', 'pageToken'].map((name) => ({
          name,
          in: 'query',
          schema: name === 'pageSize' ? { type: 'integer', minimum: 1, maximum: 100 } : string,
        })),
        responses: {
          '200': {
            description: 'One page of clients',
            ...json({
              type: 'object',
              additionalProperties: false,
              required: ['clients', 'nextPageToken'],
              properties: { clients: { type: 'array', items: client }, nextPageToken: { type: ['string', 'null'] } },
            }),
          },
          ...common,
        },
      },
      post: {
        summary: 'Onboard a client without DCR; it starts pending (obip:clients:write)',
        requestBody: { required: true, ...json(schemaOf(clientInputSchema)) },
        responses: { '201': { description: 'The pending client', ...json(client) }, ...common, ...bodyErrors },
      },
    },
    '/v1/clients/{clientId}': {
      parameters: [{ name: 'clientId', in: 'path', required: true, schema: string }],
      get: {
        summary: 'Read one client (obip:config:read)',
        responses: {
          '200': { description: 'The client', ...json(client) },
          '404': problem('No such client'),
          ...common,
        },
      },
    },
    ...actions,
  };
}
