/**
 * The portal's server-side state in Redis (ARCHITECTURE: everything with a lifetime): signed-in
 * sessions, with an idle and an absolute lifetime, and sign-in transactions (state, nonce, PKCE
 * verifier) between sending the browser to auth-server and its return, single use. Keys are
 * SHA-256 of the random ids, as token values are never stored.
 */
import { createHash, randomBytes } from 'node:crypto';
import { translateRedisError, type RedisClient } from '@obip/redis';
import type { SignInTransaction } from './portal.oidc';

/** A signed-in customer's session. */
export interface PortalSession {
  /** The customer (the ID token's `sub`). */
  subject: string;
  /** Synchronizer token every form post must carry (OWASP CSRF prevention). */
  csrfToken: string;
  /** Unix ms of the sign-in: the absolute lifetime counts from it. */
  signedInAt: number;
  /** How the customer authenticated at sign-in (the ID token's `acr`), when auth-server said. */
  acr?: string;
  /** The methods of that authentication (the ID token's `amr`, RFC 8176), when auth-server said. */
  amr?: string[];
  /** A one-time message for the next page (e.g. "access revoked"). */
  notice?: string;
}

export interface PortalSessions {
  /** Starts a session for `subject`, who authenticated as `authentication` says, under a new random id. */
  create(
    subject: string,
    authentication?: Pick<PortalSession, 'acr' | 'amr'>,
  ): Promise<{ id: string; session: PortalSession }>;
  /** The session, its idle lifetime extended; undefined when unknown or ended. */
  find(id: string): Promise<PortalSession | undefined>;
  /** Replaces the session's data, keeping its lifetime. */
  update(id: string, session: PortalSession): Promise<void>;
  destroy(id: string): Promise<void>;
  /** Keeps a sign-in transaction for `ttlSeconds`; its new random id. */
  saveTransaction(transaction: SignInTransaction, ttlSeconds: number): Promise<string>;
  /** The transaction, removed in the same command, so a callback can be used once. */
  takeTransaction(id: string): Promise<SignInTransaction | undefined>;
}

export interface RedisPortalSessionsOptions {
  idleSeconds: number;
  maxSeconds: number;
  now?: () => number;
}

const newId = () => randomBytes(32).toString('base64url');
const hashOf = (id: string) => createHash('sha256').update(id).digest('base64url');

/**
 * @example
 * const sessions = createRedisPortalSessions(redis, { idleSeconds: 900, maxSeconds: 28_800 });
 * const { id } = await sessions.create(subject);
 */
export function createRedisPortalSessions(redis: RedisClient, options: RedisPortalSessionsOptions): PortalSessions {
  const now = options.now ?? Date.now;
  const sessionKey = (id: string) => `portal:session:${hashOf(id)}`;
  const transactionKey = (id: string) => `portal:signin:${hashOf(id)}`;

  /** Seconds the session may still live: the idle lifetime, never past the absolute one. */
  const ttlOf = (session: PortalSession) =>
    Math.min(options.idleSeconds, Math.floor((session.signedInAt + options.maxSeconds * 1000 - now()) / 1000));

  async function guarded<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      translateRedisError(error);
    }
  }

  return {
    async create(subject, authentication = {}) {
      const id = newId();
      const session: PortalSession = {
        subject,
        csrfToken: newId(),
        signedInAt: now(),
        ...(authentication.acr ? { acr: authentication.acr } : {}),
        ...(authentication.amr && authentication.amr.length > 0 ? { amr: authentication.amr } : {}),
      };
      await guarded(() => redis.set(sessionKey(id), JSON.stringify(session), 'EX', options.idleSeconds));
      return { id, session };
    },

    async find(id) {
      const text = await guarded(() => redis.get(sessionKey(id)));
      if (!text) return undefined;
      const session = JSON.parse(text) as PortalSession;
      const ttl = ttlOf(session);
      if (ttl <= 0) {
        await guarded(() => redis.del(sessionKey(id)));
        return undefined;
      }
      await guarded(() => redis.expire(sessionKey(id), ttl));
      return session;
    },

    async update(id, session) {
      const ttl = ttlOf(session);
      if (ttl <= 0) return;
      // XX: never recreates a session that ended meanwhile (logged out in another tab).
      await guarded(() => redis.set(sessionKey(id), JSON.stringify(session), 'EX', ttl, 'XX'));
    },

    async destroy(id) {
      await guarded(() => redis.del(sessionKey(id)));
    },

    async saveTransaction(transaction, ttlSeconds) {
      const id = newId();
      await guarded(() => redis.set(transactionKey(id), JSON.stringify(transaction), 'EX', ttlSeconds));
      return id;
    },

    async takeTransaction(id) {
      const text = await guarded(() => redis.getdel(transactionKey(id)));
      return text ? (JSON.parse(text) as SignInTransaction) : undefined;
    },
  };
}
