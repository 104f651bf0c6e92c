/**
 * The OpenAPI 3.1 description of the registration API, served at `/openapi.json`
 * (ARCHITECTURE: HTTP APIs are described beside each service; tests check responses against
 * it). Schemas follow OBIE DCR 3.3 (OBClientRegistration1, RegistrationError) and RFC 7591/7592.
 */
const stringArray = { type: 'array', items: { type: 'string' } };

const oauthError = (codes: readonly string[]) => ({
  type: 'object',
  required: ['error'],
  additionalProperties: false,
  properties: {
    error: { type: 'string', enum: [...codes] },
    error_description: { type: 'string', maxLength: 500 },
  },
});

const json = (schema: object) => ({ content: { 'application/json': { schema } } });

const errorResponse = (description: string, codes: readonly string[], headers?: object) => ({
  description,
  ...(headers ? { headers } : {}),
  ...json(oauthError(codes)),
});

const unauthorized = errorResponse(
  'Missing client certificate (invalid_client), or a missing, wrong or revoked registration access token, or an unknown client (invalid_token)',
  ['invalid_client', 'invalid_token'],
  { 'WWW-Authenticate': { schema: { type: 'string' } } },
);

// RFC 7592 §2.1-2.3: the caller holds the client's credential but the client may not manage it.
const forbidden = errorResponse(
  'The client is suspended, pending approval or rejected: only an active client may read, update or delete its registration',
  ['access_denied'],
);

const badRequest = errorResponse('The registration breaks a rule; error_description names it', [
  'invalid_redirect_uri',
  'invalid_client_metadata',
  'invalid_software_statement',
  'unapproved_software_statement',
  'invalid_request',
]);

const methodNotAllowed = errorResponse('The method is switched off by settings', ['invalid_request'], {
  Allow: { schema: { type: 'string' } },
});

// A store or the trusted directory's key set did not answer: retry later (never a 400 or 404).
const unavailable = errorResponse('A dependency (MongoDB, Redis or the directory key set) is temporarily unavailable', [
  'temporarily_unavailable',
]);

const jwsBody = {
  required: true,
  description: 'OBClientRegistrationRequest1: a compact JWS signed by the TPP (PS256 or ES256), at most 64 KiB',
  content: {
    'application/jose': { schema: { type: 'string' } },
    'application/jwt': { schema: { type: 'string' } },
    'application/json': {
      schema: { type: 'object', description: 'RFC 7591 metadata; only when DCR_ACCEPT_JSON_REGISTRATION is on' },
    },
  },
};

const clientIdParameter = {
  name: 'clientId',
  in: 'path',
  required: true,
  schema: { type: 'string', maxLength: 36 },
};

export const registrationOpenApi = {
  openapi: '3.1.0',
  info: {
    title: 'obip dcr-service: Dynamic Client Registration',
    version: '3.3.0',
    description:
      'UK OBIE Dynamic Client Registration 3.3 with RFC 7591 and RFC 7592 management. Served on the mTLS host: every call needs a client certificate.',
  },
  paths: {
    '/register': {
      post: {
        operationId: 'registerClient',
        summary: 'Register a client from a signed request carrying a software statement',
        requestBody: jwsBody,
        responses: {
          '201': { description: 'Registered', ...json({ $ref: '#/components/schemas/ClientRegistration' }) },
          '400': badRequest,
          '401': unauthorized,
          '503': unavailable,
          '413': errorResponse('The body is larger than 64 KiB', ['invalid_request']),
          '415': errorResponse('Content-Type is not application/jose or application/jwt', ['invalid_request']),
        },
      },
    },
    '/register/{clientId}': {
      parameters: [clientIdParameter],
      get: {
        operationId: 'readClient',
        security: [{ registrationAccessToken: [] }],
        responses: {
          '200': { description: 'The registration', ...json({ $ref: '#/components/schemas/ClientRegistration' }) },
          '401': unauthorized,
          '403': forbidden,
          '503': unavailable,
          '405': methodNotAllowed,
        },
      },
      put: {
        operationId: 'updateClient',
        security: [{ registrationAccessToken: [] }],
        requestBody: jwsBody,
        responses: {
          '200': { description: 'Updated', ...json({ $ref: '#/components/schemas/ClientRegistration' }) },
          '400': badRequest,
          '401': unauthorized,
          '403': forbidden,
          '503': unavailable,
          '405': methodNotAllowed,
          '413': errorResponse('The body is larger than 64 KiB', ['invalid_request']),
          '415': errorResponse('Unsupported Content-Type', ['invalid_request']),
        },
      },
      delete: {
        operationId: 'deleteClient',
        security: [{ registrationAccessToken: [] }],
        responses: {
          '204': { description: 'Deleted; every token and grant of the client is being revoked' },
          '401': unauthorized,
          '403': forbidden,
          '503': unavailable,
          '405': methodNotAllowed,
        },
      },
    },
  },
  components: {
    securitySchemes: {
      registrationAccessToken: {
        type: 'http',
        scheme: 'bearer',
        description: 'RFC 7592 registration_access_token returned at registration',
      },
    },
    schemas: {
      ClientRegistration: {
        type: 'object',
        description: 'OBClientRegistration1: registered metadata with every software statement claim flattened',
        required: [
          'client_id',
          'client_id_issued_at',
          'redirect_uris',
          'token_endpoint_auth_method',
          'grant_types',
          'scope',
          'application_type',
          'id_token_signed_response_alg',
          'request_object_signing_alg',
          'software_id',
          'software_statement',
          'registration_client_uri',
          'org_id',
        ],
        properties: {
          client_id: { type: 'string', minLength: 1, maxLength: 36 },
          client_id_issued_at: { type: 'integer', minimum: 0 },
          client_name: { type: 'string' },
          redirect_uris: { ...stringArray, minItems: 1 },
          token_endpoint_auth_method: {
            type: 'string',
            enum: ['private_key_jwt', 'tls_client_auth', 'self_signed_tls_client_auth'],
          },
          token_endpoint_auth_signing_alg: { type: 'string', enum: ['PS256', 'ES256', 'EdDSA'] },
          tls_client_auth_subject_dn: { type: 'string' },
          grant_types: {
            type: 'array',
            items: {
              type: 'string',
              enum: ['authorization_code', 'refresh_token', 'client_credentials', 'urn:openid:params:grant-type:ciba'],
            },
          },
          response_types: { type: 'array', items: { type: 'string', enum: ['code', 'code id_token'] } },
          scope: { type: 'string', maxLength: 256 },
          application_type: { type: 'string', enum: ['web', 'mobile', 'native'] },
          id_token_signed_response_alg: { type: 'string', enum: ['PS256', 'ES256', 'EdDSA'] },
          request_object_signing_alg: { type: 'string', enum: ['PS256', 'ES256', 'EdDSA'] },
          jwks_uri: { type: 'string' },
          backchannel_token_delivery_mode: { type: 'string', enum: ['poll', 'ping'] },
          backchannel_client_notification_endpoint: { type: 'string' },
          backchannel_authentication_request_signing_alg: { type: 'string', enum: ['PS256', 'ES256', 'EdDSA'] },
          backchannel_user_code_parameter: { type: 'boolean', const: false },
          software_id: { type: 'string' },
          software_statement: { type: 'string' },
          software_roles: stringArray,
          software_redirect_uris: stringArray,
          software_client_name: { type: 'string' },
          software_jwks_endpoint: { type: 'string' },
          software_logo_uri: { type: 'string' },
          software_environment: { type: 'string' },
          org_id: { type: 'string' },
          org_name: { type: 'string' },
          org_status: { type: 'string' },
          registration_client_uri: { type: 'string' },
          registration_access_token: { type: 'string', minLength: 32 },
        },
      },
    },
  },
} as const;
