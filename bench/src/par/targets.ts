// Everything the PAR benchmark measures (issue 11 scenario 3): obip's auth-server and the bare
// engine (../auth-server/targets.ts) and the floor (floor.server.ts), each in its own process,
// and the requests each is sent: one pushed authorization request per request, its parameters in
// a request object signed by the TPP, authenticated with its own client assertion, both signed in
// the load child before the run (../auth-server/assertions.ts), the TPP's certificate in the
// edge's headers.
import { closeRedis, createRedis } from '@obip/redis';
import { startChildServer } from '../harness/processes';
import type { LoadTarget } from '../harness/passes';
import type { RequestSpec } from '../harness/requests';
import { pushedAuthorizationForms } from '../auth-server/assertions';
import { ISSUER, REDIRECT_URI } from '../auth-server/fixtures';
import type { EndpointTargetName } from '../auth-server/scenario';
import {
  startAuthServerTargets,
  type AuthServerTargets,
  type StartAuthServerTargetsOptions,
} from '../auth-server/targets';

export interface ParTarget extends LoadTarget {
  name: EndpointTargetName;
  /** `http://127.0.0.1:<port>/par` */
  url: string;
}

export interface ParTargets {
  targets: Record<EndpointTargetName, ParTarget>;
  servers: AuthServerTargets;
  stop(): Promise<void>;
}

/** What every target's answer starts with (RFC 9126 §2.2, the engine's member order). */
export const PAR_RESPONSE_PREFIX = '{"expires_in":';
const REQUEST_URI_PREFIX = 'urn:ietf:params:oauth:request_uri:';
const FLOOR_PREFIX = 'floor:';

export async function startParTargets(options: StartAuthServerTargetsOptions = {}): Promise<ParTargets> {
  const servers = await startAuthServerTargets(options);
  try {
    const { tpp } = servers;
    const floor = await startChildServer<{ port: number }>({
      script: 'bench/src/par/floor.server.ts',
      env: {
        REDIS_URL: servers.redisUrl,
        REDIS_KEY_PREFIX: FLOOR_PREFIX,
        CLIENT_ID: tpp.clientId,
        CLIENT_JWKS: JSON.stringify({ keys: [tpp.publicJwk] }),
        ISSUER,
        REDIRECT_URI,
      },
    });
    servers.onStop(() => floor.stop());

    const requests: RequestSpec = {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...tpp.certificate.headers },
      generated: {
        module: 'bench/src/auth-server/assertions.ts',
        exportName: 'pushedAuthorizationForms',
        argument: tpp.signer,
        count: 0,
      },
      expectBodyPrefix: PAR_RESPONSE_PREFIX,
    };
    const target = (name: EndpointTargetName, origin: string, pid: number): ParTarget => ({
      name,
      url: `${origin}/par`,
      pid,
      requests,
    });
    return {
      targets: {
        obip: target('obip', servers.obip.origin, servers.obip.pid),
        engine: target('engine', servers.engine.origin, servers.engine.pid),
        floor: target('floor', `http://127.0.0.1:${floor.ready.port}`, floor.pid),
      },
      servers,
      stop: () => servers.stop(),
    };
  } catch (error) {
    await servers.stop();
    throw error;
  }
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
    const redis = createRedis({ url: servers.redisUrl, keyPrefix: FLOOR_PREFIX });
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
