import type { JWK } from 'jose';

export const KEY_ALGORITHMS = ['PS256', 'ES256', 'EdDSA'] as const;
export type KeyAlgorithm = (typeof KEY_ALGORITHMS)[number];

/**
 * - `pending`: published so every verifier knows it, not yet signing (rotation step 1);
 * - `active`: the newest activated key of its algorithm, the one auth-server signs with;
 * - `retiring`: replaced, still published so tokens it signed verify until `retiresAt`;
 * - `retired`: no longer published.
 */
export type KeyStatus = 'pending' | 'active' | 'retiring' | 'retired';

/** A signing key's schedule; the private half lives sealed in the store. */
export interface KeySchedule {
  kid: string;
  alg: KeyAlgorithm;
  createdAt: Date;
  activatesAt: Date;
  /** Set when a successor is scheduled or an admin retires it. */
  retiresAt?: Date;
}

/** The status of `key` at `now`, among all keys of the store. */
export function statusOf(key: KeySchedule, all: readonly KeySchedule[], now: Date): KeyStatus {
  if (key.retiresAt && key.retiresAt.getTime() <= now.getTime()) return 'retired';
  if (key.activatesAt.getTime() > now.getTime()) return 'pending';
  return activeKeyOf(key.alg, all, now)?.kid === key.kid ? 'active' : 'retiring';
}

/** The key that signs for `alg` at `now`: the most recently activated one that is not retired. */
export function activeKeyOf(alg: KeyAlgorithm, all: readonly KeySchedule[], now: Date): KeySchedule | undefined {
  return all
    .filter(
      (key) =>
        key.alg === alg &&
        key.activatesAt.getTime() <= now.getTime() &&
        !(key.retiresAt && key.retiresAt.getTime() <= now.getTime()),
    )
    .sort(
      (a, b) => b.activatesAt.getTime() - a.activatesAt.getTime() || b.createdAt.getTime() - a.createdAt.getTime(),
    )[0];
}

/**
 * The private JWKS auth-server mounts: every key not retired, the active key of each algorithm
 * first (auth-server signs with the first key of an algorithm; the rest are published for
 * verification only).
 */
export function signingJwksOrder(all: readonly KeySchedule[], now: Date): KeySchedule[] {
  const rank = { active: 0, pending: 1, retiring: 2, retired: 3 } as const;
  return all
    .map((key) => ({ key, status: statusOf(key, all, now) }))
    .filter(({ status }) => status !== 'retired')
    .sort(
      (a, b) =>
        KEY_ALGORITHMS.indexOf(a.key.alg) - KEY_ALGORITHMS.indexOf(b.key.alg) ||
        rank[a.status] - rank[b.status] ||
        a.key.createdAt.getTime() - b.key.createdAt.getTime(),
    )
    .map(({ key }) => key);
}

/** The next instant after `now` at which some key changes status (to re-publish the key Secret then). */
export function nextTransitionAfter(all: readonly KeySchedule[], now: Date): Date | undefined {
  const future = all
    .flatMap((key) => [key.activatesAt, key.retiresAt])
    .filter((at): at is Date => at !== undefined && at.getTime() > now.getTime())
    .sort((a, b) => a.getTime() - b.getTime());
  return future[0];
}

/** The public members of a private JWK (RFC 7517 §9.3: never publish d, p, q, dp, dq, qi). */
export function publicJwkOf(jwk: JWK): JWK {
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, oth: _oth, k: _k, ...publicMembers } = jwk;
  return publicMembers;
}
