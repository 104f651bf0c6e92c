import type { TrustedDirectory } from '@obip/platform-config';

export interface StoredDirectory extends TrustedDirectory {
  revision: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface DirectoryRepository {
  list(): Promise<StoredDirectory[]>;
  find(id: string): Promise<StoredDirectory | undefined>;
  /** ConflictError when another directory has the same issuer. */
  insert(directory: StoredDirectory): Promise<void>;
  /** Replaces when the stored revision is `expectedRevision`; undefined when it is not (or it is gone). */
  replace(
    id: string,
    expectedRevision: number,
    directory: TrustedDirectory,
    at: Date,
  ): Promise<StoredDirectory | undefined>;
  /** True when it existed. */
  remove(id: string): Promise<boolean>;
}
