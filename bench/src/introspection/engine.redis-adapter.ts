// A minimal Redis storage adapter for node-oidc-provider, written for the engine baseline: one
// JSON value per model instance (`<model>:<id>`) with the engine's TTL, secondary lookups by
// uid and user code, and grant revocation through a set per grant. Enough for the benchmark's
// models (Grant, AccessToken, ClientCredentials); not auth-server's adapter.
import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { RedisClient } from '@obip/redis';

export function createEngineRedisAdapter(redis: RedisClient): (model: string) => Adapter {
  return (model) => {
    const key = (id: string) => `${model}:${id}`;
    const read = async (id: string | null): Promise<AdapterPayload | undefined> => {
      if (!id) return undefined;
      const text = await redis.get(key(id));
      return text ? (JSON.parse(text) as AdapterPayload) : undefined;
    };
    return {
      async upsert(id, payload, expiresIn) {
        const ttl = expiresIn && expiresIn > 0 ? (['EX', expiresIn] as const) : undefined;
        const value = JSON.stringify(payload);
        await (ttl ? redis.set(key(id), value, ...ttl) : redis.set(key(id), value));
        if (payload.grantId) await redis.sadd(`grant:${payload.grantId}`, key(id));
        if (payload.uid) await redis.set(`${model}:uid:${payload.uid}`, id, 'EX', expiresIn ?? 3600);
        if (payload.userCode) await redis.set(`${model}:userCode:${payload.userCode}`, id, 'EX', expiresIn ?? 3600);
      },
      find: (id) => read(id),
      findByUid: async (uid) => read(await redis.get(`${model}:uid:${uid}`)),
      findByUserCode: async (userCode) => read(await redis.get(`${model}:userCode:${userCode}`)),
      async consume(id) {
        const payload = await read(id);
        if (payload)
          await redis.set(key(id), JSON.stringify({ ...payload, consumed: Math.floor(Date.now() / 1000) }), 'KEEPTTL');
      },
      async destroy(id) {
        await redis.del(key(id));
      },
      async revokeByGrantId(grantId) {
        const keys = await redis.smembers(`grant:${grantId}`);
        if (keys.length > 0) await redis.del(...keys);
        await redis.del(`grant:${grantId}`);
      },
    };
  };
}
