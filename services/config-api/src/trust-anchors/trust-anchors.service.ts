import { z } from 'zod';
import { ConflictError, NotFoundError } from '@obip/errors';
import type { AdminPrincipal } from '../access/access.tokens';
import type { AuditTrail } from '../audit/audit.service';
import { parseBody } from '../http/validation';
import type { StoredTrustAnchor, TrustAnchorRepository } from './trust-anchors.repository';
import { caBundleOf, isExpiring, parseTrustAnchor } from './trust-anchors.rules';

export const trustAnchorInputSchema = z
  .object({
    pem: z.string().min(1).max(65_536).describe('one CA certificate, PEM'),
    name: z.string().min(1).max(200).optional().describe('a label for admins; default: the subject'),
  })
  .strict();

export interface TrustAnchorServiceOptions {
  repository: TrustAnchorRepository;
  audit: AuditTrail;
  published(): Promise<unknown>;
  /** Receives the whole CA bundle after every change (ingress Secret, or the twin's file). */
  bundleChanged(bundle: string): Promise<void>;
  warningDays: number;
  now?: () => Date;
}

/**
 * The CAs trusted to issue TPP transport certificates. Each change is audited, published, and
 * handed on as the full CA bundle the edge verifies client certificates with.
 *
 * @example
 * await trustAnchors.add(principal, { pem });
 */
export function createTrustAnchorService(options: TrustAnchorServiceOptions) {
  const { repository, audit } = options;
  const now = options.now ?? (() => new Date());

  async function propagate(): Promise<void> {
    await options.published();
    await options.bundleChanged(caBundleOf(await repository.list()));
  }

  return {
    async list() {
      const at = now();
      return (await repository.list()).map((anchor) => publicView(anchor, at, options.warningDays));
    },

    async add(actor: AdminPrincipal, body: unknown) {
      const input = parseBody(trustAnchorInputSchema, body, 'the trust anchor is not valid');
      const at = now();
      const parsed = parseTrustAnchor(input.pem, at);
      const anchor: StoredTrustAnchor = { ...parsed, name: input.name ?? parsed.subject, createdAt: at };
      await repository.insert(anchor);
      const view = publicView(anchor, at, options.warningDays);
      await audit.record({
        actor,
        action: 'trust-anchor.create',
        resource: 'trust-anchor',
        resourceId: anchor.fingerprint,
        before: undefined,
        after: view,
      });
      await propagate();
      return view;
    },

    async remove(actor: AdminPrincipal, fingerprint: string): Promise<void> {
      const anchors = await repository.list();
      const target = anchors.find((anchor) => anchor.fingerprint === fingerprint.toLowerCase());
      if (!target) throw new NotFoundError(`no trust anchor has the fingerprint ${fingerprint}`);
      // An empty CA bundle makes the edge refuse every TPP (ingress-nginx cannot even load it).
      if (anchors.length === 1) {
        throw new ConflictError('this is the last trust anchor: add its replacement first, then remove it', {
          code: 'last_trust_anchor',
        });
      }
      const removed = await repository.remove(target.fingerprint);
      if (!removed) throw new NotFoundError(`no trust anchor has the fingerprint ${fingerprint}`);
      await audit.record({
        actor,
        action: 'trust-anchor.delete',
        resource: 'trust-anchor',
        resourceId: removed.fingerprint,
        before: publicView(removed, now(), options.warningDays),
        after: undefined,
      });
      await propagate();
    },

    /**
     * The bundle as stored now, for a sink that (re)starts and must converge; undefined while no
     * anchor is configured, so an empty bundle never replaces the one the edge has.
     */
    async currentBundle(): Promise<string | undefined> {
      const anchors = await repository.list();
      return anchors.length === 0 ? undefined : caBundleOf(anchors);
    },
  };
}

/** The anchor as the API lists it, flagged when it expires within the warning window. */
export function publicView(anchor: StoredTrustAnchor, now: Date, warningDays: number) {
  return {
    fingerprint: anchor.fingerprint,
    name: anchor.name,
    subject: anchor.subject,
    issuer: anchor.issuer,
    notBefore: anchor.notBefore.toISOString(),
    notAfter: anchor.notAfter.toISOString(),
    expiring: isExpiring(anchor, now, warningDays),
    expired: anchor.notAfter.getTime() <= now.getTime(),
    pem: anchor.pem,
    createdAt: anchor.createdAt.toISOString(),
  };
}

export type TrustAnchorService = ReturnType<typeof createTrustAnchorService>;
