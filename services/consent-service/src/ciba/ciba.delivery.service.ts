/**
 * The decision relay: completes every recorded decision — its consent step, if a crash or an
 * outage left it undone, then tokens.v1 CompleteAuthentication at auth-server — from the durable
 * outbox written with the decision, retrying with backoff until auth-server has it. Both steps
 * are idempotent, so a repeat is harmless. NOT_FOUND (auth-server no longer knows the request:
 * unknown or expired) and FAILED_PRECONDITION (another decision or customer) are final answers:
 * the entry is abandoned with a warning, never retried.
 */
import { isDomainError } from '@obip/errors';
import {
  createOutboxRelay,
  type Outbox,
  type OutboxRelay,
  type OutboxTiming,
  type RelayLogger,
} from '../outbox/outbox.service';
import type { CompletedAuthentication, DecoupledAuthentication } from './ciba.model';
import { completionOf } from './ciba.rules';
import type { DecoupledAuthenticationService } from './ciba.service';

/** auth-server's tokens.v1 CompleteAuthentication, as this service needs it (`tokens/tokens.grpc.ts`). */
export interface AuthenticationCompleter {
  completeAuthentication(completion: CompletedAuthentication): Promise<void>;
}

/** One decided request whose decision auth-server does not have yet. */
export interface PendingDecision {
  authentication: DecoupledAuthentication;
  attempts: number;
}

/** The durable outbox (`ciba.mongo.ts`: the delivery field of each decided request). */
export type DecisionOutbox = Outbox<PendingDecision>;

export interface DecisionRelayOptions extends OutboxTiming {
  outbox: DecisionOutbox;
  authentications: Pick<DecoupledAuthenticationService, 'settleConsent'>;
  completer: AuthenticationCompleter;
  logger: RelayLogger;
}

/** tokens.v1 CompleteAuthentication: NOT_FOUND and FAILED_PRECONDITION will not change on retry. */
function isFinalAnswer(error: unknown): error is { code: string } {
  return isDomainError(error) && (error.kind === 'not_found' || error.kind === 'precondition_failed');
}

/**
 * @example
 * const relay = createDecisionRelay({ outbox, authentications, completer: tokens, logger, pollMs: 2000, initialBackoffMs: 250, maxBackoffMs: 10_000 });
 * relay.start();
 */
export function createDecisionRelay(options: DecisionRelayOptions): OutboxRelay {
  const { authentications, completer, ...relay } = options;
  return createOutboxRelay<PendingDecision>({
    ...relay,
    label: 'authentication decision',
    describe: (entry) => ({ authenticationId: entry.authentication.id }),
    async deliver(entry) {
      const settled = await authentications.settleConsent(entry.authentication);
      const completion = completionOf(settled);
      const details = { approved: completion.approved, consentStep: settled.decision?.consentStep };
      try {
        await completer.completeAuthentication(completion);
      } catch (error) {
        if (isFinalAnswer(error)) return { outcome: 'abandoned', reason: error.code, details };
        throw error;
      }
      return { outcome: 'delivered', details };
    },
  });
}
