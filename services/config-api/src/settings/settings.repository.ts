import type { PlatformSettings } from '@obip/platform-config';

/** The platform settings document and its revision (the ETag). */
export interface StoredSettings {
  revision: number;
  settings: PlatformSettings;
  updatedAt: Date;
}

export interface SettingsRepository {
  /** The current settings; the first read stores `initial` as revision 1. */
  read(initial: PlatformSettings): Promise<StoredSettings>;
  /** Replaces the settings when the stored revision is `expectedRevision`; undefined when it is not. */
  replace(expectedRevision: number, settings: PlatformSettings, at: Date): Promise<StoredSettings | undefined>;
}
