import type { ParsedTrustAnchor } from './trust-anchors.rules';

export interface StoredTrustAnchor extends ParsedTrustAnchor {
  name: string;
  createdAt: Date;
}

export interface TrustAnchorRepository {
  /** Oldest first. */
  list(): Promise<StoredTrustAnchor[]>;
  /** ConflictError when an anchor with the same fingerprint exists. */
  insert(anchor: StoredTrustAnchor): Promise<void>;
  /** The removed anchor, or undefined when there was none. */
  remove(fingerprint: string): Promise<StoredTrustAnchor | undefined>;
}
