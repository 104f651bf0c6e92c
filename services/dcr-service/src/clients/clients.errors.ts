import { NotFoundError, PreconditionFailedError } from '@obip/errors';
import type { ClientStatus } from './clients.repository';

/**
 * No client has the id: NOT_FOUND, code `client_not_found`.
 *
 * @example
 * throw new ClientNotFoundError();
 */
export class ClientNotFoundError extends NotFoundError {
  constructor() {
    super('no client has this id', { code: 'client_not_found' });
  }
}

/**
 * A status change the client lifecycle does not allow (e.g. rejected → active): FAILED_PRECONDITION,
 * code `invalid_status_transition`. The description names both statuses and what is allowed.
 *
 * @example
 * throw new StatusTransitionError('rejected', 'active', 'a rejected client is final');
 */
export class StatusTransitionError extends PreconditionFailedError {
  readonly from: ClientStatus;
  readonly to: ClientStatus;

  constructor(from: ClientStatus, to: ClientStatus, detail: string) {
    super(`cannot change the client status from ${from} to ${to}: ${detail}`, { code: 'invalid_status_transition' });
    this.from = from;
    this.to = to;
  }
}

/**
 * The status kept changing under a SetClientStatus (other administrators acting at the same
 * time): FAILED_PRECONDITION, code `concurrent_status_change`. Read the client and decide again.
 */
export class ConcurrentStatusChangeError extends PreconditionFailedError {
  constructor() {
    super('the client status changed while it was being set; read the client and try again', {
      code: 'concurrent_status_change',
    });
  }
}
