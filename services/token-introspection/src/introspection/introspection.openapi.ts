/**
 * The OpenAPI 3.1 description of token-introspection's HTTP API, served at `/openapi.json`
 * (ARCHITECTURE: HTTP APIs are described beside each service; tests check responses against
 * it). RFC 7662 introspection with RFC 9701 signed responses.
 */
const oauthError = (codes: readonly string[]) => ({
  type: 'object',
  required: ['error'],
  additionalProperties: false,
  properties: {
    error: { type: 'string', enum: [...codes] },
    error_description: { type: 'string', maxLength: 500 },
  },
});

const errorResponse = (description: string, codes: readonly string[], headers?: object) => ({
  description,
  ...(headers ? { headers } : {}),
  content: { 'application/json': { schema: oauthError(codes) } },
});

const stringArray = { type: 'array', items: { type: 'string' } };

export const introspectionOpenApi = {
  openapi: '3.1.0',
  info: {
    title: 'obip token-introspection',
    version: '1.0.0',
    description:
      'RFC 7662 token introspection for resource servers (bank API gateways), with RFC 9701 signed responses. ' +
      'Served on the mTLS host; callers authenticate with private_key_jwt, tls_client_auth or ' +
      'self_signed_tls_client_auth and must be registered as resource servers.',
  },
  paths: {
    '/introspect': {
      post: {
        summary: 'Introspect a token',
        description:
          'Reports whether a token is active and, if so, its claims. Unknown, expired, revoked tokens and tokens ' +
          'bound to a consent that is no longer Authorised are answered exactly {"active": false}.',
        requestBody: {
          required: true,
          content: {
            'application/x-www-form-urlencoded': {
              schema: {
                type: 'object',
                required: ['token'],
                properties: {
                  token: { type: 'string', description: 'The token to introspect' },
                  token_type_hint: { type: 'string', enum: ['access_token', 'refresh_token'] },
                  client_id: {
                    type: 'string',
                    description: 'The caller, for tls_client_auth / self_signed_tls_client_auth',
                  },
                  client_assertion_type: {
                    type: 'string',
                    enum: ['urn:ietf:params:oauth:client-assertion-type:jwt-bearer'],
                  },
                  client_assertion: { type: 'string', description: 'private_key_jwt assertion (PS256 or ES256)' },
                },
              },
            },
          },
        },
        responses: {
          '200': {
            description:
              'The introspection response: JSON, or with Accept: application/token-introspection+jwt a signed JWT ' +
              '(typ token-introspection+jwt; iss, aud = the caller, iat, token_introspection)',
            headers: { 'Cache-Control': { schema: { type: 'string', enum: ['no-store'] } } },
            content: {
              'application/json': { schema: { $ref: '#/components/schemas/IntrospectionResponse' } },
              'application/token-introspection+jwt': {
                schema: { type: 'string', pattern: '^[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$' },
              },
            },
          },
          '400': errorResponse('Missing token, repeated parameter or malformed form', ['invalid_request']),
          '401': errorResponse('The caller is not an authenticated resource server', ['invalid_client'], {
            'WWW-Authenticate': { schema: { type: 'string' } },
          }),
          '405': errorResponse('Only POST is allowed', ['invalid_request'], { Allow: { schema: { type: 'string' } } }),
          '406': errorResponse('A signed response was asked for and cannot be produced', ['invalid_request']),
          '413': errorResponse('The body is larger than 16 KiB', ['invalid_request']),
          '415': errorResponse('The body is not application/x-www-form-urlencoded (UTF-8)', ['invalid_request']),
          '500': errorResponse('Unexpected failure', ['server_error']),
          '503': errorResponse(
            'The token store, dcr-service or consent-service cannot answer; the token is never reported active',
            ['temporarily_unavailable'],
            { 'Retry-After': { schema: { type: 'string' } } },
          ),
        },
      },
    },
    '/openapi.json': {
      get: {
        summary: 'This document',
        responses: {
          '200': {
            description: 'OpenAPI 3.1 document',
            content: { 'application/json': { schema: { type: 'object' } } },
          },
        },
      },
    },
  },
  components: {
    schemas: {
      IntrospectionResponse: {
        oneOf: [{ $ref: '#/components/schemas/InactiveToken' }, { $ref: '#/components/schemas/ActiveToken' }],
      },
      InactiveToken: {
        type: 'object',
        required: ['active'],
        additionalProperties: false,
        properties: { active: { const: false } },
      },
      ActiveToken: {
        type: 'object',
        required: ['active', 'client_id', 'exp', 'iat', 'iss'],
        additionalProperties: false,
        properties: {
          active: { const: true },
          scope: { type: 'string', description: 'Space-separated scopes' },
          client_id: { type: 'string' },
          sub: { type: 'string', description: 'The customer; absent for client credentials tokens' },
          exp: { type: 'integer', minimum: 0 },
          iat: { type: 'integer', minimum: 0 },
          iss: { type: 'string' },
          aud: stringArray,
          token_type: {
            type: 'string',
            enum: ['Bearer', 'DPoP'],
            description: 'RFC 6749 §5.1 access token type; absent for refresh tokens',
          },
          cnf: {
            type: 'object',
            additionalProperties: false,
            properties: { 'x5t#S256': { type: 'string' }, jkt: { type: 'string' } },
          },
          consent_id: { type: 'string' },
          openbanking_intent_id: { type: 'string' },
          authorization_details: { type: 'array', items: { type: 'object' } },
          acr: { type: 'string' },
          verified_claims_released: {
            type: 'array',
            description:
              'obip: the verified identity claims (OpenID Connect for Identity Assurance) the customer released to the client, by trust framework; names only, never values',
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['trust_framework', 'claims'],
              properties: { trust_framework: { type: 'string' }, claims: stringArray },
            },
          },
        },
      },
    },
  },
};
