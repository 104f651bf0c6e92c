import { DomainError } from '@obip/errors';

/**
 * A key set could not be fetched or read: timeout, too large, refused address, redirect to
 * another host, bad status or not a JWKS. Its description is safe to show (it names the
 * reason, never the response); the registration rules report it under the rule that needed
 * the keys.
 */
export class JwksFetchError extends DomainError {
  /**
   * True when the key set's host did not answer (timeout, connection failure, 5xx): an outage,
   * not a wrong key set. For a trusted directory that makes the registration a 503.
   */
  readonly transient: boolean;

  constructor(reason: string, cause?: unknown, options: { transient?: boolean } = {}) {
    super({
      code: 'jwks_unavailable',
      kind: 'bad_request',
      description: `the key set could not be fetched: ${reason}`,
      cause,
    });
    this.transient = options.transient ?? false;
  }
}
