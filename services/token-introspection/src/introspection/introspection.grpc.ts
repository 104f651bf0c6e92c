// The gRPC adapter of introspection.v1.Introspection: proto in, the use case, proto out. Errors
// are domain errors; @obip/grpc maps them (token store or consent-service down → UNAVAILABLE).
import type { introspectionV1 } from '@obip/contracts';
import { BadRequestError } from '@obip/errors';
import type { ServiceHandlers } from '@obip/grpc';
import type { IntrospectionResponse } from './introspection.rules';
import type { IntrospectionService } from './introspection.service';

const INACTIVE_PROTO: introspectionV1.IntrospectResponse = Object.freeze({
  active: false,
  scope: '',
  clientId: '',
  sub: '',
  exp: 0,
  iat: 0,
  iss: '',
  aud: [],
  tokenType: '',
  cnfX5tS256: '',
  cnfJkt: '',
  consentId: '',
  openbankingIntentId: '',
  authorizationDetailsJson: '',
  acr: '',
});

/**
 * Handlers for `introspection.v1.Introspection`. The presented certificate thumbprint and DPoP
 * key thumbprint reach the binding rule; a mismatch is a normal inactive answer.
 *
 * @example
 * grpcServer.addService(introspectionV1.IntrospectionService, createIntrospectionHandlers(introspection));
 */
export function createIntrospectionHandlers(
  introspection: IntrospectionService,
): ServiceHandlers<typeof introspectionV1.IntrospectionService> {
  return {
    async introspect(request) {
      if (request.token === '') throw new BadRequestError('token is required', { code: 'invalid_argument' });
      const response = await introspection.introspect({
        token: request.token,
        tokenTypeHint: request.tokenTypeHint || undefined,
        presentation: {
          certificateThumbprint: request.presentedCertificateThumbprint || undefined,
          dpopJkt: request.presentedDpopJkt || undefined,
        },
      });
      return toProto(response);
    },
  };
}

function toProto(response: IntrospectionResponse): introspectionV1.IntrospectResponse {
  if (!response.active) return INACTIVE_PROTO;
  return {
    active: true,
    scope: response.scope ?? '',
    clientId: response.client_id,
    sub: response.sub ?? '',
    exp: response.exp,
    iat: response.iat,
    iss: response.iss,
    aud: response.aud ?? [],
    tokenType: response.token_type ?? '',
    cnfX5tS256: response.cnf?.['x5t#S256'] ?? '',
    cnfJkt: response.cnf?.jkt ?? '',
    consentId: response.consent_id ?? '',
    openbankingIntentId: response.openbanking_intent_id ?? '',
    authorizationDetailsJson: response.authorization_details ? JSON.stringify(response.authorization_details) : '',
    acr: response.acr ?? '',
  };
}
