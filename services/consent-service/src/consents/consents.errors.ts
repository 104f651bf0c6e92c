import { BadRequestError, NotFoundError, PreconditionFailedError } from '@obip/errors';
import type { ConsentStatus } from './consents.model';

/** Stable codes of this domain's errors; tests and the HTTP adapter match on them. */
export const CONSENT_ERROR_CODES = {
  notFound: 'consent_not_found',
  invalidStatus: 'consent_status_invalid',
  kindMismatch: 'consent_kind_mismatch',
  alreadyConsumed: 'consent_already_consumed',
  subjectMismatch: 'consent_subject_mismatch',
  invalidAccounts: 'invalid_account_selection',
  invalidIdentityRelease: 'invalid_identity_release',
  invalidRequest: 'invalid_request',
} as const;

/**
 * The consent does not exist, or belongs to someone else: both give the same answer, so that a
 * caller cannot learn another client's consent ids (issue 5: "404 vs 403 never leaks").
 */
export class ConsentNotFoundError extends NotFoundError {
  constructor() {
    super('no consent with this id exists', { code: CONSENT_ERROR_CODES.notFound });
  }
}

/**
 * The transition is not allowed from the consent's current status (e.g. revoking a Rejected
 * consent). Nothing was changed. FAILED_PRECONDITION over gRPC.
 */
export class ConsentStatusError extends PreconditionFailedError {
  readonly status: ConsentStatus;

  constructor(transition: string, status: ConsentStatus, code: string = CONSENT_ERROR_CODES.invalidStatus) {
    super(`a consent in status ${status} cannot be ${transition}`, { code });
    this.status = status;
  }
}

/** The transition does not apply to this kind of consent (e.g. consuming an account-access consent). */
export class ConsentKindError extends PreconditionFailedError {
  constructor(transition: string, kind: string) {
    super(`a ${kind} consent cannot be ${transition}`, { code: CONSENT_ERROR_CODES.kindMismatch });
  }
}

/** A decision the caller asked for is malformed (unknown accounts, missing subject, …). */
export class ConsentDecisionError extends BadRequestError {
  constructor(description: string, code: string = CONSENT_ERROR_CODES.invalidRequest) {
    super(description, { code });
  }
}
