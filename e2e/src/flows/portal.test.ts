// The customer portal end to end (issue 5), every service real and every call through the edge
// twin: a TPP (openid-client) creates an account-access intent and has the customer authorise it
// (FAPI 2.0 PAR + PKCE, certificate-bound tokens); the customer then signs in to the portal in
// headless Chromium (consent-service is a first-party client of auth-server: no consent page),
// sees the consent with the TPP's name and logo, revokes it after a confirmation step and sees it
// Revoked. The TPP's access token is then inactive at token-introspection and auth-server refuses
// its refresh token. Screenshots of each page are saved as test artifacts.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as oidc from 'openid-client';
import type { Browser } from 'playwright-core';
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
import { launchChromium, screenshotsDir } from '../platform/chromium';

const artifacts = screenshotsDir();
const CUSTOMER = { username: 'amelia.hart', password: 'Sandbox-Amelia-1' };
const LOGO = 'https://tpp.example.com/logo.svg';
const LOGO_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40"><rect width="40" height="40" rx="6" fill="#2a6f97"/><text x="20" y="27" font-size="18" text-anchor="middle" fill="#fff" font-family="sans-serif">BB</text></svg>';

let platform: Platform;
let gateway: oidc.Configuration;
let browser: Browser;

attachServerLogsOnFailure({
  sources: [platformLogSources(() => platform)],
});

before(async () => {
  ({ platform, gateway } = await startPlatformWithGateway({
    name: 'portal',
  }));
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await platform?.stop();
});

describe('the customer portal in a real browser', () => {
  test('intent → authorisation → tokens → revoke in the portal → introspection active:false and the refresh token refused', async (t) => {
    // 1. A TPP has the customer authorise an account-access intent (as in uk-intent.test.ts).
    const software = await platform.directory.registerSoftware({ roles: ['AISP'], clientName: 'Budget Buddy' });
    const { client_id: clientId } = await platform.register(software, { response_types: ['code'], logo_uri: LOGO });
    const tpp = await platform.relyingParty(software, clientId);
    const { access_token: ccToken } = await oidc.clientCredentialsGrant(tpp, { scope: 'accounts' });
    const created = await intentApi(platform, software, ccToken, 'POST', ACCOUNT_ACCESS_CONSENTS, {
      Data: { Permissions: ['ReadAccountsDetail', 'ReadBalances'], ExpirationDateTime: '2999-01-01T00:00:00+00:00' },
      Risk: {},
    });
    assert.equal(created.status, 201);
    const consentId = created.body!.Data.ConsentId;
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
    assert.ok(tokens.refresh_token);
    assert.equal((await oidc.tokenIntrospection(gateway, tokens.access_token)).active, true);

    // 2. The customer signs in to the portal: auth-server's login page, then straight back (first-party).
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const page = await context.newPage();
    const blockedByCsp: string[] = [];
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) blockedByCsp.push(message.text());
    });
    // The TPP's logo host does not exist here: the browser's request for it is answered locally.
    let logoRequested = false;
    await page.route(`${new URL(LOGO).origin}/**`, async (route) => {
      logoRequested = true;
      await route.fulfill({ status: 200, contentType: 'image/svg+xml', body: LOGO_SVG });
    });
    const portalUrl = `${platform.twin.publicUrl}/portal`;
    await page.goto(portalUrl);
    await page.waitForSelector('input[name="username"]');
    assert.match(await page.locator('main').innerText(), /Sign in to continue to/);
    await page.screenshot({ path: join(artifacts, 'portal-1-sign-in.png'), fullPage: true });
    await page.fill('input[name="username"]', CUSTOMER.username);
    await page.fill('input[name="password"]', CUSTOMER.password);
    await page.press('input[name="password"]', 'Enter');
    await page.waitForURL(portalUrl);

    // 3. The consent, with the TPP's name and logo, permissions, accounts and status.
    const article = page.locator(`article[aria-labelledby="consent-${consentId}"]`);
    await article.waitFor();
    const shown = await article.innerText();
    assert.match(shown, /Budget Buddy/);
    assert.match(shown, /Authorised/);
    assert.match(shown, /Read accounts detail/);
    assert.match(shown, /Everyday ••5927/);
    assert.equal(await article.locator('img').getAttribute('src'), LOGO);
    // The logo loaded (the page's CSP names its origin): a string expression, as e2e has no DOM types.
    await page.waitForFunction(
      `document.querySelector('article[aria-labelledby="consent-${consentId}"] img')?.naturalWidth > 0`,
    );
    assert.ok(logoRequested, 'the browser, not the portal, fetched the logo');
    await page.screenshot({ path: join(artifacts, 'portal-2-consents.png'), fullPage: true });

    // 4. Revoke, with a confirmation step.
    await article.getByRole('link', { name: /Revoke access/ }).click();
    await page.waitForSelector('button.danger');
    assert.match(await page.locator('h1').innerText(), /Stop Budget Buddy’s access\?/);
    await page.screenshot({ path: join(artifacts, 'portal-3-confirm-revoke.png'), fullPage: true });
    await page.getByRole('button', { name: 'Yes, revoke access' }).click();
    await page.waitForURL(portalUrl);
    assert.match(await page.locator('[role="status"]').innerText(), /You revoked Budget Buddy’s access/);
    const after = await page.locator(`article[aria-labelledby="consent-${consentId}"]`).innerText();
    assert.match(after, /Status: Revoked/);
    await page.locator(`article[aria-labelledby="consent-${consentId}"] summary`).click();
    assert.match(
      await page.locator(`article[aria-labelledby="consent-${consentId}"] details`).innerText(),
      /Authorised → Revoked, by You \(revoked by the customer in the portal\)/,
    );
    await page.screenshot({ path: join(artifacts, 'portal-4-revoked.png'), fullPage: true });

    // 5. Sign out.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${portalUrl}/signed-out`);
    await page.screenshot({ path: join(artifacts, 'portal-5-signed-out.png'), fullPage: true });
    await context.close();
    assert.deepEqual(blockedByCsp, [], 'the pages need nothing their CSP forbids');

    // 6. The TPP sees the revocation; its tokens are dead at introspection and at auth-server.
    assert.equal(
      (await intentApi(platform, software, ccToken, 'GET', `${ACCOUNT_ACCESS_CONSENTS}/${consentId}`)).body!.Data
        .Status,
      'Revoked',
    );
    const revokedAt = Date.now();
    let inactive = false;
    while (!inactive && Date.now() - revokedAt < 5_000) {
      inactive = !(await oidc.tokenIntrospection(gateway, tokens.access_token)).active;
      if (!inactive) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.ok(inactive, 'the access token is inactive at introspection');
    assert.deepEqual(await oidc.tokenIntrospection(gateway, tokens.access_token), { active: false });
    assert.deepEqual(await oidc.tokenIntrospection(gateway, tokens.refresh_token!), { active: false });

    // consent-service's outbox reaches auth-server, which revokes the grant: refresh refused.
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
    t.diagnostic(`screenshots in ${artifacts}`);
  });
});
