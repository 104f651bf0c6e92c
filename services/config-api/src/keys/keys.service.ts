import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import { z } from 'zod';
import { ConflictError, NotFoundError } from '@obip/errors';
import type { AdminPrincipal } from '../access/access.tokens';
import type { AuditTrail } from '../audit/audit.service';
import { parseBody } from '../http/validation';
import type { KeyVault } from './keys.crypto';
import type { KeyRepository, StoredKey } from './keys.repository';
import {
  activeKeyOf,
  KEY_ALGORITHMS,
  nextTransitionAfter,
  signingJwksOrder,
  statusOf,
  type KeyAlgorithm,
} from './keys.rules';

/** auth-server refuses a key set without these (keys.signing.ts): every client profile is served. */
const INITIAL_ALGORITHMS: readonly KeyAlgorithm[] = ['PS256', 'ES256'];

export const rotateInputSchema = z
  .object({
    algorithms: z
      .array(z.enum(KEY_ALGORITHMS))
      .min(1)
      .optional()
      .describe('algorithms to rotate; default: every algorithm that has an active key'),
    activateAfterSeconds: z
      .number()
      .int()
      .min(0)
      .max(7 * 86_400)
      .optional()
      .describe('how long the new keys are published before they sign; default KEY_ACTIVATION_DELAY_SECONDS'),
  })
  .strict();

export interface KeyServiceOptions {
  repository: KeyRepository;
  vault: KeyVault;
  audit: AuditTrail;
  /** Receives the private JWKS auth-server mounts whenever what it should hold may have changed. */
  keySetChanged(privateJwksJson: string): Promise<void>;
  activationDelaySeconds: number;
  retirementDelaySeconds: number;
  now?: () => Date;
}

async function generateSigningKey(alg: KeyAlgorithm): Promise<{ privateJwk: JWK; publicJwk: JWK }> {
  const { privateKey, publicKey } = await generateKeyPair(alg, {
    extractable: true,
    ...(alg === 'PS256' ? { modulusLength: 2048 } : {}),
    ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}),
  });
  const publicJwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  const members = { kid, alg, use: 'sig' };
  return { privateJwk: { ...(await exportJWK(privateKey)), ...members }, publicJwk: { ...publicJwk, ...members } };
}

/**
 * auth-server's signing keys: generated here, sealed at rest, rotated in two steps (published
 * first, signing after a delay) and retired once every token the old key signed has expired.
 * Each change re-publishes the private JWKS (Kubernetes Secret or the twin's file); so does
 * `reconcile()` at every scheduled activation or retirement.
 *
 * @example
 * await keys.ensureInitialKeys(systemPrincipal);
 * const rotated = await keys.rotate(principal, { algorithms: ['PS256'] });
 */
export function createKeyService(options: KeyServiceOptions) {
  const { repository, vault, audit } = options;
  const now = options.now ?? (() => new Date());

  async function create(alg: KeyAlgorithm, activatesAt: Date): Promise<StoredKey> {
    const { privateJwk, publicJwk } = await generateSigningKey(alg);
    const kid = String(publicJwk.kid);
    const key: StoredKey = {
      kid,
      alg,
      createdAt: now(),
      activatesAt,
      publicJwk,
      sealed: vault.seal(kid, JSON.stringify(privateJwk)),
    };
    await repository.insert(key);
    return key;
  }

  function view(key: StoredKey, all: readonly StoredKey[], at: Date) {
    return {
      kid: key.kid,
      alg: key.alg,
      status: statusOf(key, all, at),
      createdAt: key.createdAt.toISOString(),
      activatesAt: key.activatesAt.toISOString(),
      retiresAt: key.retiresAt?.toISOString() ?? null,
      publicJwk: key.publicJwk,
    };
  }

  async function privateJwksJson(): Promise<string> {
    const all = await repository.list();
    const ordered = signingJwksOrder(all, now()) as StoredKey[];
    return JSON.stringify({ keys: ordered.map((key) => JSON.parse(vault.open(key.kid, key.sealed)) as JWK) });
  }

  async function reconcile(): Promise<void> {
    await options.keySetChanged(await privateJwksJson());
  }

  return {
    async list() {
      const all = await repository.list();
      const at = now();
      return all.map((key) => view(key, all, at));
    },

    /** The public JWKS as it is published now (every key that is not retired). */
    async publicJwks(): Promise<{ keys: JWK[] }> {
      const all = await repository.list();
      return { keys: (signingJwksOrder(all, now()) as StoredKey[]).map((key) => key.publicJwk) };
    },

    privateJwksJson,
    reconcile,

    /** When the key set next changes by itself (an activation or retirement falls due). */
    async nextTransition(): Promise<Date | undefined> {
      return nextTransitionAfter(await repository.list(), now());
    },

    /** First start: a PS256 and an ES256 key, active at once, so auth-server can sign. */
    async ensureInitialKeys(actor: AdminPrincipal): Promise<boolean> {
      if ((await repository.list()).length > 0) return false;
      const at = now();
      for (const alg of INITIAL_ALGORITHMS) {
        const key = await create(alg, at);
        await audit.record({
          actor,
          action: 'key.create',
          resource: 'key',
          resourceId: key.kid,
          before: undefined,
          after: { kid: key.kid, alg, activatesAt: at.toISOString() },
        });
      }
      await reconcile();
      return true;
    },

    async rotate(actor: AdminPrincipal, body: unknown) {
      const input = parseBody(rotateInputSchema, body ?? {}, 'the rotation request is not valid');
      const at = now();
      const all = await repository.list();
      const algorithms = input.algorithms ?? KEY_ALGORITHMS.filter((alg) => activeKeyOf(alg, all, at) !== undefined);
      for (const alg of algorithms) {
        const pending = all.find((key) => key.alg === alg && statusOf(key, all, at) === 'pending');
        if (pending) {
          throw new ConflictError(
            `a ${alg} key (${pending.kid}) is already waiting to activate at ${pending.activatesAt.toISOString()}; retire it or wait`,
            { code: 'rotation_pending' },
          );
        }
      }
      const activatesAt = new Date(
        at.getTime() + (input.activateAfterSeconds ?? options.activationDelaySeconds) * 1000,
      );
      const retiresAt = new Date(activatesAt.getTime() + options.retirementDelaySeconds * 1000);
      const created: StoredKey[] = [];
      for (const alg of algorithms) {
        const predecessor = activeKeyOf(alg, all, at);
        const key = await create(alg, activatesAt);
        created.push(key);
        if (predecessor) await repository.setRetiresAt(predecessor.kid, retiresAt);
        await audit.record({
          actor,
          action: 'key.rotate',
          resource: 'key',
          resourceId: key.kid,
          before: predecessor ? { kid: predecessor.kid, retiresAt: predecessor.retiresAt?.toISOString() } : undefined,
          after: {
            kid: key.kid,
            alg,
            activatesAt: activatesAt.toISOString(),
            replaces: predecessor?.kid,
            predecessorRetiresAt: predecessor ? retiresAt.toISOString() : undefined,
          },
        });
      }
      await reconcile();
      const updated = await repository.list();
      return created.map((key) => view(updated.find((k) => k.kid === key.kid) ?? key, updated, now()));
    },

    /**
     * Stops publishing a key now. The key that signs for its algorithm cannot be retired (that
     * would leave auth-server without one): rotate first. Retiring a pending key cancels its
     * rotation, so the key it was to replace stays.
     */
    async retire(actor: AdminPrincipal, kid: string) {
      const at = now();
      const all = await repository.list();
      const key = all.find((candidate) => candidate.kid === kid);
      if (!key) throw new NotFoundError(`no signing key has the kid ${kid}`);
      const status = statusOf(key, all, at);
      if (status === 'retired') throw new ConflictError(`key ${kid} is already retired`, { code: 'already_retired' });
      if (status === 'active') {
        throw new ConflictError(`key ${kid} is the active ${key.alg} key; rotate first, then retire the old key`, {
          code: 'active_key',
        });
      }
      await repository.setRetiresAt(kid, at);
      if (status === 'pending') {
        const replaced = activeKeyOf(key.alg, all, at);
        if (replaced) await repository.setRetiresAt(replaced.kid, undefined);
      }
      await audit.record({
        actor,
        action: 'key.retire',
        resource: 'key',
        resourceId: kid,
        before: { status, retiresAt: key.retiresAt?.toISOString() },
        after: { status: 'retired', retiresAt: at.toISOString() },
      });
      await reconcile();
      const updated = await repository.list();
      return view(updated.find((k) => k.kid === kid) ?? key, updated, now());
    },
  };
}

export type KeyService = ReturnType<typeof createKeyService>;
