import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import type { RedisClient } from '@obip/redis';
import { guarded } from '../adapter/adapter.errors';

/**
 * What auth-server keeps in Redis for decoupled (CIBA) requests, beside the engine's own
 * BackchannelAuthenticationRequest records. Every key has a TTL no longer than the request's.
 */
export interface CibaStore {
  /**
   * Remembers which auth_req_id an authentication id stands for. consent-service only ever sees
   * the authentication id. The auth_req_id is a credential (adapter.keys.ts: stored only hashed),
   * so the record is keyed by the authentication id's hash and holds the auth_req_id encrypted
   * under a key derived from the authentication id: a copy of Redis alone yields neither.
   */
  remember(authenticationId: string, authReqId: string, ttlSeconds: number): Promise<void>;
  authReqIdOf(authenticationId: string): Promise<string | undefined>;
  /**
   * Claims the completion of a request for `ttlMs`, so that two deliveries of one decision (two
   * consent-service replicas, a retry racing the first call) never make two grants. A claim
   * lapses, so a delivery that crashed half-way is redone by the next retry.
   */
  claimCompletion(authenticationId: string, ttlMs: number): Promise<boolean>;
  /**
   * Counts a poll of a pending request: true when none was counted in the last `intervalMs`
   * (one SET NX PX, atomic across replicas), false when the client polls too fast.
   */
  countPoll(authReqId: string, intervalMs: number): Promise<boolean>;
}

const sha256 = (value: string) => createHash('sha256').update(value).digest('base64url');
const pollKey = (authReqId: string) => `ciba:poll:${sha256(authReqId)}`;
const refKey = (authenticationId: string) => `ciba:ref:${sha256(authenticationId)}`;
const refCipherKey = (authenticationId: string) =>
  Buffer.from(hkdfSync('sha256', authenticationId, '', 'obip ciba auth_req_id', 32));

/** AES-256-GCM: iv, tag and ciphertext, base64url-joined. */
function seal(authReqId: string, authenticationId: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', refCipherKey(authenticationId), iv);
  const sealed = Buffer.concat([cipher.update(authReqId, 'utf8'), cipher.final()]);
  return [iv, cipher.getAuthTag(), sealed].map((part) => part.toString('base64url')).join('.');
}

function open(record: string, authenticationId: string): string | undefined {
  const [iv, tag, sealed] = record.split('.').map((part) => Buffer.from(part, 'base64url'));
  if (!iv || !tag || !sealed) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', refCipherKey(authenticationId), iv);
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(sealed), decipher.final()]).toString('utf8');
  } catch {
    return undefined;
  }
}

/**
 * @example
 * const ciba = createCibaStore(redis);
 * await ciba.remember(authenticationId, request.jti, request.expiration);
 */
export function createCibaStore(redis: RedisClient): CibaStore {
  return {
    remember: (authenticationId, authReqId, ttlSeconds) =>
      guarded('redis', async () => {
        const record = seal(authReqId, authenticationId);
        await redis.set(refKey(authenticationId), record, 'EX', Math.max(1, Math.ceil(ttlSeconds)));
      }),
    authReqIdOf: (authenticationId) =>
      guarded('redis', async () => {
        const record = await redis.get(refKey(authenticationId));
        return record === null ? undefined : open(record, authenticationId);
      }),
    claimCompletion: (authenticationId, ttlMs) =>
      guarded(
        'redis',
        async () => (await redis.set(`ciba:completing:${sha256(authenticationId)}`, '1', 'PX', ttlMs, 'NX')) === 'OK',
      ),
    countPoll: (authReqId, intervalMs) =>
      guarded('redis', async () => (await redis.set(pollKey(authReqId), '1', 'PX', intervalMs, 'NX')) === 'OK'),
  };
}
