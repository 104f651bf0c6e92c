/** The FAPI profiles auth-server enforces, one per client (clients.v1.FapiProfile), with a platform default. */
export const PLATFORM_PROFILES = ['fapi1-advanced', 'fapi2-security', 'fapi2-message-signing'] as const;
export type PlatformProfile = (typeof PLATFORM_PROFILES)[number];

/** Client metadata property (engine `extraClientMetadata`) carrying the profile into the engine's client. */
export const PROFILE_METADATA = 'obip_fapi_profile';

export function isPlatformProfile(value: unknown): value is PlatformProfile {
  return typeof value === 'string' && (PLATFORM_PROFILES as readonly string[]).includes(value);
}

/** What the platform settings decide about every client's profile requirements (live settings). */
export interface ProfilePolicy {
  /** Profile of a client registered without one. */
  defaultProfile: PlatformProfile;
  /** FAPI 1.0 Advanced clients must use PAR too. */
  parForFapi1: boolean;
}

/**
 * Whether discovery advertises `require_pushed_authorization_requests`: when every client a
 * registration without a profile would get must use PAR (RFC 9126 §5; enforced per client).
 */
export function isParRequiredByDefault(policy: ProfilePolicy): boolean {
  return policy.defaultProfile !== 'fapi1-advanced' || policy.parForFapi1;
}

/**
 * The engine's `features.fapi.profile` value for a platform profile. Message Signing is the
 * Security Profile plus signed requests and responses, which client metadata requires (below).
 */
export function engineProfileOf(profile: PlatformProfile): '1.0 Final' | '2.0' {
  return profile === 'fapi1-advanced' ? '1.0 Final' : '2.0';
}

/**
 * Adds to a client's registered metadata what its profile makes mandatory, so the engine enforces
 * it per client. Only ever sets requirements to true; nothing registered is relaxed.
 *
 * - FAPI 1.0 Advanced 5.2.2-1: a signed request object, by value or through PAR.
 * - FAPI 1.0 Advanced 5.2.2-5, FAPI 2.0 SP 5.3.2.1-4: only sender-constrained access tokens;
 *   certificate-bound unless the client registered DPoP (FAPI 2.0 only).
 * - FAPI 2.0 SP 5.3.2.2-2: authorization requests only through PAR; for FAPI 1.0 Advanced clients
 *   too when the platform setting `requirements.parForFapi1` says so (FAPI 1.0 allows PAR and
 *   request objects by value alike).
 * - FAPI 2.0 Message Signing 5.3.1: signed request objects at the PAR endpoint.
 *
 * @example
 * requireProfileMetadata({ client_id: 'c' }, 'fapi2-security');
 * // { client_id: 'c', require_pushed_authorization_requests: true, tls_client_certificate_bound_access_tokens: true, obip_fapi_profile: 'fapi2-security' }
 */
export function requireProfileMetadata(
  metadata: Record<string, unknown>,
  profile: PlatformProfile,
  policy: { parForFapi1?: boolean } = {},
): Record<string, unknown> {
  const required: Record<string, unknown> = { ...metadata, [PROFILE_METADATA]: profile };
  if (profile === 'fapi1-advanced' || profile === 'fapi2-message-signing') {
    required.require_signed_request_object = true;
  }
  if (profile !== 'fapi1-advanced' || policy.parForFapi1 === true) {
    required.require_pushed_authorization_requests = true;
  }
  const usesDpop = profile !== 'fapi1-advanced' && metadata.dpop_bound_access_tokens === true;
  if (!usesDpop) required.tls_client_certificate_bound_access_tokens = true;
  return required;
}
