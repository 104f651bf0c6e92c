import { errors, type KoaContextWithOidc } from 'oidc-provider';
import { VerifiedClaimsRequestError, checkVerifiedClaimsRequest } from './ekyc.rules';

/** Evidence types the bank's records carry (OIDC4IDA evidence `type`). */
export const EVIDENCE_SUPPORTED = ['document', 'electronic_record'];
/** Document types among them. */
export const DOCUMENTS_SUPPORTED = ['passport', 'driving_permit', 'idcard'];
/** Claims a verified_claims response may hold. */
export const CLAIMS_IN_VERIFIED_CLAIMS = [
  'given_name',
  'family_name',
  'birthdate',
  'place_of_birth',
  'nationalities',
  'address',
];

/** OpenID Connect for Identity Assurance discovery metadata. */
export function identityAssuranceMetadata(trustFrameworks: readonly string[]) {
  return {
    verified_claims_supported: true,
    trust_frameworks_supported: [...trustFrameworks],
    evidence_supported: EVIDENCE_SUPPORTED,
    documents_supported: DOCUMENTS_SUPPORTED,
    claims_in_verified_claims_supported: CLAIMS_IN_VERIFIED_CLAIMS,
  };
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * `features.claimsParameter.assertClaimsParameter`: the engine's own rule (members null or
 * objects), except `verified_claims`, which OIDC4IDA lets be an array and whose structure is
 * checked here; a malformed request is invalid_request before anything else happens.
 */
export async function assertClaimsParameter(
  _ctx: KoaContextWithOidc,
  claims: Record<string, Record<string, unknown> | undefined>,
): Promise<void> {
  for (const container of ['userinfo', 'id_token'] as const) {
    for (const [name, value] of Object.entries(claims[container] ?? {})) {
      if (name === 'verified_claims') {
        try {
          checkVerifiedClaimsRequest(value, container);
        } catch (error) {
          if (error instanceof VerifiedClaimsRequestError) throw new errors.InvalidRequest(error.message);
          throw error;
        }
      } else if (value !== null && !isObject(value)) {
        throw new errors.InvalidRequest(`claims.${container} members must be null or objects`);
      }
    }
  }
}
