import { errors, type KoaContextWithOidc } from 'oidc-provider';
import { requestedIntentId } from '../interactions/interactions.http';
import {
  AuthorizationDetailError,
  MAX_AUTHORIZATION_DETAILS,
  canonicalJson,
  checkAuthorizationDetail,
  narrowAuthorizationDetails,
  type RarType,
} from './rar.rules';

/** What the engine's authorization_details hooks see of a grant, code, token or grant source. */
interface WithDetails {
  rar?: unknown[];
}

const parsedDetails = (value: unknown): unknown[] | undefined => {
  if (Array.isArray(value)) return value;
  if (typeof value !== 'string') return undefined;
  try {
    const parsed: unknown = JSON.parse(value);
    return Array.isArray(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
};

const asEngineError = (error: unknown): never => {
  if (error instanceof AuthorizationDetailError) throw new errors.InvalidAuthorizationDetails(error.message);
  throw error;
};

/** Position of the next detail the engine validates in this request (its hook gets no index). */
const validatedSoFar = new WeakMap<object, number>();

/**
 * node-oidc-provider's `features.richAuthorizationRequests` (RFC 9396). The engine parses
 * authorization_details, checks their §2 shape, refuses unknown types and types the client did not
 * register (`authorization_details_types`), puts them before the customer as the consent prompt's
 * `rar` detail and copies granted ones onto codes and tokens through the three policy hooks below.
 * This supplies the policy:
 *
 * - each detail is one of {@link RarType} with only members the consent page shows
 *   (`rar.rules.ts`), at most {@link MAX_AUTHORIZATION_DETAILS} per request;
 * - not with an OBIE intent (the intent already is the request's detailed authorisation) and not
 *   in a CIBA request (the authentication device shows no details yet): invalid_request;
 * - a code carries the details of its own request that the customer approved, never details
 *   an earlier request added to the same grant;
 * - a token request may narrow them (§6.1) but never widen; client_credentials carries none,
 *   since there is no customer to approve them.
 */
export function richAuthorizationRequestsFeature(types: readonly RarType[]) {
  const validate = async (ctx: KoaContextWithOidc, detail: Record<string, unknown>) => {
    const index = validatedSoFar.get(ctx) ?? 0;
    validatedSoFar.set(ctx, index + 1);
    if (index === 0) {
      const params = ctx.oidc.params ?? {};
      if (ctx.oidc.route === 'backchannel_authentication') {
        throw new errors.InvalidRequest('authorization_details are not supported in backchannel authentication');
      }
      if (requestedIntentId(params.claims) !== undefined) {
        throw new errors.InvalidRequest('authorization_details cannot be combined with openbanking_intent_id');
      }
      const count = parsedDetails(params.authorization_details)?.length ?? 0;
      if (count > MAX_AUTHORIZATION_DETAILS) {
        throw new errors.InvalidAuthorizationDetails(
          `at most ${MAX_AUTHORIZATION_DETAILS} authorization_details per request`,
        );
      }
    }
    try {
      checkAuthorizationDetail(detail, index);
    } catch (error) {
      asEngineError(error);
    }
  };

  return {
    enabled: types.length > 0,
    types: Object.fromEntries(types.map((type) => [type, { validate }])),

    async authorizationDetailsForGrantSource(ctx: KoaContextWithOidc) {
      const requested = parsedDetails(ctx.oidc.params?.authorization_details) ?? [];
      const granted = new Set(((ctx.oidc.grant as WithDetails | undefined)?.rar ?? []).map(canonicalJson));
      const approved = requested.filter((detail) => granted.has(canonicalJson(detail)));
      return approved.length > 0 ? approved : undefined;
    },

    async authorizationDetailsForAccessToken(
      ctx: KoaContextWithOidc,
      _token: unknown,
      source: WithDetails | undefined,
      grantType: string,
    ) {
      const requested = parsedDetails(ctx.oidc.params?.authorization_details);
      if (grantType === 'client_credentials') {
        if (requested !== undefined) {
          throw new errors.InvalidAuthorizationDetails(
            "authorization_details need a customer's approval; client_credentials tokens carry none",
          );
        }
        return undefined;
      }
      const granted = source?.rar ?? [];
      if (requested === undefined) return granted.length > 0 ? granted : undefined;
      try {
        return narrowAuthorizationDetails(granted, requested);
      } catch (error) {
        return asEngineError(error);
      }
    },

    // The engine's introspection endpoint is off (token-introspection answers from the token
    // records), but the engine requires the hook.
    async authorizationDetailsForIntrospection(_ctx: KoaContextWithOidc, token: WithDetails) {
      return token.rar;
    },
  };
}
