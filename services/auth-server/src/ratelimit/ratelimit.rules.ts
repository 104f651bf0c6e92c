import { decodeJwt } from 'jose';
import type { LiveSettings } from '../live/live.settings';
import { ENGINE_ROUTES } from '../provider/provider.routes';

/** The endpoints with a per-client limit, named as the live settings name their limits. */
export type RateLimitedEndpoint = 'token' | 'par';

const LIMITED_PATHS: Readonly<Record<string, RateLimitedEndpoint>> = {
  [ENGINE_ROUTES.token]: 'token',
  [ENGINE_ROUTES.pushed_authorization_request]: 'par',
};

/**
 * The limited endpoint a request goes to, if any: POST /token and POST /par (RFC 6749 §3.2 and
 * RFC 9126 §2 accept nothing else there).
 *
 * @example
 * rateLimitedEndpoint('POST', '/token'); // 'token'
 */
export function rateLimitedEndpoint(method: string, path: string): RateLimitedEndpoint | undefined {
  return method === 'POST' ? LIMITED_PATHS[path] : undefined;
}

/** The configured per-minute limit of an endpoint. */
export function perMinuteLimitOf(limits: LiveSettings['rateLimits'], endpoint: RateLimitedEndpoint): number {
  return endpoint === 'token' ? limits.tokenRequestsPerClientPerMinute : limits.parRequestsPerClientPerMinute;
}

/**
 * The client a request says it is, before the engine has authenticated it: the `client_id`
 * parameter (RFC 6749 §2.3.1, RFC 8705 §2, and sent by every client of ours), else the `sub` of
 * a `client_assertion` (RFC 7523 §3: the client_id), read without verifying it. Used only to
 * count requests: authentication stays the engine's.
 *
 * @example
 * claimedClientId(new URLSearchParams('grant_type=client_credentials&client_id=tpp-1')); // 'tpp-1'
 */
export function claimedClientId(form: URLSearchParams): string | undefined {
  const clientId = form.get('client_id');
  if (clientId) return clientId;
  const assertion = form.get('client_assertion');
  if (!assertion) return undefined;
  try {
    const { sub, iss } = decodeJwt(assertion);
    return typeof sub === 'string' && sub !== '' ? sub : typeof iss === 'string' && iss !== '' ? iss : undefined;
  } catch {
    return undefined;
  }
}

/**
 * What a client's requests count against: the claimed client together with the client
 * certificate the edge verified. The certificate is part of it so that a caller who only claims
 * another client's id (authentication happens later, in the engine) counts against a counter of
 * its own and can never use up that client's quota; every request on these endpoints comes
 * through the mTLS host with a certificate.
 *
 * @example
 * clientCounterSubject('tpp-1', 'x5t…'); // '["tpp-1","x5t…"]'
 */
export function clientCounterSubject(clientId: string, certificateThumbprint: string | undefined): string {
  return JSON.stringify([clientId, certificateThumbprint ?? null]);
}
