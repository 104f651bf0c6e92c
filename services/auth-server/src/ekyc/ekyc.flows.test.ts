// OpenID Connect for Identity Assurance through the ingress twin, with openid-client v6 as the
// TPP: verified_claims requested in the claims parameter, shown on the consent page, released
// only when the customer agrees and only as requested.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { clientsV1 } from '@obip/contracts';
import { attachServerLogsOnFailure } from '@obip/testing';
import { CUSTOMER, REDIRECT_URI, startHarness, type Harness } from '../testing/auth-server.harness';

const oauthError = (code: string, description?: RegExp) => (error: unknown) => {
  const { error: actual, error_description: detail } = error as { error?: string; error_description?: string };
  return actual === code && (description === undefined || description.test(String(detail)));
};

const nameAndBirthdate = {
  verification: { trust_framework: { value: 'uk_tfida' } },
  claims: { given_name: null, family_name: null, birthdate: null },
};

describe('verified_claims (OpenID Connect for Identity Assurance) through the ingress twin', () => {
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

  async function push(config: oidc.Configuration, claims: unknown) {
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const authorizationUrl = await oidc.buildAuthorizationUrlWithPAR(config, {
      redirect_uri: REDIRECT_URI,
      scope: 'openid accounts',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      claims: JSON.stringify(claims),
    });
    return { authorizationUrl, verifier, state };
  }

  /** PAR, login, consent (sharing identity or not) and the code exchange. */
  async function authorize(config: oidc.Configuration, claims: unknown, share: boolean) {
    const { authorizationUrl, verifier, state } = await push(config, claims);
    const browser = harness.browser();
    const login = await browser.follow(await browser.get(authorizationUrl.href));
    const consent = await browser.follow(
      await browser.post(
        new URL(/action="([^"]+)"/.exec(login.body)?.[1] ?? '', login.url).href,
        new URLSearchParams({ username: CUSTOMER.username, password: CUSTOMER.password }),
      ),
    );
    const form = new URLSearchParams([
      ['accounts', 'acc-1'],
      ['decision', 'approve'],
    ]);
    if (share) form.append('verified_claims', 'share');
    const back = await browser.follow(
      await browser.post(new URL(/action="([^"]+)"/.exec(consent.body)?.[1] ?? '', consent.url).href, form),
    );
    assert.ok(back.location, `no redirect back to the TPP (status ${back.status})`);
    const tokens = await oidc.authorizationCodeGrant(config, new URL(back.location), {
      pkceCodeVerifier: verifier,
      expectedState: state,
    });
    return { tokens, consentPage: consent.body };
  }

  test('discovery advertises verified_claims, trust frameworks, evidence, documents and claims', async () => {
    const { config } = await fapi2Client();
    const metadata = config.serverMetadata() as Record<string, unknown>;
    assert.equal(metadata.verified_claims_supported, true);
    assert.deepEqual(metadata.trust_frameworks_supported, ['uk_tfida', 'eidas']);
    assert.deepEqual(metadata.evidence_supported, ['document', 'electronic_record']);
    assert.deepEqual(metadata.documents_supported, ['passport', 'driving_permit', 'idcard']);
    assert.ok((metadata.claims_in_verified_claims_supported as string[]).includes('birthdate'));
    assert.ok((metadata.claims_supported as string[]).includes('verified_claims'));
  });

  test('verified name and birthdate under uk_tfida come back exactly, with their verification, once shared', async () => {
    const { tpp, config } = await fapi2Client();
    const { tokens, consentPage } = await authorize(config, { id_token: { verified_claims: nameAndBirthdate } }, true);
    assert.match(
      consentPage,
      /given name, family name, date of birth — checked under uk_tfida on 2025-06-03 from your passport/,
    );
    assert.match(consentPage, /name="verified_claims" value="share"/);
    assert.deepEqual(tokens.claims()?.verified_claims, {
      verification: { trust_framework: 'uk_tfida' },
      claims: { given_name: 'Alice', family_name: 'Example', birthdate: '1990-05-12' },
    });

    const decision = harness.directory.decisions.at(-1)!;
    assert.equal(decision.clientId, tpp.clientId);
    assert.deepEqual(decision.identityRelease, [
      { trustFramework: 'uk_tfida', claims: ['given_name', 'family_name', 'birthdate'] },
    ]);
    // Introspection learns that identity data was released, never its values.
    const record = await harness.tokenStore.find(tokens.access_token);
    assert.deepEqual(record?.identityRelease, decision.identityRelease);
    assert.ok(!JSON.stringify(record).includes('1990-05-12'));
  });

  test('userinfo answers its own request, with the verification members and evidence asked for', async () => {
    const { config } = await fapi2Client();
    const request = {
      verification: {
        trust_framework: null,
        time: { max_age: 10 * 365 * 86_400 },
        evidence: [{ type: { value: 'document' } }],
      },
      claims: { address: null },
    };
    const { tokens } = await authorize(config, { userinfo: { verified_claims: request } }, true);
    assert.equal(tokens.claims()?.verified_claims, undefined, 'asked for userinfo only');
    const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, CUSTOMER.customerId);
    const answer = userinfo.verified_claims as { verification: Record<string, unknown>; claims: unknown };
    assert.equal(answer.verification.trust_framework, 'uk_tfida', 'the eidas check is older than max_age');
    assert.equal(answer.verification.time, '2025-06-03T09:41:00Z');
    assert.equal((answer.verification.evidence as Array<{ type: string }>)[0]?.type, 'document');
    assert.equal(answer.verification.assurance_level, undefined, 'not asked for');
    assert.deepEqual(answer.claims, {
      address: { locality: 'Leeds', postal_code: 'LS1 4AP', country: 'United Kingdom' },
    });
  });

  test('a max_age the verification is older than yields no verified_claims', async () => {
    const { config } = await fapi2Client();
    const request = {
      verification: { trust_framework: { value: 'uk_tfida' }, time: { max_age: 3600 } },
      claims: { given_name: null },
    };
    const { tokens, consentPage } = await authorize(config, { id_token: { verified_claims: request } }, true);
    assert.match(consentPage, /does not hold for you; none will be shared/);
    assert.equal(tokens.claims()?.verified_claims, undefined);
    assert.equal(harness.directory.decisions.at(-1)?.identityRelease, undefined);
  });

  test('an unknown trust framework yields no verified_claims', async () => {
    const { config } = await fapi2Client();
    const request = { verification: { trust_framework: { value: 'de_aml' } }, claims: { given_name: null } };
    const { tokens } = await authorize(config, { id_token: { verified_claims: request } }, true);
    assert.equal(tokens.claims()?.verified_claims, undefined);
  });

  test('a customer who does not tick "share" releases nothing, in the ID token or at userinfo', async () => {
    const { config } = await fapi2Client();
    const claims = { id_token: { verified_claims: nameAndBirthdate }, userinfo: { verified_claims: nameAndBirthdate } };
    const { tokens } = await authorize(config, claims, false);
    assert.equal(tokens.claims()?.verified_claims, undefined);
    const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, CUSTOMER.customerId);
    assert.equal(userinfo.verified_claims, undefined);
    assert.equal(harness.directory.decisions.at(-1)?.identityRelease, undefined);
    assert.equal((await harness.tokenStore.find(tokens.access_token))?.identityRelease, undefined);
  });

  test('malformed verified_claims requests are refused with invalid_request at the pushed request', async () => {
    const { config } = await fapi2Client();
    const cases: Array<[unknown, RegExp]> = [
      [{ claims: { given_name: null } }, /verification is required/],
      [{ verification: {}, claims: { given_name: null } }, /trust_framework is required/],
      [{ verification: { trust_framework: null } }, /claims is required/],
      [{ verification: { trust_framework: null }, claims: {} }, /claims is required/],
      [
        { verification: { trust_framework: 'uk_tfida' }, claims: { given_name: null } },
        /trust_framework must be null or an object/,
      ],
      [{ verification: { trust_framework: null, time: { max_age: -1 } }, claims: { given_name: null } }, /max_age/],
      [
        { verification: { trust_framework: null, colour: null }, claims: { given_name: null } },
        /colour is not allowed/,
      ],
      [{ verification: { trust_framework: null }, claims: { given_name: { purpose: 'x' } } }, /purpose/],
      [[], /1 to 5 requests/],
      ['all of it', /must be an object/],
    ];
    for (const [verifiedClaims, description] of cases) {
      await assert.rejects(
        push(config, { id_token: { verified_claims: verifiedClaims } }),
        oauthError('invalid_request', description),
        JSON.stringify(verifiedClaims),
      );
    }
  });
});
