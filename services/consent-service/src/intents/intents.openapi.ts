/**
 * OpenAPI 3.1 description of the OBIE intent APIs this service serves, at GET /openapi.json
 * (ARCHITECTURE: Contracts). Tests check every response they see against it.
 */
import { OBIE_PERMISSIONS } from './intents.rules';

const ISO_DATE_TIME = { type: 'string', format: 'date-time' };
const UUID = {
  type: 'string',
  pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$',
};
/** FAPI 1.0 Part 1 §6.2.1.11: every answer carries the interaction id, the caller's or a new one. */
const headers = {
  'x-fapi-interaction-id': {
    required: true,
    description: "the request's x-fapi-interaction-id, or a new UUID",
    schema: UUID,
  },
};
const errorResponse = (description: string) => ({
  description,
  headers,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/OBErrorResponse1' } } },
});
const bearer = [{ TppBearer: [] }];
const consentIdParameter = {
  name: 'ConsentId',
  in: 'path',
  required: true,
  schema: { type: 'string', minLength: 1, maxLength: 128 },
};
const interactionIdParameter = {
  name: 'x-fapi-interaction-id',
  in: 'header',
  required: false,
  description: 'RFC 4122 UUID echoed in the response; generated when absent (another value is refused with 400)',
  schema: UUID,
};
const commonErrors = {
  '400': errorResponse('the request breaks an OBIE rule; Errors names each problem'),
  '401': errorResponse('no valid access token bound to the presented client certificate'),
  '403': errorResponse('the access token does not allow this operation'),
  '415': errorResponse('Content-Type is not application/json'),
  '500': errorResponse('unexpected error'),
  '503': errorResponse('a dependency is temporarily unavailable'),
};
const statusEnum = (values: string[]) => ({ type: 'string', enum: values });

export const INTENTS_OPENAPI = {
  openapi: '3.1.0',
  info: {
    title: 'obip consent-service: OBIE 3.1 intent APIs',
    version: '3.1.0',
    description:
      'Account-access and domestic-payment consents (OBIE Read/Write API 3.1), served on the mTLS host. Every ' +
      'operation needs a Bearer access token bound to the client certificate (RFC 8705). OBIE 3.1 has no Expired ' +
      'status: an expired consent reads as Rejected, or as Revoked for account access that had been authorised.',
  },
  servers: [{ url: '/' }],
  paths: {
    '/open-banking/v3.1/aisp/account-access-consents': {
      post: {
        operationId: 'CreateAccountAccessConsents',
        security: bearer,
        parameters: [interactionIdParameter],
        requestBody: {
          required: true,
          content: { 'application/json': { schema: { $ref: '#/components/schemas/OBReadConsent1' } } },
        },
        responses: {
          '201': {
            description: 'the consent, AwaitingAuthorisation',
            headers,
            content: { 'application/json': { schema: { $ref: '#/components/schemas/OBReadConsentResponse1' } } },
          },
          ...commonErrors,
        },
      },
    },
    '/open-banking/v3.1/aisp/account-access-consents/{ConsentId}': {
      get: {
        operationId: 'GetAccountAccessConsentsConsentId',
        security: bearer,
        parameters: [consentIdParameter, interactionIdParameter],
        responses: {
          '200': {
            description: 'the consent',
            headers,
            content: { 'application/json': { schema: { $ref: '#/components/schemas/OBReadConsentResponse1' } } },
          },
          '404': errorResponse('no such consent for this TPP'),
          ...commonErrors,
        },
      },
      delete: {
        operationId: 'DeleteAccountAccessConsentsConsentId',
        security: bearer,
        parameters: [consentIdParameter, interactionIdParameter],
        responses: {
          '204': {
            description:
              'the consent is withdrawn: revoked if it was authorised (its tokens are being revoked), rejected if it still awaited authorisation, unchanged if already final',
            headers,
          },
          '404': errorResponse('no such consent for this TPP'),
          ...commonErrors,
        },
      },
    },
    '/open-banking/v3.1/pisp/domestic-payment-consents': {
      post: {
        operationId: 'CreateDomesticPaymentConsents',
        security: bearer,
        parameters: [
          interactionIdParameter,
          {
            name: 'x-idempotency-key',
            in: 'header',
            required: true,
            description:
              'within 24 hours of its first use (CONSENT_IDEMPOTENCY_KEY_TTL_SECONDS), the same key and body give back the same consent and the same key with another body is refused; after that the key creates a new consent',
            schema: { type: 'string', pattern: '^[!-~]{1,40}$', description: 'Max40Text of visible ASCII' },
          },
        ],
        requestBody: {
          required: true,
          content: { 'application/json': { schema: { $ref: '#/components/schemas/OBWriteDomesticConsent' } } },
        },
        responses: {
          '201': {
            description: 'the consent, AwaitingAuthorisation',
            headers,
            content: {
              'application/json': { schema: { $ref: '#/components/schemas/OBWriteDomesticConsentResponse' } },
            },
          },
          ...commonErrors,
        },
      },
    },
    '/open-banking/v3.1/pisp/domestic-payment-consents/{ConsentId}': {
      get: {
        operationId: 'GetDomesticPaymentConsentsConsentId',
        security: bearer,
        parameters: [consentIdParameter, interactionIdParameter],
        responses: {
          '200': {
            description: 'the consent',
            headers,
            content: {
              'application/json': { schema: { $ref: '#/components/schemas/OBWriteDomesticConsentResponse' } },
            },
          },
          '404': errorResponse('no such consent for this TPP'),
          ...commonErrors,
        },
      },
    },
    '/open-banking/v3.1/pisp/domestic-payment-consents/{ConsentId}/funds-confirmation': {
      get: {
        operationId: 'GetDomesticPaymentConsentsConsentIdFundsConfirmation',
        description: 'needs the authorization_code access token issued under this consent',
        security: bearer,
        parameters: [consentIdParameter, interactionIdParameter],
        responses: {
          '200': {
            description: 'whether the debtor account holds the instructed amount',
            headers,
            content: {
              'application/json': { schema: { $ref: '#/components/schemas/OBWriteFundsConfirmationResponse1' } },
            },
          },
          '404': errorResponse('no such consent for this TPP'),
          ...commonErrors,
        },
      },
    },
  },
  components: {
    securitySchemes: {
      TppBearer: { type: 'http', scheme: 'bearer', description: 'certificate-bound access token (RFC 8705)' },
    },
    schemas: {
      OBErrorResponse1: {
        type: 'object',
        required: ['Code', 'Message', 'Errors'],
        additionalProperties: false,
        properties: {
          Code: { type: 'string', minLength: 1, maxLength: 40 },
          Id: { type: 'string', minLength: 1, maxLength: 40 },
          Message: { type: 'string', minLength: 1, maxLength: 500 },
          Errors: {
            type: 'array',
            minItems: 1,
            items: {
              type: 'object',
              required: ['ErrorCode', 'Message'],
              additionalProperties: false,
              properties: {
                ErrorCode: { type: 'string', pattern: '^UK\\.OBIE\\.' },
                Message: { type: 'string', minLength: 1, maxLength: 500 },
                Path: { type: 'string', minLength: 1, maxLength: 500 },
                Url: { type: 'string' },
              },
            },
          },
        },
      },
      Links: {
        type: 'object',
        required: ['Self'],
        additionalProperties: false,
        properties: { Self: { type: 'string', format: 'uri-reference' } },
      },
      Meta: {
        type: 'object',
        additionalProperties: false,
        properties: { TotalPages: { type: 'integer', minimum: 1 } },
      },
      Risk: { type: 'object', description: 'OBRisk, echoed as sent' },
      OBReadConsent1: {
        type: 'object',
        required: ['Data', 'Risk'],
        properties: {
          Data: {
            type: 'object',
            required: ['Permissions'],
            additionalProperties: false,
            properties: {
              Permissions: { type: 'array', minItems: 1, items: { type: 'string', enum: [...OBIE_PERMISSIONS] } },
              ExpirationDateTime: ISO_DATE_TIME,
              TransactionFromDateTime: ISO_DATE_TIME,
              TransactionToDateTime: ISO_DATE_TIME,
            },
          },
          Risk: { $ref: '#/components/schemas/Risk' },
        },
      },
      OBReadConsentResponse1: {
        type: 'object',
        required: ['Data', 'Risk', 'Links', 'Meta'],
        additionalProperties: false,
        properties: {
          Data: {
            type: 'object',
            required: ['ConsentId', 'CreationDateTime', 'Status', 'StatusUpdateDateTime', 'Permissions'],
            additionalProperties: false,
            properties: {
              ConsentId: { type: 'string', minLength: 1, maxLength: 128 },
              CreationDateTime: ISO_DATE_TIME,
              Status: statusEnum(['Authorised', 'AwaitingAuthorisation', 'Rejected', 'Revoked']),
              StatusUpdateDateTime: ISO_DATE_TIME,
              Permissions: { type: 'array', minItems: 1, items: { type: 'string', enum: [...OBIE_PERMISSIONS] } },
              ExpirationDateTime: ISO_DATE_TIME,
              TransactionFromDateTime: ISO_DATE_TIME,
              TransactionToDateTime: ISO_DATE_TIME,
            },
          },
          Risk: { $ref: '#/components/schemas/Risk' },
          Links: { $ref: '#/components/schemas/Links' },
          Meta: { $ref: '#/components/schemas/Meta' },
        },
      },
      Amount: {
        type: 'object',
        required: ['Amount', 'Currency'],
        additionalProperties: false,
        properties: {
          Amount: { type: 'string', pattern: '^\\d{1,13}$|^\\d{1,13}\\.\\d{1,5}$' },
          Currency: { type: 'string', pattern: '^[A-Z]{3,3}$' },
        },
      },
      CashAccount: {
        type: 'object',
        required: ['SchemeName', 'Identification'],
        additionalProperties: false,
        properties: {
          SchemeName: { type: 'string', minLength: 1, maxLength: 40 },
          Identification: { type: 'string', minLength: 1, maxLength: 256 },
          Name: { type: 'string', minLength: 1, maxLength: 350 },
          SecondaryIdentification: { type: 'string', minLength: 1, maxLength: 34 },
        },
      },
      Initiation: {
        type: 'object',
        required: ['InstructionIdentification', 'EndToEndIdentification', 'InstructedAmount', 'CreditorAccount'],
        additionalProperties: false,
        properties: {
          InstructionIdentification: { type: 'string', minLength: 1, maxLength: 35 },
          EndToEndIdentification: { type: 'string', minLength: 1, maxLength: 35 },
          LocalInstrument: { type: 'string' },
          InstructedAmount: { $ref: '#/components/schemas/Amount' },
          DebtorAccount: { $ref: '#/components/schemas/CashAccount' },
          CreditorAccount: { $ref: '#/components/schemas/CashAccount' },
          CreditorPostalAddress: { type: 'object' },
          RemittanceInformation: {
            type: 'object',
            additionalProperties: false,
            properties: {
              Unstructured: { type: 'string', minLength: 1, maxLength: 140 },
              Reference: { type: 'string', minLength: 1, maxLength: 35 },
            },
          },
          SupplementaryData: { type: 'object' },
        },
      },
      Authorisation: {
        type: 'object',
        required: ['AuthorisationType'],
        properties: { AuthorisationType: statusEnum(['Any', 'Single']), CompletionDateTime: ISO_DATE_TIME },
      },
      OBWriteDomesticConsent: {
        type: 'object',
        required: ['Data', 'Risk'],
        properties: {
          Data: {
            type: 'object',
            required: ['Initiation'],
            additionalProperties: false,
            properties: {
              Initiation: { $ref: '#/components/schemas/Initiation' },
              Authorisation: { $ref: '#/components/schemas/Authorisation' },
              SCASupportData: { type: 'object' },
            },
          },
          Risk: { $ref: '#/components/schemas/Risk' },
        },
      },
      OBWriteDomesticConsentResponse: {
        type: 'object',
        required: ['Data', 'Risk', 'Links', 'Meta'],
        additionalProperties: false,
        properties: {
          Data: {
            type: 'object',
            required: ['ConsentId', 'CreationDateTime', 'Status', 'StatusUpdateDateTime', 'Initiation'],
            additionalProperties: false,
            properties: {
              ConsentId: { type: 'string', minLength: 1, maxLength: 128 },
              CreationDateTime: ISO_DATE_TIME,
              Status: statusEnum(['Authorised', 'AwaitingAuthorisation', 'Consumed', 'Rejected']),
              StatusUpdateDateTime: ISO_DATE_TIME,
              Initiation: { $ref: '#/components/schemas/Initiation' },
              Authorisation: { $ref: '#/components/schemas/Authorisation' },
              SCASupportData: { type: 'object' },
            },
          },
          Risk: { $ref: '#/components/schemas/Risk' },
          Links: { $ref: '#/components/schemas/Links' },
          Meta: { $ref: '#/components/schemas/Meta' },
        },
      },
      OBWriteFundsConfirmationResponse1: {
        type: 'object',
        required: ['Data', 'Links', 'Meta'],
        additionalProperties: false,
        properties: {
          Data: {
            type: 'object',
            additionalProperties: false,
            properties: {
              FundsAvailableResult: {
                type: 'object',
                required: ['FundsAvailableDateTime', 'FundsAvailable'],
                additionalProperties: false,
                properties: { FundsAvailableDateTime: ISO_DATE_TIME, FundsAvailable: { type: 'boolean' } },
              },
            },
          },
          Links: { $ref: '#/components/schemas/Links' },
          Meta: { $ref: '#/components/schemas/Meta' },
        },
      },
    },
  },
};
