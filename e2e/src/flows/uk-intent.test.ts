// The UK Open Banking account-access journey end to end, every service real and every call
// through the edge twin, with openid-client as the TPP: a client_credentials token creates the
// intent at consent-service, FAPI 2.0 PAR + PKCE carries `openbanking_intent_id`, the customer
// logs in and consents on auth-server's pages (backed by consent-service), tokens come back
// certificate-bound and linked to the consent; revoking the consent makes them inactive at
// token-introspection within a second and, through consent-service's outbox, auth-server
// refuses the refresh token.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as oidc from 'openid-client';
import { attachServerLogsOnFailure } from '@obip/testing';
import {
  platformLogSources,
  authorizationUrlForIntent,
  intentApi,
  loginAndConsent,
  startPlatformWithGateway,
  type Platform,
} from '../platform/platform';
import { ACCOUNT_ACCESS_CONSENTS } from './obie';

const CUSTOMER = { username: 'amelia.hart', password: 'Sandbox-Amelia-1' };
/** FAPI 2.0 (the platform's default profile) allows response_type `code` only. */
const FAPI2_METADATA = { response_types: ['code'] };

let platform: Platform;
let gateway: oidc.Configuration;

attachServerLogsOnFailure({
  sources: [platformLogSources(() => platform)],
});

before(async () => {
  ({ platform, gateway } = await startPlatformWithGateway({
    name: 'uk_intent',
  }));
});
after(() => platform?.stop());

describe('UK account-access journey', () => {
  test('intent → PAR with openbanking_intent_id → login and consent → bound tokens → revocation reaches introspection and refresh', async (t) => {
    const software = await platform.directory.registerSoftware({ roles: ['AISP'] });
    const { client_id: clientId } = await platform.register(software, FAPI2_METADATA);
    const tpp = await platform.relyingParty(software, clientId);

    // 1. The TPP creates the intent with a client_credentials token.
    const { access_token: ccToken } = await oidc.clientCredentialsGrant(tpp, { scope: 'accounts' });
    const created = await intentApi(platform, software, ccToken, 'POST', ACCOUNT_ACCESS_CONSENTS, {
      Data: { Permissions: ['ReadAccountsDetail', 'ReadBalances'], ExpirationDateTime: '2999-01-01T00:00:00+00:00' },
      Risk: {},
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const consentId = created.body!.Data.ConsentId;
    assert.equal(created.body!.Data.Status, 'AwaitingAuthorisation');

    // 2. FAPI 2.0: PAR + PKCE, the intent requested as an essential ID token claim.
    const {
      url: authorizationUrl,
      verifier,
      state,
    } = await authorizationUrlForIntent(tpp, software.redirectUris[0]!, consentId);
    const callback = await loginAndConsent(platform.browser(), authorizationUrl, CUSTOMER);
    const tokens = await oidc.authorizationCodeGrant(tpp, callback, {
      pkceCodeVerifier: verifier,
      expectedState: state,
    });
    assert.equal(tokens.claims()?.openbanking_intent_id, consentId, 'the ID token echoes the intent');
    assert.ok(tokens.refresh_token);

    const authorised = await intentApi(platform, software, ccToken, 'GET', `${ACCOUNT_ACCESS_CONSENTS}/${consentId}`);
    assert.equal(authorised.body!.Data.Status, 'Authorised');

    // 3. The bank's gateway sees an active, bound token linked to the consent.
    const introspected = await oidc.tokenIntrospection(gateway, tokens.access_token);
    assert.equal(introspected.active, true);
    assert.equal(introspected.client_id, clientId);
    assert.equal(introspected.consent_id, consentId);
    assert.ok(introspected.sub);
    assert.ok((introspected.cnf as { 'x5t#S256'?: string } | undefined)?.['x5t#S256']);
    assert.equal(introspected.openbanking_intent_id, consentId);
    const refreshIntrospected = await oidc.tokenIntrospection(gateway, tokens.refresh_token!);
    assert.equal(refreshIntrospected.active, true);
    assert.equal(refreshIntrospected.consent_id, consentId);
    assert.equal(refreshIntrospected.client_id, clientId);

    // 4. The TPP revokes the consent: inactive at introspection within one second.
    const revokedAt = Date.now();
    assert.equal(
      (await intentApi(platform, software, ccToken, 'DELETE', `${ACCOUNT_ACCESS_CONSENTS}/${consentId}`)).status,
      204,
    );
    let inactiveAfterMs: number | undefined;
    while (Date.now() - revokedAt < 3_000) {
      const startedAt = Date.now();
      const answer = await oidc.tokenIntrospection(gateway, tokens.access_token);
      if (!answer.active) {
        inactiveAfterMs = Date.now() - revokedAt;
        assert.deepEqual(answer, { active: false });
        break;
      }
      assert.ok(startedAt - revokedAt < 1_000, `still active ${startedAt - revokedAt} ms after the revocation`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.ok(inactiveAfterMs !== undefined, 'the token became inactive');
    assert.deepEqual(await oidc.tokenIntrospection(gateway, tokens.refresh_token!), { active: false });
    t.diagnostic(`revoked consent's token inactive at introspection after ${inactiveAfterMs} ms`);

    // 5. consent-service's outbox reaches auth-server, which revokes the grant: refresh refused.
    const deadline = Date.now() + 15_000;
    let refreshError: { error?: string } | undefined;
    while (!refreshError && Date.now() < deadline) {
      try {
        await oidc.refreshTokenGrant(tpp, tokens.refresh_token!);
        await new Promise((resolve) => setTimeout(resolve, 200));
      } catch (error) {
        refreshError = error as { error?: string };
      }
    }
    assert.equal(refreshError?.error, 'invalid_grant');
  });

  test('an intent of another TPP cannot be authorised', async () => {
    const owner = await platform.directory.registerSoftware({ roles: ['AISP'] });
    const ownerClient = (await platform.register(owner, FAPI2_METADATA)).client_id;
    const { access_token: ownerToken } = await oidc.clientCredentialsGrant(
      await platform.relyingParty(owner, ownerClient),
      {
        scope: 'accounts',
      },
    );
    const created = await intentApi(platform, owner, ownerToken, 'POST', ACCOUNT_ACCESS_CONSENTS, {
      Data: { Permissions: ['ReadAccountsBasic'], ExpirationDateTime: '2999-01-01T00:00:00+00:00' },
      Risk: {},
    });
    const consentId = created.body!.Data.ConsentId;

    const thief = await platform.directory.registerSoftware({ roles: ['AISP'] });
    const thiefConfig = await platform.relyingParty(thief, (await platform.register(thief, FAPI2_METADATA)).client_id);
    const { url: authorizationUrl } = await authorizationUrlForIntent(thiefConfig, thief.redirectUris[0]!, consentId);
    // The intent is checked before the customer sees anything: the TPP gets invalid_request.
    const browser = platform.browser();
    const back = await browser.follow(await browser.get(authorizationUrl.href));
    assert.ok(back.location?.startsWith(thief.redirectUris[0]!), `sent back to the TPP, got ${back.status}`);
    assert.equal(new URL(back.location!).searchParams.get('error'), 'invalid_request');
    const still = await intentApi(platform, owner, ownerToken, 'GET', `${ACCOUNT_ACCESS_CONSENTS}/${consentId}`);
    assert.equal(still.body!.Data.Status, 'AwaitingAuthorisation', 'nothing changed');
  });
});
