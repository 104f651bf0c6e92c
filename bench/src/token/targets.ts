// Everything the token endpoint benchmark measures, started the same way for the real run and
// the smoke test (../auth-server/targets.ts startEndpointTargets): obip's auth-server, the bare
// engine and the floor (floor.server.ts), each sent one client_credentials grant per request,
// each with a fresh client assertion signed in the load child before the run
// (../auth-server/assertions.ts).
import { closeRedis, createRedis } from '@obip/redis';
import { createTokenStore } from '@obip/token-store';
import { clientCredentialsForms } from '../auth-server/assertions';
import { CLIENT_CREDENTIALS_SCOPE, CLIENT_CREDENTIALS_TTL_SECONDS } from '../auth-server/fixtures';
import type { EndpointTargetName } from '../auth-server/scenario';
import {
  FLOOR_REDIS_PREFIX,
  OBIP_REDIS_PREFIX,
  startEndpointTargets,
  type AuthServerTargets,
  type EndpointTarget,
  type EndpointTargets,
  type StartAuthServerTargetsOptions,
} from '../auth-server/targets';

export type TokenTargetName = EndpointTargetName;
export type TokenTarget = EndpointTarget;
export type TokenTargets = EndpointTargets;

/** What every target's answer starts with (RFC 6749 §5.1, the engine's member order). */
export const TOKEN_RESPONSE_PREFIX = '{"access_token":"';

export function startTokenTargets(options: StartAuthServerTargetsOptions = {}): Promise<TokenTargets> {
  return startEndpointTargets(
    {
      path: '/token',
      floorScript: 'bench/src/token/floor.server.ts',
      floorEnv: {
        TOKEN_TTL_SECONDS: String(CLIENT_CREDENTIALS_TTL_SECONDS),
        SCOPE: CLIENT_CREDENTIALS_SCOPE,
      },
      formsExport: 'clientCredentialsForms',
      expectBodyPrefix: TOKEN_RESPONSE_PREFIX,
    },
    options,
  );
}

/**
 * Checks that a target issues a real token before it is measured: a client_credentials grant
 * with a fresh assertion is answered 200 with a Bearer token for the requested scope, bound to
 * the TPP's certificate (`x5t#S256` in obip's and the floor's token record, in the engine's
 * stored token); obip and the engine refuse the same assertion a second time. Throws with what
 * was wrong.
 */
export async function checkTokenAnswers(target: TokenTarget, servers: AuthServerTargets): Promise<void> {
  const [body] = clientCredentialsForms(servers.tpp.signer, 1);
  const post = async () => {
    const response = await fetch(target.url, { method: 'POST', headers: target.requests.headers, body: body! });
    return { status: response.status, text: await response.text() };
  };
  const first = await post();
  if (first.status !== 200 || !first.text.startsWith(TOKEN_RESPONSE_PREFIX))
    throw new Error(`${target.name} answered ${first.status} ${first.text}`);
  const answer = JSON.parse(first.text) as Record<string, unknown>;
  const problems = [
    typeof answer.access_token === 'string' && answer.access_token.length >= 32 ? undefined : 'no access_token',
    String(answer.token_type).toLowerCase() === 'bearer' ? undefined : `token_type ${String(answer.token_type)}`,
    answer.scope === CLIENT_CREDENTIALS_SCOPE ? undefined : `scope ${String(answer.scope)}`,
    answer.expires_in === CLIENT_CREDENTIALS_TTL_SECONDS ? undefined : `expires_in ${String(answer.expires_in)}`,
  ].filter((problem) => problem !== undefined);
  const binding = await boundThumbprint(target, servers, String(answer.access_token));
  if (binding !== servers.tpp.certificate.thumbprint) problems.push(`bound to ${String(binding)}`);
  if (target.name !== 'floor') {
    const replay = await post();
    if (replay.status !== 401 || !replay.text.includes('invalid_client'))
      problems.push(`a replayed assertion was answered ${replay.status} ${replay.text}`);
  }
  if (problems.length > 0) throw new Error(`${target.name} answered ${first.text}: ${problems.join(', ')}`);
}

/** The `x5t#S256` the target bound the token to, read where it keeps it. */
async function boundThumbprint(target: TokenTarget, servers: AuthServerTargets, token: string) {
  if (target.name === 'engine') {
    const response = await fetch(`${servers.engine.origin}/__bench/client-credentials/${token}`);
    return ((await response.json()) as { 'x5t#S256'?: string })['x5t#S256'];
  }
  const redis = createRedis({
    url: servers.redisUrl,
    keyPrefix: target.name === 'obip' ? OBIP_REDIS_PREFIX : FLOOR_REDIS_PREFIX,
  });
  try {
    const record = await createTokenStore(redis).find(token);
    return record?.clientId === servers.tpp.clientId && record.grantType === 'client_credentials'
      ? record.cnf?.['x5t#S256']
      : undefined;
  } finally {
    await closeRedis(redis);
  }
}
