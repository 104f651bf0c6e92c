// The customer's part of a FAPI 2.0 authorisation in a real browser: headless Chromium (Debian's,
// driven by playwright-core) opens the authorization URL through the edge twin, logs in and
// consents on auth-server's pages, and is sent back to the TPP with a code that the TPP
// (openid-client) exchanges. Screenshots of each page are saved as test artifacts.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as oidc from 'openid-client';
import type { Browser } from 'playwright-core';
import { attachServerLogsOnFailure } from '@obip/testing';
import { platformLogSources, startPlatform, type Platform } from '../platform/platform';
import { launchChromium, screenshotsDir } from '../platform/chromium';

const artifacts = screenshotsDir();

let platform: Platform;
let browser: Browser;

attachServerLogsOnFailure({
  sources: [platformLogSources(() => platform)],
});

before(async () => {
  platform = await startPlatform({ name: 'browser', startLate: [] });
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await platform?.stop();
});

describe('a customer in a real browser', () => {
  test('logs in and consents on the real pages, and the TPP gets tokens for the chosen accounts', async () => {
    const software = await platform.directory.registerSoftware({ roles: ['AISP'] });
    const { client_id: clientId } = await platform.register(software, { response_types: ['code'] });
    const tpp = await platform.relyingParty(software, clientId);
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const redirectUri = software.redirectUris[0]!;
    const authorizationUrl = await oidc.buildAuthorizationUrlWithPAR(tpp, {
      redirect_uri: redirectUri,
      scope: 'openid accounts',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
    });

    // The sandbox CA is not in Chromium's store; the TPP's callback host does not exist, so the
    // browser's arrival there is caught and answered locally.
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const page = await context.newPage();
    let callback: URL | undefined;
    await page.route(`${new URL(redirectUri).origin}/**`, async (route) => {
      callback = new URL(route.request().url());
      await route.fulfill({ status: 200, contentType: 'text/html', body: '<h1>Back at the TPP</h1>' });
    });

    await page.goto(authorizationUrl.href);
    await page.screenshot({ path: join(artifacts, 'login.png'), fullPage: true });
    await page.fill('input[name="username"]', 'amelia.hart');
    await page.fill('input[name="password"]', 'Sandbox-Amelia-1');
    await page.press('input[name="password"]', 'Enter');
    await page.waitForSelector('input[name="accounts"]');
    await page.screenshot({ path: join(artifacts, 'consent.png'), fullPage: true });
    const offered = await page.locator('input[name="accounts"]').count();
    assert.ok(offered >= 1, 'the consent page offers the customer accounts');
    await page.locator('input[name="accounts"]').first().check();
    await page.locator('button[name="decision"][value="approve"]').click();
    await page.waitForURL(`${new URL(redirectUri).origin}/**`);
    await page.screenshot({ path: join(artifacts, 'back-at-tpp.png') });
    await context.close();

    assert.ok(callback, 'the browser came back to the TPP');
    const tokens = await oidc.authorizationCodeGrant(tpp, callback, {
      pkceCodeVerifier: verifier,
      expectedState: state,
    });
    assert.ok(tokens.access_token);
    assert.ok(tokens.claims()?.sub);
  });
});
