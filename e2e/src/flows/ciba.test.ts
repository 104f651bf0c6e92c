// FAPI-CIBA end to end, every service real and every TPP call through the edge twin, with
// openid-client as the TPP: the TPP registers for CIBA through DCR, creates an OBIE intent, starts
// a decoupled authentication at /bc-authorize naming the intent, the customer approves or denies
// on their authentication device (consent-service, here through its sandbox device API), and the
// TPP gets certificate-bound tokens by polling, or after a ping to its notification endpoint.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { importJWK, SignJWT } from 'jose';
import * as oidc from 'openid-client';
import { attachServerLogsOnFailure, type TestSoftware } from '@obip/testing';
import { platformLogSources, intentApi, startPlatform, type Platform } from '../platform/platform';
import { ACCOUNT_ACCESS_CONSENTS } from './obie';

const CIBA_GRANT = 'urn:openid:params:grant-type:ciba';
const CUSTOMER = 'amelia.hart';
const POLL_INTERVAL_SECONDS = 1;

let platform: Platform;

attachServerLogsOnFailure({
  sources: [platformLogSources(() => platform)],
});

before(async () => {
  platform = await startPlatform({
    name: 'ciba',
    env: {
      'auth-server': { CIBA_POLL_INTERVAL_SECONDS: String(POLL_INTERVAL_SECONDS) },
      'consent-service': { SANDBOX_DEVICE_API: 'true' },
    },
  });
});
after(() => platform?.stop());

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface PendingAuthentication {
  authentication_id: string;
  client_id: string;
  client_name: string;
  binding_message: string;
  scope: string;
  openbanking_intent_id: string;
}

/** The customer's device: consent-service's sandbox device API (its HTTP port, never the edge's). */
const device = {
  base: () => `http://127.0.0.1:${platform.service('consent-service').ports.http}/sandbox/decoupled-authentications`,
  async pending(username: string): Promise<PendingAuthentication[]> {
    const response = await fetch(`${device.base()}?username=${encodeURIComponent(username)}`);
    assert.equal(response.status, 200, await response.clone().text());
    return ((await response.json()) as { authentications: PendingAuthentication[] }).authentications;
  },
  /** Waits until the request carrying `bindingMessage` is shown to the customer. */
  async waitFor(username: string, bindingMessage: string): Promise<PendingAuthentication> {
    for (let waited = 0; waited < 10_000; waited += 100) {
      const found = (await device.pending(username)).find((entry) => entry.binding_message === bindingMessage);
      if (found) return found;
      await sleep(100);
    }
    assert.fail(`no pending request with binding message ${bindingMessage}`);
  },
  async decide(username: string, authenticationId: string, decision: 'approve' | 'deny') {
    const response = await fetch(`${device.base()}/${authenticationId}/decision`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, decision }),
    });
    assert.equal(response.status, 200, await response.clone().text());
    return (await response.json()) as { status: string; consent_id: string };
  },
};

interface CibaTpp {
  software: TestSoftware;
  clientId: string;
  config: oidc.Configuration;
}

async function registerCibaTpp(mode: 'poll' | 'ping', notificationEndpoint?: string): Promise<CibaTpp> {
  const software = await platform.directory.registerSoftware({ roles: ['AISP'] });
  const { client_id: clientId } = await platform.register(software, {
    grant_types: ['client_credentials', 'authorization_code', 'refresh_token', CIBA_GRANT],
    response_types: ['code'],
    backchannel_token_delivery_mode: mode,
    backchannel_authentication_request_signing_alg: software.signingKey.alg,
    ...(notificationEndpoint ? { backchannel_client_notification_endpoint: notificationEndpoint } : {}),
  });
  return { software, clientId, config: await platform.relyingParty(software, clientId) };
}

/** An account-access intent of the TPP, awaiting authorisation. */
async function createIntent(tpp: CibaTpp): Promise<{ consentId: string; ccToken: string }> {
  const { access_token: ccToken } = await oidc.clientCredentialsGrant(tpp.config, { scope: 'accounts' });
  const created = await intentApi(platform, tpp.software, ccToken, 'POST', ACCOUNT_ACCESS_CONSENTS, {
    Data: { Permissions: ['ReadAccountsDetail', 'ReadBalances'], ExpirationDateTime: '2999-01-01T00:00:00+00:00' },
    Risk: {},
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  return { consentId: created.body!.Data.ConsentId, ccToken };
}

/** A signed CIBA authentication request naming the intent (CIBA Core §7.1.1, FAPI-CIBA claims). */
async function bcAuthorize(
  tpp: CibaTpp,
  consentId: string,
  bindingMessage: string,
  extra: Record<string, unknown> = {},
) {
  const key = tpp.software.signingKey;
  const now = Math.floor(Date.now() / 1000);
  const request = await new SignJWT({
    scope: 'openid accounts',
    login_hint: CUSTOMER,
    binding_message: bindingMessage,
    acr_values: 'urn:openbanking:psd2:sca',
    claims: { id_token: { openbanking_intent_id: { value: consentId, essential: true } } },
    ...extra,
  })
    .setProtectedHeader({ alg: key.alg, kid: key.kid })
    .setIssuer(tpp.clientId)
    .setAudience(platform.issuer)
    .setIssuedAt(now)
    .setNotBefore(now)
    .setExpirationTime(now + 300)
    .setJti(randomUUID())
    .sign(await importJWK(key.privateJwk, key.alg));
  return oidc.initiateBackchannelAuthentication(tpp.config, { request });
}

describe('FAPI-CIBA with consent-service as the authentication device', () => {
  test('poll: the customer sees the TPP and binding message, approves, and the TPP gets bound tokens for the intent', async () => {
    const tpp = await registerCibaTpp('poll');
    const { consentId, ccToken } = await createIntent(tpp);
    const bindingMessage = `Ref ${randomUUID().slice(0, 8)}`;
    const started = await bcAuthorize(tpp, consentId, bindingMessage);
    assert.equal(started.interval, POLL_INTERVAL_SECONDS);

    const shown = await device.waitFor(CUSTOMER, bindingMessage);
    assert.equal(shown.client_id, tpp.clientId);
    assert.equal(shown.openbanking_intent_id, consentId);
    assert.equal(shown.scope, 'openid accounts');
    assert.equal(JSON.stringify(shown).includes(started.auth_req_id), false, 'the device never sees auth_req_id');

    await sleep(POLL_INTERVAL_SECONDS * 1000);
    await assert.rejects(
      oidc.genericGrantRequest(tpp.config, CIBA_GRANT, { auth_req_id: started.auth_req_id }),
      (error: unknown) => (error as { error?: string }).error === 'authorization_pending',
    );

    const decided = await device.decide(CUSTOMER, shown.authentication_id, 'approve');
    assert.equal(decided.status, 'approved');
    assert.equal(decided.consent_id, consentId);

    const tokens = await oidc.pollBackchannelAuthenticationGrant(tpp.config, started);
    assert.equal(tokens.claims()?.openbanking_intent_id, consentId, 'the ID token echoes the intent');
    assert.equal(tokens.claims()?.acr, 'urn:openbanking:psd2:sca');
    assert.ok(tokens.refresh_token);
    const authorised = await intentApi(
      platform,
      tpp.software,
      ccToken,
      'GET',
      `${ACCOUNT_ACCESS_CONSENTS}/${consentId}`,
    );
    assert.equal(authorised.body!.Data.Status, 'Authorised');
    assert.ok((await device.pending(CUSTOMER)).every((entry) => entry.authentication_id !== shown.authentication_id));
  });

  test('ping: the TPP’s HTTPS notification endpoint is told, then the tokens are ready', async () => {
    const certificate = await platform.pki.issueServerCertificate({ hostnames: ['127.0.0.1'] });
    const pings: Array<{ authorization?: string; body: unknown }> = [];
    const receiver: Server = createServer({ cert: certificate.chainPem, key: certificate.keyPem }, (req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      req.on('end', () => {
        pings.push({ authorization: req.headers.authorization, body: JSON.parse(body) });
        res.statusCode = 204;
        res.end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    try {
      const endpoint = `https://127.0.0.1:${(receiver.address() as AddressInfo).port}/ciba`;
      const tpp = await registerCibaTpp('ping', endpoint);
      const { consentId } = await createIntent(tpp);
      const bindingMessage = `Ping ${randomUUID().slice(0, 8)}`;
      const notificationToken = randomUUID();
      const started = await bcAuthorize(tpp, consentId, bindingMessage, {
        client_notification_token: notificationToken,
      });
      const shown = await device.waitFor(CUSTOMER, bindingMessage);
      await device.decide(CUSTOMER, shown.authentication_id, 'approve');
      for (let waited = 0; pings.length === 0 && waited < 15_000; waited += 100) await sleep(100);
      assert.deepEqual(pings, [
        { authorization: `Bearer ${notificationToken}`, body: { auth_req_id: started.auth_req_id } },
      ]);
      const tokens = await oidc.genericGrantRequest(tpp.config, CIBA_GRANT, { auth_req_id: started.auth_req_id });
      assert.equal(tokens.claims()?.openbanking_intent_id, consentId);
    } finally {
      await new Promise<void>((resolve) => receiver.close(() => resolve()));
    }
  });

  test('denial on the device: the poll is access_denied and the intent is rejected', async () => {
    const tpp = await registerCibaTpp('poll');
    const { consentId, ccToken } = await createIntent(tpp);
    const bindingMessage = `Deny ${randomUUID().slice(0, 8)}`;
    const started = await bcAuthorize(tpp, consentId, bindingMessage);
    const shown = await device.waitFor(CUSTOMER, bindingMessage);
    assert.equal((await device.decide(CUSTOMER, shown.authentication_id, 'deny')).status, 'denied');
    await assert.rejects(
      oidc.pollBackchannelAuthenticationGrant(tpp.config, started),
      (error: unknown) => (error as { error?: string }).error === 'access_denied',
    );
    const rejected = await intentApi(platform, tpp.software, ccToken, 'GET', `${ACCOUNT_ACCESS_CONSENTS}/${consentId}`);
    assert.equal(rejected.body!.Data.Status, 'Rejected');
  });

  test('refused at /bc-authorize: another TPP’s intent, an unknown customer', async () => {
    const owner = await registerCibaTpp('poll');
    const stranger = await registerCibaTpp('poll');
    const { consentId } = await createIntent(owner);
    await assert.rejects(
      bcAuthorize(stranger, consentId, 'Foreign 1'),
      (error: unknown) => (error as { error?: string }).error === 'invalid_request',
    );
    await assert.rejects(
      bcAuthorize(owner, consentId, 'Unknown 1', { login_hint: 'nobody.here' }),
      (error: unknown) => (error as { error?: string }).error === 'unknown_user_id',
    );
    assert.ok((await device.pending(CUSTOMER)).every((entry) => !entry.binding_message.endsWith(' 1')));
  });
});
