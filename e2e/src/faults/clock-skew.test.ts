// Fault: the TPP's clock is off. auth-server accepts time claims up to its clock tolerance away
// from its own clock (10 s, FAPI 2.0 SP 5.3.2.1-11: iat/nbf up to 10 s in the future; the same
// 10 s after exp) and refuses anything further with the spec's error: client assertions
// (RFC 7523, invalid_client), PAR request objects (RFC 9126/9101, invalid_request_object, and at
// most 60 minutes between nbf and exp, FAPI 2.0 MS 5.3.1), DPoP proofs (RFC 9449 §4.3 step 11:
// iat within the acceptable window — oidc-provider's is 300 s either side; beyond it the answer is
// a use_dpop_nonce challenge, §8, after which the server's nonce, not the client's clock, vouches
// for freshness).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { exportJWK, generateKeyPair, importJWK, SignJWT } from 'jose';
import { attachServerLogsOnFailure } from '@obip/testing';
import { platformLogSources, startPlatform, type Platform } from '../platform/platform';
import { clientAssertion, clientAuthFields, errorCode, postForm, registerTpp, type Outcome, type Tpp } from './faults';

const NAME = 'fault_skew';
/** auth-server's clock tolerance (provider.configuration.ts `clockTolerance`). */
const TOLERANCE_S = 10;
/**
 * How far inside the tolerance the "within" cases are: the request's own travel time on a busy
 * machine, and second rounding. Each case takes its times from the clock just before its own
 * request, so the earlier requests do not eat into it.
 */
const MARGIN_S = 5;
/** oidc-provider's DPoP iat window without a server nonce. */
const DPOP_WINDOW_S = 300;

let platform: Platform;
let tpp: Tpp;

attachServerLogsOnFailure({ sources: [platformLogSources(() => platform)] });

before(async () => {
  platform = await startPlatform({
    name: NAME,
    // Without required nonces a DPoP proof's own iat decides its freshness: the case to test.
    env: { 'auth-server': { DPOP_NONCES_REQUIRED: 'false' } },
  });
  tpp = await registerTpp(platform);
});

after(() => platform?.stop());

const now = () => Math.floor(Date.now() / 1000);

function tokenWithAssertion(assertion: string): Promise<Outcome> {
  return postForm(platform, tpp, '/token', {
    grant_type: 'client_credentials',
    scope: 'accounts',
    ...clientAuthFields(tpp, assertion),
  });
}

/** A client assertion with exactly these time claims (and no others). */
function assertionWith(times: { iat?: number; nbf?: number; exp: number }) {
  return clientAssertion(tpp, platform.issuer, { claims: { iat: undefined, nbf: undefined, ...times } });
}

describe('clock skew of the TPP', () => {
  test('client_assertion: iat/nbf/exp within the tolerance accepted, beyond refused with invalid_client', async () => {
    const cases: { name: string; times: (t: number) => { iat?: number; nbf?: number; exp: number }; status: number }[] =
      [
        {
          name: 'nbf and iat ahead within the tolerance',
          times: (t) => ({ iat: t + TOLERANCE_S - MARGIN_S, nbf: t + TOLERANCE_S - MARGIN_S, exp: t + 60 }),
          status: 200,
        },
        {
          name: 'nbf ahead beyond the tolerance',
          times: (t) => ({ iat: t + TOLERANCE_S + 20, nbf: t + TOLERANCE_S + 20, exp: t + 90 }),
          status: 401,
        },
        {
          name: 'exp passed within the tolerance',
          times: (t) => ({ iat: t - 60, exp: t - TOLERANCE_S + MARGIN_S }),
          status: 200,
        },
        {
          name: 'exp passed beyond the tolerance',
          times: (t) => ({ iat: t - 90, exp: t - TOLERANCE_S - 20 }),
          status: 401,
        },
        {
          name: 'iat ahead within the tolerance, no nbf',
          times: (t) => ({ iat: t + TOLERANCE_S - MARGIN_S, exp: t + 60 }),
          status: 200,
        },
        {
          name: 'iat ahead beyond the tolerance, no nbf',
          times: (t) => ({ iat: t + TOLERANCE_S + 20, exp: t + 90 }),
          status: 401,
        },
      ];
    for (const { name, times, status } of cases) {
      const outcome = await tokenWithAssertion(await assertionWith(times(now())));
      assert.equal(outcome.status, status, `${name}: ${JSON.stringify(outcome.body)}`);
      if (status === 200) assert.ok((outcome.body as { access_token?: string }).access_token, name);
      else assert.equal(errorCode(outcome), 'invalid_client', name);
    }
  });

  test('PAR request object: nbf/exp within the tolerance accepted, beyond refused with invalid_request_object', async () => {
    const cases: { name: string; times: (t: number) => { nbf: number; exp: number }; status: number }[] = [
      {
        name: 'nbf ahead within the tolerance',
        times: (t) => ({ nbf: t + TOLERANCE_S - MARGIN_S, exp: t + 300 }),
        status: 201,
      },
      {
        name: 'nbf ahead beyond the tolerance',
        times: (t) => ({ nbf: t + TOLERANCE_S + 20, exp: t + 300 }),
        status: 400,
      },
      {
        name: 'exp passed within the tolerance',
        times: (t) => ({ nbf: t - 120, exp: t - TOLERANCE_S + MARGIN_S }),
        status: 201,
      },
      {
        name: 'exp passed beyond the tolerance',
        times: (t) => ({ nbf: t - 120, exp: t - TOLERANCE_S - 20 }),
        status: 400,
      },
      { name: 'more than 60 minutes from nbf to exp', times: (t) => ({ nbf: t - 3_600, exp: t + 120 }), status: 400 },
    ];
    const { signingKey } = tpp.software;
    const key = await importJWK(signingKey.privateJwk as Parameters<typeof importJWK>[0], signingKey.alg);
    for (const { name, times, status } of cases) {
      const requestObject = await new SignJWT({
        client_id: tpp.clientId,
        response_type: 'code',
        redirect_uri: tpp.software.redirectUris[0],
        scope: 'openid accounts',
        state: randomUUID(),
        code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
        code_challenge_method: 'S256',
        ...times(now()),
      })
        .setProtectedHeader({ alg: signingKey.alg, kid: signingKey.kid, typ: 'oauth-authz-req+jwt' })
        .setIssuer(tpp.clientId)
        .setAudience(platform.issuer)
        .sign(key);
      const outcome = await postForm(platform, tpp, '/par', {
        request: requestObject,
        ...clientAuthFields(tpp, await clientAssertion(tpp, platform.issuer)),
      });
      assert.equal(outcome.status, status, `${name}: ${JSON.stringify(outcome.body)}`);
      if (status === 201) assert.ok((outcome.body as { request_uri?: string }).request_uri, name);
      else assert.equal(errorCode(outcome), 'invalid_request_object', name);
    }
  });

  test('DPoP proof: iat within the window accepted; beyond it a nonce challenge, then accepted with the nonce', async () => {
    const dpopTpp = await registerTpp(platform, {
      dpop_bound_access_tokens: true,
      tls_client_certificate_bound_access_tokens: false,
    });
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const jwk = await exportJWK(publicKey);
    const htu = `${platform.twin.mtlsUrl}/token`;
    const proof = (iat: number, nonce?: string) =>
      new SignJWT({ jti: randomUUID(), htm: 'POST', htu, iat, ...(nonce ? { nonce } : {}) })
        .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk })
        .sign(privateKey);
    const tokenRequest = async (iat: number, nonce?: string) =>
      postForm(
        platform,
        dpopTpp,
        '/token',
        {
          grant_type: 'client_credentials',
          scope: 'accounts',
          ...clientAuthFields(dpopTpp, await clientAssertion(dpopTpp, platform.issuer)),
        },
        { dpop: await proof(iat, nonce) },
      );
    const t = now();
    const cases = [
      { name: 'iat behind within the window', iat: t - DPOP_WINDOW_S + 30, fresh: true },
      { name: 'iat ahead within the window', iat: t + DPOP_WINDOW_S - 30, fresh: true },
      { name: 'iat behind beyond the window', iat: t - DPOP_WINDOW_S - 30, fresh: false },
      { name: 'iat ahead beyond the window', iat: t + DPOP_WINDOW_S + 30, fresh: false },
    ];
    for (const { name, iat, fresh } of cases) {
      const outcome = await tokenRequest(iat);
      if (fresh) {
        assert.equal(outcome.status, 200, `${name}: ${JSON.stringify(outcome.body)}`);
        assert.equal((outcome.body as { token_type?: string }).token_type, 'DPoP', name);
        continue;
      }
      // RFC 9449 §8: the server answers a proof it finds stale with a nonce to use instead of the
      // client's own clock; oidc-provider does so whenever nonces are configured.
      assert.equal(outcome.status, 400, `${name}: ${JSON.stringify(outcome.body)}`);
      assert.equal(errorCode(outcome), 'use_dpop_nonce', name);
      const nonce = outcome.headers['dpop-nonce'];
      assert.ok(nonce, `${name}: a DPoP-Nonce to use`);
      assert.equal((outcome.body as { access_token?: string }).access_token, undefined);
      const withNonce = await tokenRequest(iat, nonce);
      assert.equal(withNonce.status, 200, `${name}, with the nonce: ${JSON.stringify(withNonce.body)}`);
      assert.equal((withNonce.body as { token_type?: string }).token_type, 'DPoP', name);
    }
    // A proof with a made-up nonce is refused whatever its iat.
    const forged = await tokenRequest(t, 'not-a-server-nonce');
    assert.equal(forged.status, 400);
    assert.equal(errorCode(forged), 'use_dpop_nonce');
  });
});
