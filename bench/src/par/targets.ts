// Everything the PAR benchmark measures (issue 11 scenario 3), started by
// ../auth-server/targets.ts startEndpointTargets: obip's auth-server, the bare engine and the
// floor (floor.server.ts), each sent one pushed authorization request per request, its
// parameters in a request object signed by the TPP, authenticated with its own client
// assertion, both signed in the load child before the run (../auth-server/assertions.ts).
import { closeRedis, createRedis } from '@obip/redis';
import { pushedAuthorizationForms } from '../auth-server/assertions';
import { REDIRECT_URI } from '../auth-server/fixtures';
import {
  FLOOR_REDIS_PREFIX,
  startEndpointTargets,
  type AuthServerTargets,
  type EndpointTarget,
  type EndpointTargets,
  type StartAuthServerTargetsOptions,
} from '../auth-server/targets';

export type ParTarget = EndpointTarget;
export type ParTargets = EndpointTargets;

/** What every target's answer starts with (RFC 9126 §2.2, the engine's member order). */
export const PAR_RESPONSE_PREFIX = '{"expires_in":';
const REQUEST_URI_PREFIX = 'urn:ietf:params:oauth:request_uri:';

export function startParTargets(options: StartAuthServerTargetsOptions = {}): Promise<ParTargets> {
  return startEndpointTargets(
    {
      path: '/par',
      floorScript: 'bench/src/par/floor.server.ts',
      floorEnv: { REDIRECT_URI },
      formsExport: 'pushedAuthorizationForms',
      expectBodyPrefix: PAR_RESPONSE_PREFIX,
    },
    options,
  );
}

/**
 * Checks that a target takes a real pushed request before it is measured: 201 with a
 * `request_uri` and `expires_in` of at most 60 s; obip's and the engine's authorization
 * endpoint then accept that `request_uri` (a redirect to their login interaction), the floor
 * keeps the request object in Redis; obip and the engine refuse the same body a second time
 * (its client assertion is spent). Throws with what was wrong.
 */
export async function checkParAnswers(target: ParTarget, servers: AuthServerTargets): Promise<void> {
  const [body] = pushedAuthorizationForms(servers.tpp.signer, 1);
  const post = async () => {
    const response = await fetch(target.url, { method: 'POST', headers: target.requests.headers, body: body! });
    return { status: response.status, text: await response.text() };
  };
  const first = await post();
  if (first.status !== 201 || !first.text.startsWith(PAR_RESPONSE_PREFIX))
    throw new Error(`${target.name} answered ${first.status} ${first.text}`);
  const answer = JSON.parse(first.text) as { request_uri?: string; expires_in?: number };
  const problems: string[] = [];
  if (!answer.request_uri?.startsWith(REQUEST_URI_PREFIX)) problems.push('no request_uri');
  if (!(typeof answer.expires_in === 'number' && answer.expires_in > 0 && answer.expires_in <= 60))
    problems.push(`expires_in ${String(answer.expires_in)}`);
  if (target.name === 'floor') {
    const redis = createRedis({ url: servers.redisUrl, keyPrefix: FLOOR_REDIS_PREFIX });
    try {
      const stored = await redis.get(`par:${answer.request_uri?.slice(REQUEST_URI_PREFIX.length)}`);
      if (!stored?.includes('.')) problems.push('the request object was not stored');
    } finally {
      await closeRedis(redis);
    }
  } else {
    const origin = new URL(target.url).origin;
    const query = new URLSearchParams({ client_id: servers.tpp.clientId, request_uri: answer.request_uri ?? '' });
    const authorize = await fetch(`${origin}/authorize?${query}`, { redirect: 'manual' });
    const location = authorize.headers.get('location') ?? '';
    if (authorize.status !== 303 || !location.includes('/interaction/'))
      problems.push(`/authorize with the request_uri answered ${authorize.status} ${location}`);
    const replay = await post();
    if (replay.status !== 401 || !replay.text.includes('invalid_client'))
      problems.push(`a replayed assertion was answered ${replay.status} ${replay.text}`);
  }
  if (problems.length > 0) throw new Error(`${target.name} answered ${first.text}: ${problems.join(', ')}`);
}
