// FAPI-CIBA through the nginx ingress twin, driven by openid-client v6 as the TPP. consent-service
// (the authentication device) is the harness's ConsentDirectory double; the customer's decision
// arrives over auth-server's real gRPC Tokens/CompleteAuthentication, as consent-service sends it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt, importJWK, SignJWT } from 'jose';
import * as oidc from 'openid-client';
import { clientsV1 } from '@obip/contracts';
import { createMetrics } from '@obip/observability';
import { attachServerLogsOnFailure, generateSigningKey } from '@obip/testing';
import { CUSTOMER, startHarness, type Harness, type TestTpp } from '../testing/auth-server.harness';
import { CIBA_GRANT_TYPE } from './ciba.feature';

const POLL_INTERVAL_SECONDS = 1;
const SCA = 'urn:openbanking:psd2:sca';

/** The OAuth `error` of a failed openid-client call (ResponseBodyError). */
const oauthError = (code: string) => (error: unknown) => {
  assert.equal((error as { error?: string }).error, code, String((error as Error).message));
  return true;
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Notification {
  authorization: string | undefined;
  body: unknown;
}

/** The TPP's client notification endpoint: a real HTTPS server with a certificate of the test CA. */
async function startNotificationReceiver(
  harness: Harness,
  answer: () => number,
): Promise<{ url: string; received: Notification[]; close(): Promise<void> }> {
  const certificate = await harness.pki.issueServerCertificate({ hostnames: ['127.0.0.1'] });
  const received: Notification[] = [];
  const server: Server = createServer({ cert: certificate.chainPem, key: certificate.keyPem }, (req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      received.push({ authorization: req.headers.authorization, body: JSON.parse(body || 'null') });
      res.statusCode = answer();
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}/cb`,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** obip_ciba_pings_total by outcome. */
async function pingCounts(metrics: ReturnType<typeof createMetrics>): Promise<Record<string, number>> {
  const metric = (await metrics.registry.getMetricsAsJSON()).find(({ name }) => name === 'obip_ciba_pings_total');
  return Object.fromEntries((metric?.values ?? []).map(({ labels, value }) => [String(labels.outcome), value]));
}

describe('FAPI-CIBA through the ingress twin, driven by openid-client', () => {
  let harness: Harness;
  let caDir: string;
  const metrics = createMetrics({ service: 'auth-server-test' });
  attachServerLogsOnFailure({ sources: [{ name: 'ingress twin', logs: () => harness?.twin.logs() ?? '' }] });

  before(async () => {
    caDir = mkdtempSync(join(tmpdir(), 'obip-ciba-ca-'));
    harness = await startHarness({
      metrics,
      env: ({ pki }) => {
        const caFile = join(caDir, 'ca.pem');
        writeFileSync(caFile, pki.caBundlePem);
        return {
          CIBA_POLL_INTERVAL_SECONDS: String(POLL_INTERVAL_SECONDS),
          CIBA_PING_ALLOW_PRIVATE: 'true',
          CIBA_PING_CA_FILE: caFile,
          CIBA_PING_TIMEOUT_MS: '2000',
        };
      },
    });
  });
  after(async () => {
    await harness?.close();
    rmSync(caDir, { recursive: true, force: true });
  });

  async function registerCibaTpp(
    options: { mode?: 'poll' | 'ping'; endpoint?: string; metadata?: Record<string, unknown> } = {},
  ): Promise<TestTpp> {
    const mode = options.mode ?? 'poll';
    return harness.registerTpp({
      profile: clientsV1.FapiProfile.FAPI_PROFILE_FAPI1_ADVANCED,
      metadata: {
        grant_types: ['authorization_code', 'refresh_token', CIBA_GRANT_TYPE],
        backchannel_token_delivery_mode: mode,
        backchannel_authentication_request_signing_alg: 'PS256',
        ...(options.endpoint ? { backchannel_client_notification_endpoint: options.endpoint } : {}),
        ...options.metadata,
      },
    });
  }

  /** A signed authentication request (CIBA Core §7.1.1) with FAPI-CIBA's claims; `claims` override. */
  async function signedRequest(
    tpp: TestTpp,
    claims: Record<string, unknown> = {},
    options: { alg?: string; audience?: string; key?: TestTpp['signingKey'] } = {},
  ): Promise<string> {
    const key = options.key ?? tpp.signingKey;
    const now = Math.floor(Date.now() / 1000);
    const payload = {
      iss: tpp.clientId,
      aud: options.audience ?? harness.issuer,
      iat: now,
      nbf: now,
      exp: now + 300,
      jti: randomUUID(),
      scope: 'openid accounts',
      login_hint: CUSTOMER.username,
      binding_message: 'Code 4711',
      ...claims,
    };
    const defined = Object.fromEntries(Object.entries(payload).filter(([, value]) => value !== undefined));
    const alg = options.alg ?? key.alg;
    return new SignJWT(defined)
      .setProtectedHeader({ alg, kid: key.kid })
      .sign(await importJWK(key.privateJwk, alg === 'RS256' ? 'RS256' : key.alg));
  }

  async function initiate(tpp: TestTpp, parameters: Record<string, string>) {
    return oidc.initiateBackchannelAuthentication(await harness.relyingParty(tpp), parameters);
  }

  /** The request consent-service was handed for `authReqId`'s initiation (the newest). */
  function lastDeviceRequest() {
    const request = harness.directory.authentications.at(-1);
    assert.ok(request, 'consent-service was handed the request');
    return request;
  }

  async function decide(authenticationId: string, approved: boolean, consentId = `consent-${randomUUID()}`) {
    await harness.tokens.call('completeAuthentication', {
      authenticationId,
      subject: CUSTOMER.customerId,
      approved,
      consentId: approved ? consentId : '',
      openbankingIntentId: '',
      acr: approved ? SCA : '',
      amr: approved ? ['pwd'] : [],
      authenticatedAt: Math.floor(Date.now() / 1000),
    });
    return consentId;
  }

  /** One token request for `authReqId`, without openid-client's waiting (to see each answer). */
  async function pollOnce(tpp: TestTpp, authReqId: string) {
    return oidc.genericGrantRequest(await harness.relyingParty(tpp), CIBA_GRANT_TYPE, { auth_req_id: authReqId });
  }

  test('discovery advertises /bc-authorize on the mTLS host, poll and ping, and signed requests', async () => {
    const tpp = await registerCibaTpp();
    const metadata = (await harness.relyingParty(tpp)).serverMetadata();
    assert.equal(metadata.backchannel_authentication_endpoint, `${harness.mtlsBaseUrl}/bc-authorize`);
    assert.equal(
      metadata.mtls_endpoint_aliases?.backchannel_authentication_endpoint,
      `${harness.mtlsBaseUrl}/bc-authorize`,
    );
    assert.deepEqual([...(metadata.backchannel_token_delivery_modes_supported ?? [])].sort(), ['ping', 'poll']);
    assert.equal(metadata.backchannel_user_code_parameter_supported, false);
    assert.ok(metadata.grant_types_supported?.includes(CIBA_GRANT_TYPE));
    const algs = metadata.backchannel_authentication_request_signing_alg_values_supported ?? [];
    assert.ok(algs.includes('PS256') && algs.includes('ES256') && !algs.includes('RS256'), String(algs));
  });

  test('poll mode: pending until the customer approves, then certificate-bound tokens linked to the consent', async () => {
    const tpp = await registerCibaTpp();
    const started = await initiate(tpp, { request: await signedRequest(tpp, { acr_values: SCA }) });
    assert.match(started.auth_req_id, /^[\w-]{40,}$/);
    assert.equal(started.interval, POLL_INTERVAL_SECONDS);
    assert.ok(started.expires_in > 0 && started.expires_in <= 300, String(started.expires_in));

    const device = lastDeviceRequest();
    assert.equal(device.clientId, tpp.clientId);
    assert.equal(device.clientName, `TPP ${tpp.clientId}`);
    assert.equal(device.customerId, CUSTOMER.customerId);
    assert.equal(device.scope, 'openid accounts');
    assert.equal(device.bindingMessage, 'Code 4711');
    assert.notEqual(device.authenticationId, started.auth_req_id);
    assert.ok(Math.abs(device.expiresAt - (Math.floor(Date.now() / 1000) + started.expires_in)) <= 2);

    await sleep(POLL_INTERVAL_SECONDS * 1000);
    await assert.rejects(pollOnce(tpp, started.auth_req_id), oauthError('authorization_pending'));

    const consentId = await decide(device.authenticationId, true);
    const tokens = await oidc.pollBackchannelAuthenticationGrant(await harness.relyingParty(tpp), started);
    const idToken = decodeJwt(String(tokens.id_token));
    assert.equal(idToken.sub, CUSTOMER.customerId);
    assert.equal(idToken.acr, SCA);
    assert.ok(tokens.refresh_token, 'a refresh token for the CIBA grant');
    const record = await harness.tokenStore.find(tokens.access_token);
    assert.ok(record);
    assert.equal(record.grantType, CIBA_GRANT_TYPE);
    assert.equal(record.subject, CUSTOMER.customerId);
    assert.equal(record.consentId, consentId);
    assert.equal(record.cnf?.['x5t#S256'], tpp.thumbprint);

    // The auth_req_id works once.
    await assert.rejects(pollOnce(tpp, started.auth_req_id), oauthError('invalid_grant'));
  });

  test('a decision delivered twice is applied once; the opposite decision afterwards is refused', async () => {
    const tpp = await registerCibaTpp();
    const started = await initiate(tpp, { request: await signedRequest(tpp) });
    const { authenticationId } = lastDeviceRequest();
    const consentId = await decide(authenticationId, true);
    await decide(authenticationId, true, consentId);
    await assert.rejects(decide(authenticationId, false), /another decision was already delivered/);
    const tokens = await oidc.pollBackchannelAuthenticationGrant(await harness.relyingParty(tpp), started);
    assert.equal((await harness.tokenStore.find(tokens.access_token))?.consentId, consentId);
  });

  test('denial: the next poll is access_denied', async () => {
    const tpp = await registerCibaTpp();
    const started = await initiate(tpp, { request: await signedRequest(tpp) });
    await decide(lastDeviceRequest().authenticationId, false);
    await assert.rejects(
      oidc.pollBackchannelAuthenticationGrant(await harness.relyingParty(tpp), started),
      oauthError('access_denied'),
    );
  });

  test('expiry: once requested_expiry has passed the poll is expired_token, and a late decision is NOT_FOUND', async () => {
    const tpp = await registerCibaTpp();
    const started = await initiate(tpp, { request: await signedRequest(tpp, { requested_expiry: 1 }) });
    assert.equal(started.expires_in, 1);
    await sleep(2_000);
    await assert.rejects(pollOnce(tpp, started.auth_req_id), oauthError('expired_token'));
    await assert.rejects(decide(lastDeviceRequest().authenticationId, true), /expired/);
  });

  test('a requested_expiry above the maximum is shortened to it', async () => {
    const tpp = await registerCibaTpp();
    const started = await initiate(tpp, { request: await signedRequest(tpp, { requested_expiry: 86_400 }) });
    assert.equal(started.expires_in, 600);
  });

  test('polling faster than the interval is slow_down', async () => {
    const tpp = await registerCibaTpp();
    // Discovery done before the clock matters: on busy CI cores a poll that also fetched it took
    // longer than the interval, and the "too fast" poll came late enough to be on time.
    const relyingParty = await harness.relyingParty(tpp);
    const poll = () => oidc.genericGrantRequest(relyingParty, CIBA_GRANT_TYPE, { auth_req_id: started.auth_req_id });
    const started = await initiate(tpp, { request: await signedRequest(tpp) });
    // Before the first interval has passed, then twice within one interval.
    await assert.rejects(poll(), oauthError('slow_down'));
    await sleep(POLL_INTERVAL_SECONDS * 1000);
    await assert.rejects(poll(), oauthError('authorization_pending'));
    await assert.rejects(poll(), oauthError('slow_down'));
  });

  test('another client cannot redeem an auth_req_id, and its attempts do not count as polls', async () => {
    const owner = await registerCibaTpp();
    const stranger = await registerCibaTpp();
    const started = await initiate(owner, { request: await signedRequest(owner) });
    await decide(lastDeviceRequest().authenticationId, true);
    await sleep(POLL_INTERVAL_SECONDS * 1000);
    await assert.rejects(pollOnce(stranger, started.auth_req_id), oauthError('invalid_grant'));
    const tokens = await pollOnce(owner, started.auth_req_id);
    assert.equal(decodeJwt(String(tokens.id_token)).sub, CUSTOMER.customerId);
  });

  test('ping mode: the notification endpoint gets the auth_req_id with the client_notification_token, then the tokens', async () => {
    const receiver = await startNotificationReceiver(harness, () => 204);
    try {
      const tpp = await registerCibaTpp({ mode: 'ping', endpoint: receiver.url });
      const notificationToken = `ping-${randomUUID()}`;
      const started = await initiate(tpp, {
        request: await signedRequest(tpp, { client_notification_token: notificationToken }),
      });
      await decide(lastDeviceRequest().authenticationId, true);
      for (let waited = 0; receiver.received.length === 0 && waited < 10_000; waited += 50) await sleep(50);
      assert.deepEqual(receiver.received, [
        { authorization: `Bearer ${notificationToken}`, body: { auth_req_id: started.auth_req_id } },
      ]);
      const tokens = await pollOnce(tpp, started.auth_req_id);
      assert.equal(decodeJwt(String(tokens.id_token)).sub, CUSTOMER.customerId);
    } finally {
      await receiver.close();
    }
  });

  test('ping mode: a 5xx is retried, a 401 is not, and both are counted', async () => {
    const before = await pingCounts(metrics);
    const answers = [503, 204];
    const flaky = await startNotificationReceiver(harness, () => answers.shift() ?? 500);
    const refusing = await startNotificationReceiver(harness, () => 401);
    try {
      for (const [receiver, expected] of [
        [flaky, 2],
        [refusing, 1],
      ] as const) {
        const tpp = await registerCibaTpp({ mode: 'ping', endpoint: receiver.url });
        await initiate(tpp, { request: await signedRequest(tpp, { client_notification_token: 'token-1' }) });
        await decide(lastDeviceRequest().authenticationId, true);
        for (let waited = 0; receiver.received.length < expected && waited < 10_000; waited += 50) await sleep(50);
        // Long enough for a retry that should not happen (backoff 500 ms).
        await sleep(1_500);
        assert.equal(receiver.received.length, expected, receiver.url);
      }
      const after = await pingCounts(metrics);
      assert.equal((after.delivered ?? 0) - (before.delivered ?? 0), 1);
      assert.equal((after.refused ?? 0) - (before.refused ?? 0), 1);
    } finally {
      await flaky.close();
      await refusing.close();
    }
  });

  describe('refused authentication requests', () => {
    test('an unsigned request, even from a client that registered no signing alg: invalid_request', async () => {
      const tpp = await registerCibaTpp({ metadata: { backchannel_authentication_request_signing_alg: undefined } });
      await assert.rejects(
        initiate(tpp, { scope: 'openid accounts', login_hint: CUSTOMER.username, binding_message: 'Code 1' }),
        oauthError('invalid_request'),
      );
    });

    test('RS256, a foreign audience, another client’s key: invalid_request', async () => {
      const tpp = await registerCibaTpp({ metadata: { backchannel_authentication_request_signing_alg: undefined } });
      const foreignKey = await generateSigningKey('PS256');
      for (const request of [
        await signedRequest(tpp, {}, { alg: 'RS256' }),
        await signedRequest(tpp, {}, { audience: 'https://other-bank.example' }),
        await signedRequest(tpp, {}, { key: foreignKey }),
        await signedRequest(tpp, { exp: Math.floor(Date.now() / 1000) + 7200 }),
        await signedRequest(tpp, { jti: undefined }),
      ]) {
        await assert.rejects(initiate(tpp, { request }), oauthError('invalid_request'));
      }
    });

    test('no hint, two hints, login_hint_token: invalid_request; an unknown customer: unknown_user_id', async () => {
      const tpp = await registerCibaTpp();
      await assert.rejects(
        initiate(tpp, { request: await signedRequest(tpp, { login_hint: undefined }) }),
        oauthError('invalid_request'),
      );
      await assert.rejects(
        initiate(tpp, { request: await signedRequest(tpp, { id_token_hint: 'a.b.c' }) }),
        oauthError('invalid_request'),
      );
      await assert.rejects(
        initiate(tpp, { request: await signedRequest(tpp, { login_hint: undefined, login_hint_token: 'x.y.z' }) }),
        oauthError('invalid_request'),
      );
      await assert.rejects(
        initiate(tpp, { request: await signedRequest(tpp, { login_hint: 'nobody-here' }) }),
        oauthError('unknown_user_id'),
      );
    });

    test('an overlong, a missing or a marked-up binding_message: invalid_binding_message', async () => {
      const tpp = await registerCibaTpp();
      for (const bindingMessage of ['x'.repeat(65), undefined, '<b>Pay</b>', ' padded']) {
        await assert.rejects(
          initiate(tpp, { request: await signedRequest(tpp, { binding_message: bindingMessage }) }),
          oauthError('invalid_binding_message'),
        );
      }
    });

    test('push mode is not offered: a push client is refused', async () => {
      const tpp = await registerCibaTpp({
        mode: 'ping',
        metadata: {
          backchannel_token_delivery_mode: 'push',
          backchannel_client_notification_endpoint: 'https://tpp.example/cb',
        },
      });
      await assert.rejects(initiate(tpp, { request: await signedRequest(tpp) }), oauthError('invalid_client_metadata'));
    });

    test('nothing refused reaches the authentication device', async () => {
      const before = harness.directory.authentications.length;
      const tpp = await registerCibaTpp();
      await assert.rejects(initiate(tpp, { request: await signedRequest(tpp, { binding_message: '<x>' }) }));
      await assert.rejects(initiate(tpp, { request: await signedRequest(tpp, { login_hint: 'nobody-here' }) }));
      assert.equal(harness.directory.authentications.length, before);
    });
  });
});
