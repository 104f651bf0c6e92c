import type { JWK } from 'jose';
import type { SealedKey } from './keys.crypto';
import type { KeySchedule } from './keys.rules';

export interface StoredKey extends KeySchedule {
  publicJwk: JWK;
  sealed: SealedKey;
}

export interface KeyRepository {
  list(): Promise<StoredKey[]>;
  insert(key: StoredKey): Promise<void>;
  /** Sets (or with undefined, clears) when a key stops being published. */
  setRetiresAt(kid: string, retiresAt: Date | undefined): Promise<void>;
}
