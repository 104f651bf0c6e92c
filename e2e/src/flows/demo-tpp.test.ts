// The sandbox's demo TPP ("Financroo") driven by a person in headless Chromium, against every
// service real: the app enrols at the mock directory and registers itself through the edge (OBIE
// DCR), connects the customer's bank (account-access consent, FAPI 2.0 PAR + PKCE, login and
// consent on auth-server's pages), reads accounts and balances from the demo bank API with a
// certificate-bound token, and makes a payment the customer authorises. Screenshots of each page
// are saved as test artifacts.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { Agent, fetch as undiciFetch } from 'undici';
import { consentsV1 } from '@obip/contracts';
import { createGrpcClient, type GrpcClient } from '@obip/grpc';
import { attachServerLogsOnFailure } from '@obip/testing';
import { launchChromium, screenshotsDir } from '../platform/chromium';
import { platformLogSources, BANK, startPlatform, type Platform } from '../platform/platform';
import { startBankApi } from '../sandbox/bank-api';
import { startDirectoryApp, type DirectoryApp } from '../sandbox/directory-app';
import { startTppApp, type TppApp } from '../sandbox/tpp-app';

const CUSTOMER = { username: 'amelia.hart', password: 'Sandbox-Amelia-1' };
/** Amelia's current account (sandbox-customers.json), the one she shares and pays from. */
const EVERYDAY = 'acc-22289-current';
const artifacts = screenshotsDir();

let platform: Platform;
let directoryApp: DirectoryApp;
let bank: Awaited<ReturnType<typeof startBankApi>>;
let tpp: TppApp;
let browser: Browser;
let consents: GrpcClient<typeof consentsV1.ConsentsService>;

/** The bank's request log (one JSON line per request, never a token), shown when a test fails. */
const bankLog: string[] = [];

attachServerLogsOnFailure({
  sources: [platformLogSources(() => platform), { name: 'bank-api', logs: () => bankLog.join('\n') }],
});

before(async () => {
  platform = await startPlatform({ name: 'demo_tpp', startLate: [] });
  directoryApp = await startDirectoryApp({ pki: platform.pki, directory: platform.directory });
  bank = await startBankApi({
    pki: platform.pki,
    introspectionTarget: platform.grpcAddress('token-introspection'),
    consentsTarget: platform.grpcAddress('consent-service'),
    log: (line) => bankLog.push(line),
  });
  tpp = await startTppApp({
    pki: platform.pki,
    caPem: platform.pki.caBundlePem,
    directoryUrl: directoryApp.url,
    issuer: platform.issuer,
    registrationEndpoint: `${platform.twin.mtlsUrl}/register`,
    registrationAudience: BANK,
    bankApiUrl: bank.url,
  });
  consents = createGrpcClient(consentsV1.ConsentsClient, {
    target: platform.grpcAddress('consent-service'),
    defaultDeadlineMs: 10_000,
  });
  browser = await launchChromium();
});
after(async () => {
  consents?.close();
  await browser?.close();
  await tpp?.stop();
  await bank?.stop();
  await directoryApp?.stop();
  await platform?.stop();
});

/** Signs in when the bank asks (its session may still be open), then waits for the consent page. */
async function signInIfAsked(page: Page, screenshot?: string): Promise<void> {
  await page.waitForSelector('input[name="username"], input[name="accounts"]');
  if ((await page.locator('input[name="username"]').count()) > 0) {
    if (screenshot) await page.screenshot({ path: join(artifacts, screenshot), fullPage: true });
    await page.fill('input[name="username"]', CUSTOMER.username);
    await page.fill('input[name="password"]', CUSTOMER.password);
    await page.press('input[name="password"]', 'Enter');
    await page.waitForSelector('input[name="accounts"]');
  }
}

/** The accounts table as the person sees it: account id and the balance shown. */
async function accountRows(page: Page): Promise<Array<{ accountId: string; amount: string; currency: string }>> {
  return page.locator('#accounts tbody tr').evaluateAll((rows) =>
    rows.map((row) => {
      const balance = row.querySelector('.balance');
      return {
        accountId: row.getAttribute('data-account-id') ?? '',
        amount: balance?.getAttribute('data-amount') ?? '',
        currency: balance?.getAttribute('data-currency') ?? '',
      };
    }),
  );
}

/** Money as integer pence, so that the balance check is exact. */
const pence = (amount: string) => Math.round(Number(amount) * 100);

describe('the demo TPP in a real browser', () => {
  test('registered itself at the bank through the edge', () => {
    assert.match(tpp.clientId, /.+/);
    assert.match(tpp.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  });

  test('fails to start, with the bank’s DCR error, when its registration names another bank', async () => {
    await assert.rejects(
      startTppApp({
        pki: platform.pki,
        caPem: platform.pki.caBundlePem,
        directoryUrl: directoryApp.url,
        issuer: platform.issuer,
        registrationEndpoint: `${platform.twin.mtlsUrl}/register`,
        registrationAudience: 'another-bank',
        bankApiUrl: bank.url,
      }),
      (error: Error & { status?: number; code?: string }) => {
        assert.equal(error.status, 400);
        assert.equal(error.code, 'invalid_client_metadata');
        assert.ok(error.message.includes('invalid_client_metadata'), 'the message names the DCR error');
        return true;
      },
    );
  });

  test('a customer connects their bank, sees the shared account with its balance, and pays 12.34 from it', async () => {
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const page = await context.newPage();
    try {
      // Home → "Connect your bank" → the bank's sign-in page (PAR, the intent as a claim).
      await page.goto(tpp.url);
      assert.equal(await page.locator('header strong').textContent(), 'Financroo — demo TPP');
      await page.screenshot({ path: join(artifacts, 'demo-tpp-home.png'), fullPage: true });
      const session = (await context.cookies(tpp.url)).find((cookie) => cookie.name === '__Host-financroo');
      assert.ok(session, 'a session cookie');
      assert.equal(session.httpOnly, true);
      assert.equal(session.secure, true);
      assert.equal(session.sameSite, 'Lax');

      await page.getByRole('button', { name: 'Connect your bank' }).click();
      await page.waitForURL(`${platform.issuer}/**`);
      await signInIfAsked(page, 'demo-tpp-login.png');
      await page.screenshot({ path: join(artifacts, 'demo-tpp-consent.png'), fullPage: true });
      const offered = await page
        .locator('input[name="accounts"]')
        .evaluateAll((inputs) => inputs.map((input) => input.getAttribute('value') ?? ''));
      assert.ok(offered.includes(EVERYDAY), `the consent page offers ${EVERYDAY}: ${offered.join(', ')}`);
      assert.ok(offered.length >= 2, 'and her other account, which she does not share');
      await page.locator(`input[name="accounts"][value="${EVERYDAY}"]`).check();
      await page.locator('button[name="decision"][value="approve"]').click();

      // Back at the TPP: only the account she chose, with its balance from the bank.
      await page.waitForURL(`${tpp.url}/accounts`);
      await page.screenshot({ path: join(artifacts, 'demo-tpp-accounts.png'), fullPage: true });
      const before = await accountRows(page);
      assert.deepEqual(
        before.map((row) => row.accountId),
        [EVERYDAY],
      );
      assert.match(before[0]!.amount, /^-?\d+\.\d{2,5}$/, 'a balance is shown');
      assert.equal(before[0]!.currency, 'GBP');
      const accountConsentId = (await page.locator('#accounts-consent-id').textContent())!.trim();
      const { consent: accountConsent } = await consents.call('getConsent', { consentId: accountConsentId });
      assert.equal(accountConsent!.status, consentsV1.ConsentStatus.CONSENT_STATUS_AUTHORISED);
      assert.deepEqual(accountConsent!.accountIds, [EVERYDAY]);
      const html = await page.content();
      assert.equal(/access_token|refresh_token|Bearer/i.test(html), false, 'no token on the page');

      // A mistyped amount is caught by the TPP before anything reaches the bank.
      await page.fill('#payment-form input[name="amount"]', '12.3');
      await page.click('#pay');
      await page.waitForSelector('#amount-problem');
      assert.equal(await page.inputValue('#payment-form input[name="amount"]'), '12.3');

      // A payment of 12.34: payment consent → PAR → the bank's consent page → the payment.
      await page.fill('#payment-form input[name="amount"]', '12.34');
      assert.equal(await page.inputValue('#payment-form input[name="creditor_name"]'), 'Corner Shop Ltd');
      assert.equal(await page.inputValue('#payment-form input[name="creditor_account"]'), '40400412345678');
      await page.fill('#payment-form input[name="reference"]', 'Invoice 42');
      await page.click('#pay');
      await page.waitForURL(`${platform.issuer}/**`);
      await signInIfAsked(page);
      await page.screenshot({ path: join(artifacts, 'demo-tpp-payment-consent.png'), fullPage: true });
      await page.locator(`input[name="accounts"][value="${EVERYDAY}"]`).check();
      await page.locator('button[name="decision"][value="approve"]').click();

      await page.waitForURL(`${tpp.url}/payments/**`);
      await page.screenshot({ path: join(artifacts, 'demo-tpp-payment.png'), fullPage: true });
      assert.equal((await page.locator('#payment-status').textContent())?.trim(), 'AcceptedSettlementCompleted');
      assert.equal((await page.locator('#payment-amount').textContent())?.trim(), '12.34 GBP');
      assert.match((await page.locator('#payment-payee').textContent()) ?? '', /Corner Shop Ltd/);
      const paymentId = decodeURIComponent(new URL(page.url()).pathname.split('/').pop()!);
      assert.equal((await page.locator('#payment-id').textContent())?.trim(), paymentId);

      // The payment used its consent up, for the debtor account she chose.
      const paymentConsentId = (await page.locator('#payment-consent-id').textContent())!.trim();
      const { consent: paymentConsent } = await consents.call('getConsent', { consentId: paymentConsentId });
      assert.equal(paymentConsent!.status, consentsV1.ConsentStatus.CONSENT_STATUS_CONSUMED);
      assert.equal(paymentConsent!.kind, consentsV1.ConsentKind.CONSENT_KIND_DOMESTIC_PAYMENT);
      assert.deepEqual(paymentConsent!.accountIds, [EVERYDAY]);

      // And the balance she sees has gone down by exactly 12.34.
      await page.goto(`${tpp.url}/accounts`);
      const afterPayment = await accountRows(page);
      assert.equal(pence(afterPayment[0]!.amount), pence(before[0]!.amount) - 1234);

      // She withdraws the account access at her bank: the TPP is told, and offers to connect again.
      await consents.call('revokeConsent', {
        consentId: accountConsentId,
        actor: `customer:${accountConsent!.subject}`,
        reason: 'demo: withdrawn by the customer',
      });
      const deadline = Date.now() + 10_000;
      let reconnect = false;
      while (!reconnect && Date.now() < deadline) {
        await page.goto(`${tpp.url}/accounts`);
        reconnect = (await page.locator('#reconnect-needed').count()) > 0;
        if (!reconnect) await new Promise((resolve) => setTimeout(resolve, 200));
      }
      assert.ok(reconnect, 'the accounts page says the access was withdrawn');
      assert.equal(await page.getByRole('button', { name: 'Connect again' }).count(), 1);
    } finally {
      await context.close();
    }
  });

  test('a customer who refuses at the bank lands on a friendly page naming access_denied', async () => {
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const page = await context.newPage();
    try {
      await page.goto(tpp.url);
      await page.getByRole('button', { name: 'Connect your bank' }).click();
      await page.waitForURL(`${platform.issuer}/**`);
      await signInIfAsked(page);
      const answer = page.waitForResponse((response) => response.url().startsWith(`${tpp.url}/callback`));
      await page.locator('button[name="decision"][value="deny"]').click();
      const callback = await answer;
      assert.equal(callback.status(), 400);
      await page.waitForSelector('#authorisation-error');
      assert.equal((await page.locator('#authorisation-error').textContent())?.trim(), 'access_denied');
      assert.equal(await page.locator('h1').textContent(), 'You did not allow access');
      assert.equal(await page.locator('header strong').textContent(), 'Financroo — demo TPP');
      assert.equal(await page.getByRole('button', { name: 'Connect your bank' }).count(), 1, 'she can try again');
    } finally {
      await context.close();
    }
  });

  test('answers unknown pages 404, wrong methods 405, forms without a session 403 and a stray callback 400', async () => {
    const agent = new Agent({ connect: { ca: platform.pki.caBundlePem } });
    try {
      const call = (path: string, init: { method?: string; body?: string } = {}) =>
        undiciFetch(`${tpp.url}${path}`, {
          ...init,
          headers: init.body ? { 'content-type': 'application/x-www-form-urlencoded' } : {},
          dispatcher: agent,
          redirect: 'manual',
        });
      assert.equal((await call('/nothing')).status, 404);
      const wrongMethod = await call('/connect');
      assert.equal(wrongMethod.status, 405);
      assert.equal(wrongMethod.headers.get('allow'), 'POST');
      assert.equal((await call('/', { method: 'POST', body: 'a=b' })).status, 405);
      assert.equal((await call('/connect', { method: 'POST', body: 'csrf=forged' })).status, 403);
      assert.equal((await call('/callback?code=x&state=y')).status, 400);
      assert.equal((await call('/payments/unknown')).status, 404);
      const home = await call('/');
      assert.match(home.headers.get('content-security-policy') ?? '', /default-src 'none'/);
      assert.match(await home.text(), /Financroo — demo TPP/);
    } finally {
      await agent.close();
    }
  });
});
