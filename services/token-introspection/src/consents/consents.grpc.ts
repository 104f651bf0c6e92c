// consent-service's consents.v1 GetConsentStatus as the ConsentStatuses port, with the short cache
// issue 6 allows (at most one second), shared reads for concurrent requests, a read ahead of
// expiry for consents in use, and gRPC failures translated here and nowhere else (STYLE habit 5).
import { consentsV1 } from '@obip/contracts';
import { DependencyUnavailableError, DomainError } from '@obip/errors';
import { createGrpcClient, type GrpcClient } from '@obip/grpc';
import type { ConsentState, ConsentStatus } from '../introspection/introspection.rules';
import type { ConsentStatuses } from '../introspection/introspection.service';

export interface GrpcConsentStatusesOptions {
  /** gRPC target of consent-service, e.g. `dns:///consent-service-headless:50053`. */
  target: string;
  /** Deadline of each GetConsentStatus call. */
  deadlineMs: number;
  /**
   * How long an answer is reused, measured from when it was asked for; at most 1000, 0 disables
   * the cache. Read at every use, so a live settings change applies to the next introspection,
   * cached answers included.
   */
  cacheMs: () => number;
  /** Most consents held in the cache; the oldest entries go first. Default 100 000. */
  maxEntries?: number;
  /** Clock in ms, for tests. */
  now?: () => number;
}

interface Entry {
  state: ConsentState | undefined;
  /** When the call that produced it was started: an answer is never older than this. */
  askedAt: number;
}

/** Issue 6: a revoked consent makes its tokens inactive within one second. */
const MAX_CACHE_MS = 1_000;

const STATUS_FROM_PROTO: Partial<Record<consentsV1.ConsentStatus, ConsentStatus>> = {
  [consentsV1.ConsentStatus.CONSENT_STATUS_AWAITING_AUTHORISATION]: 'AwaitingAuthorisation',
  [consentsV1.ConsentStatus.CONSENT_STATUS_AUTHORISED]: 'Authorised',
  [consentsV1.ConsentStatus.CONSENT_STATUS_REJECTED]: 'Rejected',
  [consentsV1.ConsentStatus.CONSENT_STATUS_REVOKED]: 'Revoked',
  [consentsV1.ConsentStatus.CONSENT_STATUS_CONSUMED]: 'Consumed',
  [consentsV1.ConsentStatus.CONSENT_STATUS_EXPIRED]: 'Expired',
};

/**
 * Creates the ConsentStatuses adapter over gRPC. The channel connects on first use, so the
 * service starts while consent-service is still coming up.
 *
 * @example
 * const consents = createGrpcConsentStatuses({ target: 'dns:///consent-service:50053', deadlineMs: 1000, cacheMs: () => 1000 });
 * await consents.status('consent-1'); // { status: 'Authorised', clientId, expiresAt } | undefined
 */
export function createGrpcConsentStatuses(options: GrpcConsentStatusesOptions): ConsentStatuses & { close(): void } {
  if (options.cacheMs() > MAX_CACHE_MS) {
    throw new TypeError('consent statuses may be cached for at most 1000 ms (issue 6)');
  }
  // A later value above the limit is held to it: the one-second promise does not depend on the source.
  const cacheMs = () => Math.min(options.cacheMs(), MAX_CACHE_MS);
  const now = options.now ?? Date.now;
  const maxEntries = options.maxEntries ?? 100_000;
  const client: GrpcClient<typeof consentsV1.ConsentsService> = createGrpcClient(consentsV1.ConsentsClient, {
    target: options.target,
    defaultDeadlineMs: options.deadlineMs,
    idempotentMethods: ['getConsentStatus'],
  });
  const cache = new Map<string, Entry>();
  const inFlight = new Map<string, Promise<Entry>>();

  function remember(consentId: string, entry: Entry): void {
    if (cacheMs() === 0) return;
    cache.delete(consentId);
    if (cache.size >= maxEntries) cache.delete(cache.keys().next().value as string);
    cache.set(consentId, entry);
  }

  function ask(consentId: string): Promise<Entry> {
    let pending = inFlight.get(consentId);
    if (!pending) {
      const askedAt = now();
      pending = readStatus(client, consentId)
        .then((state) => {
          const entry = { state, askedAt };
          remember(consentId, entry);
          return entry;
        })
        .finally(() => inFlight.delete(consentId));
      inFlight.set(consentId, pending);
    }
    return pending;
  }

  return {
    async status(consentId) {
      const cached = cache.get(consentId);
      const age = cached ? now() - cached.askedAt : Infinity;
      const ttl = cacheMs();
      if (age < ttl) {
        // Past half its life, a consent in use is read again in the background while this answer
        // serves: under steady traffic no request waits for consent-service once the window ends,
        // and no answer is ever older than the window. A failed read leaves the entry to expire.
        if (age >= ttl / 2) ask(consentId).catch(() => undefined);
        return cached!.state;
      }
      return (await ask(consentId)).state;
    },
    close: () => client.close(),
  };
}

async function readStatus(
  client: GrpcClient<typeof consentsV1.ConsentsService>,
  consentId: string,
): Promise<ConsentState | undefined> {
  let response: consentsV1.GetConsentStatusResponse;
  try {
    response = await client.call('getConsentStatus', { consentId });
  } catch (error) {
    if (error instanceof DomainError && error.kind === 'not_found') return undefined;
    if (error instanceof DependencyUnavailableError) throw error;
    // Anything else consent-service says is still "no answer": introspection cannot vouch for the consent.
    throw new DependencyUnavailableError('consent-service could not report the consent status', { cause: error });
  }
  return {
    status: STATUS_FROM_PROTO[response.status] ?? 'Unrecognised',
    clientId: response.clientId,
    ...(response.expiresAt > 0 ? { expiresAt: response.expiresAt } : {}),
  };
}
