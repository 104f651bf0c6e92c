// Per-client rate limits at /token and /par through the ingress twin, counted in real Redis.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import * as oidc from 'openid-client';
import { clientsV1 } from '@obip/contracts';
import { attachServerLogsOnFailure } from '@obip/testing';
import { REDIRECT_URI, startHarness, type Harness } from '../testing/auth-server.harness';

const WINDOW_MS = 2_000;
const FAPI2 = clientsV1.FapiProfile.FAPI_PROFILE_FAPI2_SECURITY;

/** Waits for the start of a fresh window, so a test's requests all fall in one. */
async function startOfWindow(): Promise<void> {
  await sleep(WINDOW_MS - (Date.now() % WINDOW_MS) + 20);
}

/**
 * Sends `requests` from the start of a fresh window. On a machine slow enough that they spill into
 * the next window (where none is over the limit: a CI run once took over 2 s for four token
 * requests), they are sent again from the start of another, up to three times.
 */
async function inOneWindow<T>(requests: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    await startOfWindow();
    const window = Math.floor(Date.now() / WINDOW_MS);
    const outcome = await requests();
    if (Math.floor(Date.now() / WINDOW_MS) === window || attempt === 3) return outcome;
  }
}

/** What a request that should be refused ended with: the refusal, or undefined when it was served. */
const refusalOf = (request: Promise<unknown>): Promise<Refusal | undefined> =>
  request.then(
    () => undefined,
    (error: unknown) => error as Refusal,
  );

/** A refusal by openid-client (ResponseBodyError), with the response it read. */
interface Refusal {
  error?: string;
  status?: number;
  response?: Response;
}

describe('per-client rate limits at /token and /par', () => {
  let harness: Harness;
  attachServerLogsOnFailure({ sources: [{ name: 'ingress twin', logs: () => harness?.twin.logs() ?? '' }] });

  before(async () => {
    harness = await startHarness({
      // 90 and 60 per minute in 2 s windows: 3 token and 2 PAR requests per window.
      env: {
        RATE_LIMIT_WINDOW_MS: String(WINDOW_MS),
        TOKEN_RATE_LIMIT_PER_MINUTE: '90',
        PAR_RATE_LIMIT_PER_MINUTE: '60',
      },
    });
  });
  after(() => harness?.close());

  test('the request over the limit gets 429 with Retry-After and an OAuth error; the next window is open again', async () => {
    const tpp = await harness.registerTpp({ profile: FAPI2 });
    const config = await harness.relyingParty(tpp);
    const refusal = await inOneWindow(async () => {
      for (let i = 0; i < 3; i += 1) await oidc.clientCredentialsGrant(config, { scope: 'accounts' });
      return refusalOf(oidc.clientCredentialsGrant(config, { scope: 'accounts' }));
    });
    assert.ok(refusal, 'the fourth request in the window was not refused');
    assert.equal(refusal.status, 429);
    assert.equal(refusal.error, 'too_many_requests');
    const retryAfter = Number(refusal.response?.headers.get('retry-after'));
    assert.ok(retryAfter >= 1 && retryAfter <= WINDOW_MS / 1000, `Retry-After ${retryAfter}`);
    assert.equal(refusal.response?.headers.get('cache-control'), 'no-store');

    await sleep(retryAfter * 1000);
    const tokens = await oidc.clientCredentialsGrant(config, { scope: 'accounts' });
    assert.ok(tokens.access_token);
  });

  test("a caller claiming another client's id with its own certificate does not use up that client's quota", async () => {
    const victim = await harness.registerTpp({ profile: FAPI2 });
    const attacker = await harness.registerTpp({ profile: FAPI2 });
    const attackerFetch = (await harness.relyingParty(attacker))[oidc.customFetch]!;
    const victimConfig = await harness.relyingParty(victim);
    const statuses = await inOneWindow(async () => {
      const sent: number[] = [];
      for (let i = 0; i < 5; i += 1) {
        const response = await attackerFetch(`${harness.mtlsBaseUrl}/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({
            grant_type: 'client_credentials',
            client_id: victim.clientId,
            client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
            client_assertion: 'not.a.jwt',
          }).toString(),
          redirect: 'manual',
          signal: undefined as never,
        });
        sent.push(response.status);
      }
      return sent;
    });
    assert.deepEqual(statuses.slice(3), [429, 429], 'the attacker is limited, on a counter of its own');
    assert.ok(
      statuses.slice(0, 3).every((status) => status === 400 || status === 401),
      `refused by the engine: ${statuses.join(',')}`,
    );
    for (let i = 0; i < 3; i += 1) await oidc.clientCredentialsGrant(victimConfig, { scope: 'accounts' });
  });

  test('PAR has its own limit', async () => {
    const tpp = await harness.registerTpp({ profile: FAPI2 });
    const config = await harness.relyingParty(tpp);
    const push = async () =>
      oidc.buildAuthorizationUrlWithPAR(config, {
        redirect_uri: REDIRECT_URI,
        scope: 'openid accounts',
        code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
        code_challenge_method: 'S256',
      });
    const refusal = await inOneWindow(async () => {
      await push();
      await push();
      return refusalOf(push());
    });
    assert.ok(refusal, 'the third PAR request in the window was not refused');
    assert.equal(refusal.error, 'too_many_requests');
    assert.equal(refusal.status, 429);
    await oidc.clientCredentialsGrant(config, { scope: 'accounts' });
  });
});
