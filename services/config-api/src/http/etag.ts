import type { Request, Response } from 'express';
import { PreconditionFailedError } from '@obip/errors';
import { HttpStatusError } from '@obip/http';

/** A strong entity tag for a stored revision. */
export function etagOf(revision: number): string {
  return `"${revision}"`;
}

export function setEtag(res: Response, revision: number): void {
  res.setHeader('ETag', etagOf(revision));
}

/**
 * The revision a write is conditioned on (RFC 9110 §13.1.1 If-Match). Missing → 428 (RFC 6585
 * §3: lost updates are prevented by requiring the condition); anything but one strong tag of
 * ours → 412, because it cannot match the current revision.
 */
export function requiredIfMatchRevision(req: Request): number {
  const header = req.get('if-match');
  if (header === undefined || header.trim() === '') {
    throw new HttpStatusError(428, {
      kind: 'precondition_failed',
      code: 'precondition_required',
      description: 'send If-Match with the ETag you read, so a concurrent change is not overwritten',
    });
  }
  const match = /^\s*"(\d{1,15})"\s*$/.exec(header);
  if (!match?.[1]) {
    throw new PreconditionFailedError('If-Match must be the single ETag of the current version', {
      code: 'precondition_failed',
    });
  }
  return Number(match[1]);
}

export function staleRevision(): Error {
  return new PreconditionFailedError('the resource changed since you read it: read it again and reapply your change', {
    code: 'precondition_failed',
  });
}
