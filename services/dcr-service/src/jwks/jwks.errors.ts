import { DomainError } from '@obip/errors';

/**
 * A key set could not be fetched or read: timeout, too large, refused address, redirect to
 * another host, bad status or not a JWKS. Its description is safe to show (it names the
 * reason, never the response); the registration rules report it under the rule that needed
 * the keys.
 */
export class JwksFetchError extends DomainError {
  constructor(reason: string, cause?: unknown) {
    super({
      code: 'jwks_unavailable',
      kind: 'bad_request',
      description: `the key set could not be fetched: ${reason}`,
      cause,
    });
  }
}
