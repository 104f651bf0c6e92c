/**
 * The client lifecycle (issue 8): which status changes an administrator may make. Pure; the
 * administration service (`clients.service.ts`) applies the rule before its compare-and-set.
 *
 *   pending   → active      approve a registration
 *   pending   → rejected    reject a registration
 *   active    → suspended   suspend
 *   suspended → active      reinstate
 *
 * Only an active client may authenticate (auth-server) or manage its registration (RFC 7592).
 */
import type { ClientStatus } from './clients.repository';
import { StatusTransitionError } from './clients.errors';

/** The allowed next statuses of each status, with what to tell an administrator who asks for another. */
const TRANSITIONS: Readonly<Record<ClientStatus, { to: readonly ClientStatus[]; allowed: string }>> = {
  pending: { to: ['active', 'rejected'], allowed: 'a pending client can only be approved (active) or rejected' },
  active: { to: ['suspended'], allowed: 'an active client can only be suspended' },
  suspended: { to: ['active'], allowed: 'a suspended client can only be reinstated (active)' },
  rejected: { to: [], allowed: 'a rejected client is final; onboard the TPP again with a new client' },
};

/**
 * True when `from → to` is one of the lifecycle's transitions. Staying in the same status is not
 * a transition: callers treat it as a no-op before asking.
 *
 * @example
 * isAllowedStatusTransition('pending', 'active'); // true
 * isAllowedStatusTransition('rejected', 'active'); // false
 */
export function isAllowedStatusTransition(from: ClientStatus, to: ClientStatus): boolean {
  return TRANSITIONS[from].to.includes(to);
}

/**
 * Throws {@link StatusTransitionError} (FAILED_PRECONDITION, `invalid_status_transition`) unless
 * `from → to` is an allowed transition.
 *
 * @example
 * checkStatusTransition('pending', 'suspended'); // throws: a pending client can only be approved (active) or rejected
 */
export function checkStatusTransition(from: ClientStatus, to: ClientStatus): void {
  if (!isAllowedStatusTransition(from, to)) throw new StatusTransitionError(from, to, TRANSITIONS[from].allowed);
}
