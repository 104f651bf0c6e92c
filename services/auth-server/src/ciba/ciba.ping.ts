import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { rootCertificates } from 'node:tls';
import type Provider from 'oidc-provider';
import type { BackchannelAuthenticationRequestInstance } from 'oidc-provider';
import { PrivateAddressError, isPrivateAddress, publicOnlyLookup } from '@obip/http';

/** How one ping ended: acknowledged, answered with a refusal (never retried), or given up on. */
export type PingOutcome = 'delivered' | 'refused' | 'failed';

export interface PingSenderOptions {
  /** Deadline of one attempt. */
  timeoutMs: number;
  /** Attempts for failures worth retrying: network errors, timeouts, 5xx. */
  attempts: number;
  /** Allow loopback, private and link-local addresses (sandbox and tests). */
  allowPrivate: boolean;
  /** PEM CAs trusted in addition to the system roots. */
  extraCa?: string;
  /** Delay before the second attempt; doubled for each further one. Default 500 ms. */
  backoffMs?: number;
  logger: { info(bindings: object, message: string): void; warn(bindings: object, message: string): void };
  onOutcome?(outcome: PingOutcome): void;
}

export interface PingSender {
  /** Notifies a ping-mode client that the result of `authReqId` is ready; never throws. */
  deliver(endpoint: string, bearer: string, authReqId: string): Promise<PingOutcome>;
  /** Resolves when every delivery under way has ended (tests and shutdown). */
  idle(): Promise<void>;
}

class RetryablePingError extends Error {}

/**
 * The CIBA ping (CIBA Core §10.2): an HTTPS POST of `{"auth_req_id": …}` to the client's
 * backchannel_client_notification_endpoint, with its client_notification_token as bearer. A
 * network error, a timeout or a 5xx is retried with backoff; any other answer ends it, a 401
 * above all (the OpenID conformance suite checks that it is not retried). Redirects are not
 * followed. The endpoint is a TPP's, so private addresses are refused unless allowed, on the
 * resolved address (no DNS rebinding).
 *
 * @example
 * const sender = createPingSender({ timeoutMs: 5000, attempts: 3, allowPrivate: false, logger });
 * await sender.deliver('https://tpp.example/cb', token, authReqId); // 'delivered'
 */
export function createPingSender(options: PingSenderOptions): PingSender {
  const ca = options.extraCa ? [...rootCertificates, options.extraCa] : undefined;
  const backoffMs = options.backoffMs ?? 500;
  const underWay = new Set<Promise<PingOutcome>>();

  function attempt(url: URL, bearer: string, body: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const req = httpsRequest(url, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${bearer}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        },
        agent: false,
        ...(ca ? { ca } : {}),
        ...(options.allowPrivate ? {} : { lookup: publicOnlyLookup }),
        timeout: options.timeoutMs,
      });
      req.once('timeout', () => req.destroy(new RetryablePingError(`no answer within ${options.timeoutMs} ms`)));
      req.once('error', (error) =>
        reject(
          error instanceof PrivateAddressError || error instanceof RetryablePingError
            ? error
            : new RetryablePingError(error.message),
        ),
      );
      req.once('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.end(body);
    });
  }

  async function send(endpoint: string, bearer: string, authReqId: string): Promise<PingOutcome> {
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      return 'refused';
    }
    const literal = url.hostname.replace(/^\[|\]$/g, '');
    const where = { endpoint: url.origin };
    if (url.protocol !== 'https:' || (!options.allowPrivate && isIP(literal) && isPrivateAddress(literal))) {
      options.logger.warn(where, 'CIBA ping refused: the notification endpoint is not a public https URL');
      return 'refused';
    }
    const body = JSON.stringify({ auth_req_id: authReqId });
    for (let n = 1; ; n += 1) {
      try {
        const status = await attempt(url, bearer, body);
        if (status >= 200 && status < 300) return 'delivered';
        if (status < 500) {
          options.logger.warn({ ...where, status }, 'CIBA ping answered with a refusal; not retried');
          return 'refused';
        }
        if (n >= options.attempts) {
          options.logger.warn({ ...where, status, attempts: n }, 'CIBA ping failed; the client can still poll');
          return 'failed';
        }
      } catch (error) {
        if (error instanceof PrivateAddressError) {
          options.logger.warn(where, 'CIBA ping refused: the notification endpoint resolves to a private address');
          return 'refused';
        }
        if (n >= options.attempts) {
          options.logger.warn(
            { ...where, attempts: n, reason: (error as Error).message },
            'CIBA ping failed; the client can still poll',
          );
          return 'failed';
        }
      }
      await new Promise((resolve) => setTimeout(resolve, backoffMs * 2 ** (n - 1)));
    }
  }

  return {
    deliver(endpoint, bearer, authReqId) {
      const delivery = send(endpoint, bearer, authReqId).then((outcome) => {
        options.onOutcome?.(outcome);
        return outcome;
      });
      underWay.add(delivery);
      void delivery.finally(() => underWay.delete(delivery));
      return delivery;
    },
    async idle() {
      while (underWay.size > 0) await Promise.allSettled([...underWay]);
    },
  };
}

/**
 * Replaces the engine's ping (one attempt, awaited inside `backchannelResult`, so a slow TPP
 * endpoint would hold up the customer's decision) with a delivery in the background through
 * `sender`. The decision is saved before the ping, so a lost ping only costs the client a poll.
 */
export function pingInBackground(provider: Provider, sender: PingSender): void {
  provider.Client.prototype.backchannelPing = async function ping(
    this: { backchannelClientNotificationEndpoint?: string },
    request: BackchannelAuthenticationRequestInstance,
  ) {
    const endpoint = this.backchannelClientNotificationEndpoint;
    const bearer = request.params.client_notification_token;
    if (!endpoint || typeof bearer !== 'string') return;
    void sender.deliver(endpoint, bearer, request.jti);
  };
}
