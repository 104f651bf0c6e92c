import { platformSettingsSchema, type PlatformSettings } from '@obip/platform-config';
import type { AdminPrincipal } from '../access/access.tokens';
import type { AuditTrail } from '../audit/audit.service';
import { staleRevision } from '../http/etag';
import { parseBody } from '../http/validation';
import type { SettingsRepository, StoredSettings } from './settings.repository';

export interface SettingsServiceOptions {
  repository: SettingsRepository;
  /** The settings stored on first read. */
  initial: PlatformSettings;
  audit: AuditTrail;
  /** Publishes the change to every service. */
  published(): Promise<unknown>;
  now?: () => Date;
}

/**
 * Reads and replaces the platform settings. A replace is validated against the published
 * schema (unknown fields refused), conditioned on the revision the admin read, audited with its
 * field-level diff, then published.
 *
 * @example
 * const updated = await settings.replace(principal, 3, body);
 */
export function createSettingsService(options: SettingsServiceOptions) {
  const { repository, audit } = options;
  const now = options.now ?? (() => new Date());

  return {
    read(): Promise<StoredSettings> {
      return repository.read(options.initial);
    },

    async replace(actor: AdminPrincipal, expectedRevision: number, body: unknown): Promise<StoredSettings> {
      const settings = parseBody(platformSettingsSchema, body, 'the settings are not valid');
      const before = await repository.read(options.initial);
      if (before.revision !== expectedRevision) throw staleRevision();
      const after = await repository.replace(expectedRevision, settings, now());
      if (!after) throw staleRevision();
      await audit.record({
        actor,
        action: 'settings.update',
        resource: 'settings',
        resourceId: 'platform',
        before: before.settings,
        after: after.settings,
      });
      await options.published();
      return after;
    },
  };
}

export type SettingsService = ReturnType<typeof createSettingsService>;
