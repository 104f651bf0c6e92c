// Found by the soak on a starved machine: when dcr-service (the client registry) does not answer,
// the login page of an authorisation in progress answered 400 `temporarily_unavailable`; the
// outage is the platform's, so it is a 503 (with the same code), and the page works again once
// the registry is back (after auth-server's gRPC channel reconnects).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as oidc from 'openid-client';
import { attachServerLogsOnFailure } from '@obip/testing';
import { ACCOUNT_ACCESS_CONSENTS, authorizationUrlWithPar } from '../flows/obie';
import { intentApi, platformLogSources, startPlatform, type Platform } from '../platform/platform';

let platform: Platform | undefined;
attachServerLogsOnFailure({ sources: [platformLogSources(() => platform)] });

before(async () => {
  platform = await startPlatform({ name: 'registry_outage' });
});
after(async () => {
  await platform?.stop();
});

test('the login page answers 503 temporarily_unavailable while the client registry is down', async () => {
  const software = await platform!.directory.registerSoftware({ clientName: 'Outage TPP' });
  const { client_id: clientId } = await platform!.register(software, {
    response_types: ['code'],
    scope: 'openid accounts',
  });
  const config = await platform!.relyingParty(software, clientId);
  const { access_token: ccToken } = await oidc.clientCredentialsGrant(config, { scope: 'accounts' });
  const created = await intentApi(platform!, software, ccToken, 'POST', ACCOUNT_ACCESS_CONSENTS, {
    Data: { Permissions: ['ReadAccountsBasic'], ExpirationDateTime: '2999-01-01T00:00:00+00:00' },
    Risk: {},
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const { url } = await authorizationUrlWithPar(config, {
    redirectUri: software.redirectUris[0]!,
    scope: 'openid accounts',
    consentId: created.body!.Data.ConsentId,
  });
  const browser = platform!.browser();
  const loginPage = await browser.follow(await browser.get(url.href));
  assert.equal(loginPage.status, 200, loginPage.body.slice(0, 300));
  assert.match(loginPage.url, /\/interaction\//);

  await platform!.stopService('dcr-service', 'SIGKILL');
  const during = await browser.get(loginPage.url);
  assert.equal(during.status, 503, during.body.slice(0, 300));
  assert.equal((JSON.parse(during.body) as { error: string }).error, 'temporarily_unavailable');

  // auth-server's gRPC channel reconnects with backoff: the page recovers within seconds.
  await platform!.startService('dcr-service');
  const deadline = Date.now() + 20_000;
  let back = await browser.get(loginPage.url);
  while (back.status === 503 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    back = await browser.get(loginPage.url);
  }
  assert.equal(back.status, 200, back.body.slice(0, 300));
  assert.match(back.body, /<form[^>]*action="/);
});
