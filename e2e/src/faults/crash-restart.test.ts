// Fault: each service killed (SIGKILL, a crash) in the middle of flows and started again on the
// same ports. Callers see bounded failures — the edge's 502 for the dead service, a 503 within the
// gRPC deadline from the services that call it, never a hang or a 500 — and everything answers
// again after the restart; a registration that was answered 201 is never lost; a consent revoked
// while auth-server is down has its tokens revoked by consent-service's outbox once auth-server
// is back.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as oidc from 'openid-client';
import { closeMongo, connectMongo } from '@obip/mongo';
import { closeRedis, createRedis, type RedisClient } from '@obip/redis';
import { attachServerLogsOnFailure, testMongoUrl, testRedisPrefix, testRedisUrl } from '@obip/testing';
import { createTokenStore, type TokenStore } from '@obip/token-store';
import { authorizationUrlWithPar, ACCOUNT_ACCESS_CONSENTS } from '../flows/obie';
import { BANK, loginAndConsent, platformLogSources, SERVICES, type Platform } from '../platform/platform';
import {
  introspectRequest,
  isEdgePage,
  longest,
  opsRequest,
  readinessNow,
  registerTpp,
  sleep,
  startLoad,
  startPlatformWithGatewayTpp,
  tally,
  timedRequest,
  timeUntilReadiness,
  tokenRequest,
  waitUntil,
  type Outcome,
  type Tpp,
} from './faults';

const NAME = 'fault_crash';
const CUSTOMER = { username: 'amelia.hart', password: 'Sandbox-Amelia-1' };
/**
 * A failed call must end within this: the edge refuses at once for a dead upstream, and a caller
 * of the dead service over gRPC is bounded by its deadline (2 s by default, 1 s for
 * token-introspection's peers).
 */
const FAILURE_BOUND_MS = 4_000;
/**
 * How soon after a restarted service reports ready its callers reach it again: their gRPC
 * channels retry the connection at most 1 s apart (libs/grpc), and some.
 */
const RECONNECT_MS = 2_000;

let platform: Platform;
let gateway: Tpp;
let redis: RedisClient;
let tokenStore: TokenStore;

attachServerLogsOnFailure({ sources: [platformLogSources(() => platform)] });

before(async () => {
  ({ platform, gateway } = await startPlatformWithGatewayTpp({ name: NAME }));
  redis = createRedis({ url: testRedisUrl(), keyPrefix: testRedisPrefix(NAME) });
  tokenStore = createTokenStore(redis);
});

after(async () => {
  await platform?.stop();
  if (redis) await closeRedis(redis);
});

function bearer(tpp: Tpp, token: string, method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown) {
  return timedRequest(`${platform.twin.mtlsUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      accept: 'application/json',
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    ...(body ? { body: JSON.stringify(body) } : {}),
    dispatcher: tpp.agent,
  });
}

/** POST /register for a new software; the client id when answered 201. */
async function registration(): Promise<Outcome & { clientId?: string; rat?: string; tpp?: Tpp }> {
  const software = await platform.directory.registerSoftware();
  const agent = platform.tppAgent(software);
  const outcome = await timedRequest(`${platform.twin.mtlsUrl}/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/jose', accept: 'application/json' },
    body: platform.directory.mintRegistrationRequest(software, {
      ssa: platform.directory.issueSsa(software),
      aud: BANK,
      claims: { response_types: ['code'] },
    }),
    dispatcher: agent,
  });
  if (outcome.status !== 201) return outcome;
  const body = outcome.body as { client_id: string; registration_access_token: string };
  return {
    ...outcome,
    clientId: body.client_id,
    rat: body.registration_access_token,
    tpp: { software, agent, clientId: body.client_id, registrationAccessToken: body.registration_access_token },
  };
}

describe('each service killed and restarted in the middle of flows', () => {
  test('bounded failures while down, every flow answering after the restart, no registration lost', async (t) => {
    const tpp = await registerTpp(platform);
    const ccToken = ((await tokenRequest(platform, tpp)).body as { access_token: string }).access_token;
    const intent = await bearer(tpp, ccToken, 'POST', ACCOUNT_ACCESS_CONSENTS, {
      Data: { Permissions: ['ReadAccountsBasic'], ExpirationDateTime: '2999-01-01T00:00:00+00:00' },
      Risk: {},
    });
    assert.equal(intent.status, 201);
    const intentPath = `${ACCOUNT_ACCESS_CONSENTS}/${(intent.body as { Data: { ConsentId: string } }).Data.ConsentId}`;

    const flows: Record<string, () => Promise<Outcome>> = {
      token: () => tokenRequest(platform, tpp),
      introspection: () => introspectRequest(platform, gateway, ccToken),
      intent: () => bearer(tpp, ccToken, 'GET', intentPath),
      registrationRead: () => bearer(tpp, tpp.registrationAccessToken, 'GET', `/register/${tpp.clientId}`),
      registration: registration,
    };
    const registered: Awaited<ReturnType<typeof registration>>[] = [];
    const figures: string[] = [];

    for (const name of SERVICES) {
      const loads = Object.entries(flows).map(([kind, request]) => ({
        kind,
        load: startLoad(
          async () => {
            const outcome = await request();
            if (kind === 'registration' && outcome.status === 201) registered.push(outcome);
            return outcome;
          },
          { workers: 1, maxRequests: kind === 'registration' ? 15 : 400, pauseMs: kind === 'registration' ? 400 : 50 },
        ),
      }));
      await sleep(1_000);
      const killedAt = Date.now();
      await platform.stopService(name, 'SIGKILL');
      await sleep(1_000);
      await platform.startService(name);
      const ready = await timeUntilReadiness(platform, 200, 30_000, [name]);
      const readyAt = Date.now();
      await sleep(RECONNECT_MS + 1_500);
      const results = await Promise.all(loads.map(async ({ kind, load }) => ({ kind, outcomes: await load.stop() })));

      const failed = results.flatMap(({ kind, outcomes }) =>
        outcomes.filter((o) => o.status >= 300 || o.status === 0).map((o) => ({ kind, ...o })),
      );
      const lastFailure = Math.max(0, ...failed.map((o) => o.at + o.ms));
      t.diagnostic(`${name}: last failure ended ${lastFailure - readyAt} ms after ready`);
      figures.push(
        `${name}: down→ready ${readyAt - killedAt} ms (ready ${ready[name]} ms after start); ` +
          results.map(({ kind, outcomes }) => `${kind} ${JSON.stringify(tally(outcomes))}`).join(', ') +
          `; longest failed ${longest(failed)} ms`,
      );
      t.diagnostic(figures.at(-1)!);

      if (ready[name] === undefined)
        assert.fail(`${name} not ready after the restart: ${await readinessNow(platform, name)}`);
      for (const outcome of failed) {
        const what = `${name} killed: ${outcome.kind} ${outcome.status} ${outcome.error ?? ''} ${JSON.stringify(outcome.body)?.slice(0, 200)}`;
        assert.ok(outcome.status !== 0, `no answer (${what})`);
        assert.ok(outcome.ms < FAILURE_BOUND_MS, `a failure took ${outcome.ms} ms (${what})`);
        // The dead service's own routes: the edge's 502; its callers: their 503.
        assert.ok(
          (outcome.status === 502 && isEdgePage(outcome)) || (outcome.status === 503 && !isEdgePage(outcome)),
          what,
        );
        assert.ok(
          outcome.at < readyAt + RECONNECT_MS,
          `a failure ${outcome.at - readyAt} ms after ${name} was ready (${what})`,
        );
      }
      for (const { kind, outcomes } of results) {
        const afterRestart = outcomes.filter((o) => o.at > readyAt + RECONNECT_MS);
        assert.ok(afterRestart.length > 0, `${kind}: requests after ${name} restarted`);
        for (const outcome of afterRestart) assert.ok(outcome.status < 300, `${kind} after ${name}: ${outcome.status}`);
      }
      assert.ok(failed.length > 0, `${name} being down was noticed by some flow`);
    }

    // No lost registrations: every client answered 201 is there, with its registration access token.
    assert.ok(registered.length > 0);
    for (const client of registered) {
      const read = await bearer(client.tpp!, client.rat!, 'GET', `/register/${client.clientId}`);
      assert.equal(read.status, 200, `client ${client.clientId} registered at ${client.at}`);
      assert.equal((await tokenRequest(platform, client.tpp!)).status, 200);
    }
    t.diagnostic(`${registered.length} registrations answered 201, all readable after the restarts`);
  });

  test('a consent revoked while auth-server is down: the outbox revokes its tokens once it is back', async (t) => {
    const tpp = await registerTpp(platform);
    const config = await platform.relyingParty(tpp.software, tpp.clientId);
    const ccToken = ((await tokenRequest(platform, tpp)).body as { access_token: string }).access_token;
    const created = await bearer(tpp, ccToken, 'POST', ACCOUNT_ACCESS_CONSENTS, {
      Data: { Permissions: ['ReadAccountsBasic'], ExpirationDateTime: '2999-01-01T00:00:00+00:00' },
      Risk: {},
    });
    const consentId = (created.body as { Data: { ConsentId: string } }).Data.ConsentId;
    const request = await authorizationUrlWithPar(config, {
      redirectUri: tpp.software.redirectUris[0]!,
      scope: 'openid accounts',
      consentId,
    });
    const callback = await loginAndConsent(platform.browser(), request.url, CUSTOMER);
    const tokens = await oidc.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: request.verifier,
      expectedState: request.state,
    });
    assert.ok(await tokenStore.find(tokens.access_token));

    await platform.stopService('auth-server', 'SIGKILL');
    const revoked = await bearer(tpp, ccToken, 'DELETE', `${ACCOUNT_ACCESS_CONSENTS}/${consentId}`);
    assert.equal(revoked.status, 204, 'the revocation itself needs only consent-service');
    // While auth-server is down the cascade waits in the outbox, the token record untouched.
    const connection = await connectMongo({
      url: testMongoUrl(`${NAME}_consent`),
      serverSelectionTimeoutMS: 5_000,
    });
    const cascade = async () =>
      (await connection.db!.collection('consents').findOne({ _id: consentId as never }))?.cascade as
        { state: string; attempts: number } | undefined;
    try {
      const retried = await waitUntil(async () => ((await cascade())?.attempts ?? 0) >= 2, 10_000);
      assert.ok(retried !== undefined, `the outbox tried and failed: ${JSON.stringify(await cascade())}`);
      assert.equal((await cascade())?.state, 'pending');
      assert.ok(await tokenStore.find(tokens.access_token), 'not revoked while auth-server is down');
      // Introspection refuses it at once anyway: it checks the consent's status.
      const introspected = await introspectRequest(platform, gateway, tokens.access_token);
      assert.deepEqual(introspected.body, { active: false });

      const restartedAt = Date.now();
      await platform.startService('auth-server');
      const delivered = await waitUntil(async () => (await tokenStore.find(tokens.access_token)) === undefined, 15_000);
      t.diagnostic(`tokens revoked ${delivered} ms after auth-server was back (${Date.now() - restartedAt} ms in all)`);
      assert.ok(delivered !== undefined, 'the outbox delivered the revocation after the restart');
      assert.ok(
        (await waitUntil(async () => (await cascade())?.state === 'delivered', 5_000)) !== undefined,
        'the outbox entry is marked delivered',
      );
    } finally {
      await closeMongo(connection);
    }
    await assert.rejects(
      oidc.refreshTokenGrant(config, tokens.refresh_token!),
      (error: { error?: string; error_description?: string }) => {
        assert.equal(error.error, 'invalid_grant', error.error_description);
        return true;
      },
    );
    assert.equal((await opsRequest(platform, 'auth-server', '/readyz')).status, 200);
  });
});
