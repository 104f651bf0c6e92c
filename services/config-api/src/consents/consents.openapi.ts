import { z } from 'zod';
import { revocationSchema } from './consents.service';

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

const consent = {
  type: 'object',
  additionalProperties: false,
  required: [
    'consentId',
    'clientId',
    'kind',
    'status',
    'subject',
    'permissions',
    'accountIds',
    'authorizationDetails',
    'createdAt',
    'updatedAt',
    'expiresAt',
  ],
  properties: {
    consentId: string,
    clientId: { type: 'string', description: 'the TPP that created it' },
    kind: { type: 'string', enum: ['account-access', 'domestic-payment', 'generic', 'unknown'] },
    status: {
      type: 'string',
      enum: ['AwaitingAuthorisation', 'Authorised', 'Rejected', 'Revoked', 'Consumed', 'Expired', 'unknown'],
    },
    subject: { type: ['string', 'null'], description: 'the customer who decided it; null while awaiting' },
    permissions: { type: 'array', items: string },
    accountIds: { type: 'array', items: string },
    authorizationDetails: {
      description: 'RFC 9396 authorization_details (generic) or the OBIE Initiation (payment); null when none',
    },
    createdAt: dateTime,
    updatedAt: dateTime,
    expiresAt: { type: ['string', 'null'], format: 'date-time' },
  },
};

/** Responses of every operation that reads a JSON body (libs/http jsonBody). */
const bodyErrors = {
  '413': problem('The body is larger than the limit'),
  '415': problem('The body is not application/json (or is missing, compressed or not UTF-8)'),
};

const common = {
  '401': problem('Missing or invalid access token'),
  '403': problem('Insufficient scope'),
  '404': problem('No consent with this id (consent_not_found)'),
  '503': problem('consent-service is not answering; retrying is safe'),
};

/** OpenAPI paths of `/v1/consents`, merged into config-api's document. */
export function consentsOpenApiPaths(): Record<string, object> {
  const consentId = { name: 'consentId', in: 'path', required: true, schema: string };
  return {
    '/v1/consents/{consentId}': {
      parameters: [consentId],
      get: {
        summary: 'Read one consent (obip:consents:read)',
        responses: { '200': { description: 'The consent', ...json(consent) }, ...common },
      },
    },
    '/v1/consents/{consentId}/revoke': {
      parameters: [consentId],
      post: {
        summary:
          'Revoke an Authorised consent as an admin (obip:consents:write); consent-service then revokes every token issued under it. Audited as consent.revoke',
        requestBody: { required: true, ...json(schemaOf(revocationSchema)) },
        responses: {
          '200': { description: 'The consent, Revoked (a Revoked consent comes back unchanged)', ...json(consent) },
          '400': problem('No reason, or an unknown field'),
          '409': problem('The consent is not Authorised, so it cannot be revoked (consent_status_invalid)'),
          ...common,
          ...bodyErrors,
        },
      },
    },
  };
}
