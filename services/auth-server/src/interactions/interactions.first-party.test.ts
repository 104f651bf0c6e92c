// The bank's own application (consent-service's customer portal) signs the customer in without
// a consent page: a client the registry marks first-party (clients.v1 Client.first_party, set
// only by an administrator's CreateClient) asking for OpenID scopes only. Through the real pages
// behind the edge twin, with the ClientRegistry double of the harness.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as oidc from 'openid-client';
import { clientsV1 } from '@obip/contracts';
import { CUSTOMER, REDIRECT_URI, startHarness, type Harness, type TestTpp } from '../testing/auth-server.harness';
import { isFirstPartyScope } from './interactions.http';

const FAPI2 = clientsV1.FapiProfile.FAPI_PROFILE_FAPI2_SECURITY;

describe('first-party clients at the login and consent pages', () => {
  let harness: Harness;

  before(async () => {
    harness = await startHarness();
  });
  after(() => harness?.close());

  /** A TPP-shaped client of the harness, marked first-party in the registry when asked. */
  async function client(firstParty: boolean): Promise<{ tpp: TestTpp; config: oidc.Configuration }> {
    const tpp = await harness.registerTpp({ profile: FAPI2 });
    const registered = harness.registry.clients.get(tpp.clientId)!;
    harness.registry.clients.set(tpp.clientId, { ...registered, ...(firstParty ? { firstParty: true } : {}) });
    return { tpp, config: await harness.relyingParty(tpp) };
  }

  async function authorizationUrl(config: oidc.Configuration, scope: string, verifier: string, state: string) {
    return oidc.buildAuthorizationUrlWithPAR(config, {
      redirect_uri: REDIRECT_URI,
      scope,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
    });
  }

  /** Opens the authorization URL and signs in; the page or redirect that follows the login. */
  async function signIn(url: URL) {
    const browser = harness.browser();
    const loginPage = await browser.follow(await browser.get(url.href));
    assert.match(loginPage.body, /name="username"/);
    const action = new URL(/action="([^"]+)"/.exec(loginPage.body)![1]!, loginPage.url).href;
    const after = await browser.follow(
      await browser.post(action, new URLSearchParams({ username: CUSTOMER.username, password: CUSTOMER.password })),
    );
    return { loginPage, after };
  }

  test('a first-party client asking for openid is sent back with a code after login, with no consent page and no consent recorded', async () => {
    const { config } = await client(true);
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const decisionsBefore = harness.directory.decisions.length;

    const { loginPage, after: back } = await signIn(await authorizationUrl(config, 'openid', verifier, state));
    assert.match(loginPage.body, /Sign in to continue to/);
    assert.ok(back.location?.startsWith(REDIRECT_URI), `expected a redirect to the client, got ${back.status}`);
    assert.equal(harness.directory.decisions.length, decisionsBefore, 'no consent decision was recorded');

    const tokens = await oidc.authorizationCodeGrant(config, new URL(back.location!), {
      pkceCodeVerifier: verifier,
      expectedState: state,
    });
    assert.equal(tokens.claims()?.sub, CUSTOMER.customerId);
  });

  test('a first-party client asking for an API scope still gets the consent page', async () => {
    const { config } = await client(true);
    const verifier = oidc.randomPKCECodeVerifier();
    const { after: next } = await signIn(
      await authorizationUrl(config, 'openid accounts', verifier, oidc.randomState()),
    );
    assert.equal(next.status, 200);
    assert.match(next.body, /name="decision"/);
  });

  test('a client the registry does not mark first-party gets the consent page for openid alone', async () => {
    const { config } = await client(false);
    const verifier = oidc.randomPKCECodeVerifier();
    const { loginPage, after: next } = await signIn(
      await authorizationUrl(config, 'openid', verifier, oidc.randomState()),
    );
    assert.match(loginPage.body, /is asking to access your accounts/);
    assert.equal(next.status, 200);
    assert.match(next.body, /name="decision"/);
  });

  test('only OpenID scopes are granted silently', () => {
    assert.equal(isFirstPartyScope('openid'), true);
    for (const scope of ['openid accounts', 'openid offline_access', 'payments', '', undefined]) {
      assert.equal(isFirstPartyScope(scope), false, String(scope));
    }
  });
});
