// RFC 9396 Rich Authorization Requests through the ingress twin, with openid-client v6 as the TPP:
// what the customer sees, what the grant, the tokens and the consent record then carry.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { clientsV1 } from '@obip/contracts';
import { attachServerLogsOnFailure } from '@obip/testing';
import {
  REDIRECT_URI,
  loginAndConsent,
  startHarness,
  type Browser,
  type Harness,
} from '../testing/auth-server.harness';

const oauthError = (code: string, description?: RegExp) => (error: unknown) => {
  const { error: actual, error_description: detail } = error as { error?: string; error_description?: string };
  return actual === code && (description === undefined || description.test(String(detail)));
};

const payment = {
  type: 'payment_initiation',
  actions: ['initiate', 'status'],
  instructedAmount: { currency: 'GBP', amount: '25.00' },
  creditorName: 'Corner Shop Ltd',
  creditorAccount: { iban: 'GB33BUKB20201555555555' },
  remittanceInformationUnstructured: 'Invoice 1042',
};
const accountInformation = { type: 'account_information', actions: ['list_accounts', 'read_balances'] };

describe('Rich Authorization Requests (RFC 9396) through the ingress twin', () => {
  let harness: Harness;
  attachServerLogsOnFailure({ sources: [{ name: 'ingress twin', logs: () => harness?.twin.logs() ?? '' }] });

  before(async () => {
    harness = await startHarness();
  });
  after(() => harness?.close());

  async function fapi2Client() {
    const tpp = await harness.registerTpp({ profile: clientsV1.FapiProfile.FAPI_PROFILE_FAPI2_SECURITY });
    return { tpp, config: await harness.relyingParty(tpp) };
  }

  /** A pushed authorization request with authorization_details (FAPI 2.0: PAR + PKCE). */
  async function pushRequest(config: oidc.Configuration, details: unknown[]) {
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const authorizationUrl = await oidc.buildAuthorizationUrlWithPAR(config, {
      redirect_uri: REDIRECT_URI,
      scope: 'openid',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      authorization_details: JSON.stringify(details),
    });
    return { authorizationUrl, verifier, state };
  }

  /** PAR with authorization_details, login and consent; returns the callback and what the page said. */
  async function authorize(
    config: oidc.Configuration,
    details: unknown[],
    options: { browser?: Browser; decision?: 'approve' | 'deny' } = {},
  ) {
    const { authorizationUrl, verifier, state } = await pushRequest(config, details);
    let consentPage = '';
    const callback = await loginAndConsent(
      options.browser ?? harness.browser(),
      authorizationUrl,
      options.decision ?? 'approve',
      (html) => {
        consentPage = html;
      },
    );
    return { callback, verifier, state, consentPage };
  }

  test('discovery lists the supported authorization_details types', async () => {
    const { config } = await fapi2Client();
    assert.deepEqual(
      [...((config.serverMetadata().authorization_details_types_supported as string[] | undefined) ?? [])].sort(),
      ['account_information', 'payment_initiation'],
    );
  });

  test('the customer sees each detail; the approved details reach the token, its record and the consent', async () => {
    const { tpp, config } = await fapi2Client();
    const { callback, verifier, state, consentPage } = await authorize(config, [payment, accountInformation]);
    assert.match(consentPage, /Pay 25\.00 GBP to Corner Shop Ltd/);
    assert.match(consentPage, /Payment reference: Invoice 1042/);
    assert.match(consentPage, /To account GB33BUKB20201555555555/);
    assert.match(consentPage, /Allowed to: see the list of your accounts, read your balances/);

    const tokens = await oidc.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: verifier,
      expectedState: state,
    });
    assert.deepEqual(tokens.authorization_details, [payment, accountInformation]);
    const record = await harness.tokenStore.find(tokens.access_token);
    assert.deepEqual(record?.authorizationDetails, [payment, accountInformation]);
    assert.equal(record?.clientId, tpp.clientId);
    // RFC 8707: details are issued for the Open Banking API resource, and the token stays certificate-bound.
    assert.deepEqual(record?.audience, ['urn:obip:open-banking-api']);
    assert.equal(record?.cnf?.['x5t#S256'], tpp.thumbprint);

    const decision = harness.directory.decisions.at(-1)!;
    assert.equal(decision.approved, true);
    assert.equal(decision.clientId, tpp.clientId);
    assert.deepEqual(decision.authorizationDetails, [payment, accountInformation]);

    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    assert.deepEqual((await harness.tokenStore.find(refreshed.access_token))?.authorizationDetails, [
      payment,
      accountInformation,
    ]);
  });

  test('a token request narrows the granted details (§6.1) and cannot widen them', async () => {
    const { config } = await fapi2Client();
    const narrowed = await authorize(config, [payment, accountInformation]);
    const tokens = await oidc.authorizationCodeGrant(
      config,
      narrowed.callback,
      { pkceCodeVerifier: narrowed.verifier, expectedState: narrowed.state },
      { authorization_details: JSON.stringify([accountInformation]) },
    );
    assert.deepEqual(tokens.authorization_details, [accountInformation]);
    assert.deepEqual((await harness.tokenStore.find(tokens.access_token))?.authorizationDetails, [accountInformation]);

    const widened = await authorize(config, [accountInformation]);
    const more = { ...accountInformation, actions: ['list_accounts', 'read_balances', 'read_transactions'] };
    await assert.rejects(
      oidc.authorizationCodeGrant(
        config,
        widened.callback,
        { pkceCodeVerifier: widened.verifier, expectedState: widened.state },
        { authorization_details: JSON.stringify([more]) },
      ),
      oauthError('invalid_authorization_details', /was not granted/),
    );
  });

  test("a later request in the same browser session gets only its own details, not the earlier request's", async () => {
    const { config } = await fapi2Client();
    const browser = harness.browser();
    const first = await authorize(config, [payment], { browser });
    await oidc.authorizationCodeGrant(config, first.callback, {
      pkceCodeVerifier: first.verifier,
      expectedState: first.state,
    });
    // Signed in already: the consent page comes straight away.
    const second = await pushRequest(config, [accountInformation]);
    const consentPage = await browser.follow(await browser.get(second.authorizationUrl.href));
    assert.match(consentPage.body, /Access to your account information/);
    assert.doesNotMatch(consentPage.body, /Corner Shop/);
    const action = new URL(/action="([^"]+)"/.exec(consentPage.body)?.[1] ?? '', consentPage.url).href;
    const back = await browser.follow(await browser.post(action, new URLSearchParams({ decision: 'approve' })));
    assert.ok(back.location, `no redirect back to the TPP (status ${back.status})`);
    const tokens = await oidc.authorizationCodeGrant(config, new URL(back.location), {
      pkceCodeVerifier: second.verifier,
      expectedState: second.state,
    });
    assert.deepEqual(tokens.authorization_details, [accountInformation]);
  });

  test('a denied request records the refusal and returns access_denied', async () => {
    const { config } = await fapi2Client();
    const before = harness.directory.decisions.length;
    const { callback } = await authorize(config, [payment], { decision: 'deny' });
    assert.equal(callback.searchParams.get('error'), 'access_denied');
    assert.equal(harness.directory.decisions.length, before + 1);
    assert.equal(harness.directory.decisions.at(-1)?.approved, false);
  });

  describe('refused at the pushed authorization request', () => {
    const par = async (config: oidc.Configuration, extra: Record<string, string>) =>
      oidc.buildAuthorizationUrlWithPAR(config, {
        redirect_uri: REDIRECT_URI,
        scope: 'openid',
        code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
        code_challenge_method: 'S256',
        ...extra,
      });

    test('an unsupported type, an unknown member or a malformed detail is invalid_authorization_details', async () => {
      const { config } = await fapi2Client();
      const cases: Array<[unknown, RegExp]> = [
        [[{ type: 'openid_credential' }], /unsupported authorization details type/],
        [[{ ...accountInformation, maxFrequency: 4 }], /member 'maxFrequency' is not supported/],
        [[{ ...payment, instructedAmount: { currency: 'GBP', amount: '-5' } }], /instructedAmount/],
        [[accountInformation, { ...accountInformation, actions: ['initiate'] }], /authorization_details\[1\]/],
        [Array.from({ length: 11 }, () => accountInformation), /at most 10/],
        [{ type: 'account_information' }, /JSON array/],
      ];
      for (const [details, description] of cases) {
        await assert.rejects(
          par(config, { authorization_details: JSON.stringify(details) }),
          oauthError('invalid_authorization_details', description),
          JSON.stringify(details),
        );
      }
    });

    test('authorization_details together with openbanking_intent_id is invalid_request', async () => {
      const { config } = await fapi2Client();
      await assert.rejects(
        par(config, {
          authorization_details: JSON.stringify([accountInformation]),
          claims: JSON.stringify({ id_token: { openbanking_intent_id: { value: 'intent-1', essential: true } } }),
        }),
        oauthError('invalid_request', /openbanking_intent_id/),
      );
    });
  });

  test('a client registered for fewer types (authorization_details_types) cannot use the others', async () => {
    const tpp = await harness.registerTpp({
      profile: clientsV1.FapiProfile.FAPI_PROFILE_FAPI2_SECURITY,
      metadata: { authorization_details_types: ['account_information'] },
    });
    const config = await harness.relyingParty(tpp);
    await assert.rejects(
      authorize(config, [payment]),
      oauthError('invalid_authorization_details', /'payment_initiation' is not allowed for this client/),
    );
    const { callback, verifier, state } = await authorize(config, [accountInformation]);
    const tokens = await oidc.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: verifier,
      expectedState: state,
    });
    assert.deepEqual(tokens.authorization_details, [accountInformation]);
  });

  test('a client_credentials request with authorization_details is refused: no customer approved them', async () => {
    const { config } = await fapi2Client();
    await assert.rejects(
      oidc.clientCredentialsGrant(config, {
        scope: 'accounts',
        authorization_details: JSON.stringify([accountInformation]),
      }),
      oauthError('invalid_authorization_details', /client_credentials/),
    );
  });
});
