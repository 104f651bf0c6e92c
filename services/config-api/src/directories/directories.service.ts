import { randomUUID } from 'node:crypto';
import { NotFoundError } from '@obip/errors';
import { trustedDirectorySchema } from '@obip/platform-config';
import type { AdminPrincipal } from '../access/access.tokens';
import type { AuditTrail } from '../audit/audit.service';
import { staleRevision } from '../http/etag';
import { parseBody } from '../http/validation';
import type { DirectoryRepository, StoredDirectory } from './directories.repository';

/** What an admin sends: everything but the id, which config-api assigns. */
export const directoryInputSchema = trustedDirectorySchema
  .omit({ id: true, status: true })
  .extend({ status: trustedDirectorySchema.shape.status.default('active') })
  .strict();

export interface DirectoryServiceOptions {
  repository: DirectoryRepository;
  audit: AuditTrail;
  published(): Promise<unknown>;
  now?: () => Date;
}

/**
 * The trusted software-statement issuers dcr-service accepts SSAs from. Every change is audited
 * and published; dcr-service applies it without a restart.
 *
 * @example
 * const created = await directories.create(principal, { name: 'OBIE sandbox', issuer: 'OpenBanking Ltd', jwksUri, environment: 'sandbox' });
 */
export function createDirectoryService(options: DirectoryServiceOptions) {
  const { repository, audit } = options;
  const now = options.now ?? (() => new Date());

  async function existing(id: string): Promise<StoredDirectory> {
    const directory = await repository.find(id);
    if (!directory) throw new NotFoundError(`no directory has the id ${id}`);
    return directory;
  }

  return {
    list: () => repository.list(),
    find: existing,

    async create(actor: AdminPrincipal, body: unknown): Promise<StoredDirectory> {
      const input = parseBody(directoryInputSchema, body, 'the directory is not valid');
      const at = now();
      const directory: StoredDirectory = { id: randomUUID(), ...input, revision: 1, createdAt: at, updatedAt: at };
      await repository.insert(directory);
      await audit.record({
        actor,
        action: 'directory.create',
        resource: 'directory',
        resourceId: directory.id,
        before: undefined,
        after: input,
      });
      await options.published();
      return directory;
    },

    async replace(actor: AdminPrincipal, id: string, expectedRevision: number, body: unknown) {
      const input = parseBody(directoryInputSchema, body, 'the directory is not valid');
      const before = await existing(id);
      if (before.revision !== expectedRevision) throw staleRevision();
      const after = await repository.replace(id, expectedRevision, { id, ...input }, now());
      if (!after) throw staleRevision();
      await audit.record({
        actor,
        action: 'directory.update',
        resource: 'directory',
        resourceId: id,
        before: publicView(before),
        after: publicView(after),
      });
      await options.published();
      return after;
    },

    async remove(actor: AdminPrincipal, id: string): Promise<void> {
      const before = await existing(id);
      if (!(await repository.remove(id))) throw new NotFoundError(`no directory has the id ${id}`);
      await audit.record({
        actor,
        action: 'directory.delete',
        resource: 'directory',
        resourceId: id,
        before: publicView(before),
        after: undefined,
      });
      await options.published();
    },
  };
}

/** The directory as the API shows it and the audit trail compares it. */
export function publicView(directory: StoredDirectory) {
  return {
    id: directory.id,
    name: directory.name,
    issuer: directory.issuer,
    jwksUri: directory.jwksUri,
    environment: directory.environment,
    status: directory.status,
    createdAt: directory.createdAt.toISOString(),
    updatedAt: directory.updatedAt.toISOString(),
  };
}

export type DirectoryService = ReturnType<typeof createDirectoryService>;
