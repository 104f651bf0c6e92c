// Cookie key rotation without a restart (issue 4): COOKIE_KEYS_FILE rewritten while customers are
// in the middle of login and consent, through the ingress twin.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import * as oidc from 'openid-client';
import { clientsV1 } from '@obip/contracts';
import { createLogger } from '@obip/observability';
import { attachServerLogsOnFailure } from '@obip/testing';
import { CUSTOMER, REDIRECT_URI, startHarness, type Browser, type Harness } from '../testing/auth-server.harness';

const RELOAD_MS = 100;
const newKey = () => randomBytes(32).toString('base64url');

describe('cookie keys reloaded from COOKIE_KEYS_FILE', () => {
  let harness: Harness;
  const dir = mkdtempSync(join(tmpdir(), 'obip-auth-cookies-'));
  const file = join(dir, 'cookie-keys');
  const logs: Array<Record<string, unknown>> = [];
  const keyA = newKey();
  const keyB = newKey();
  attachServerLogsOnFailure({ sources: [{ name: 'ingress twin', logs: () => harness?.twin.logs() ?? '' }] });

  /** Replaces the file in one step, as a Kubernetes Secret volume swaps its `..data` link. */
  function writeKeys(content: string): void {
    writeFileSync(`${file}.tmp`, content);
    renameSync(`${file}.tmp`, file);
  }

  const reloads = () => logs.filter((line) => line.msg === 'cookie keys reloaded from COOKIE_KEYS_FILE').length;

  async function waitForReload(count: number): Promise<void> {
    const until = Date.now() + 10_000;
    while (reloads() < count) {
      if (Date.now() > until) assert.fail(`timed out waiting for cookie key reload ${count}`);
      await sleep(25);
    }
  }

  before(async () => {
    writeKeys(keyA);
    harness = await startHarness({
      env: { COOKIE_KEYS_FILE: file, SIGNING_KEYS_RELOAD_MS: String(RELOAD_MS) },
      logger: createLogger(
        { service: 'auth-server-test', level: 'info' },
        { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) },
      ),
    });
  });
  after(async () => {
    await harness?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A customer at the login page of a fresh FAPI 2.0 request: the interaction cookie is set. */
  async function atLoginPage(config: oidc.Configuration) {
    const verifier = oidc.randomPKCECodeVerifier();
    const authorizationUrl = await oidc.buildAuthorizationUrlWithPAR(config, {
      redirect_uri: REDIRECT_URI,
      scope: 'openid accounts',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    const browser = harness.browser();
    const page = await browser.follow(await browser.get(authorizationUrl.href));
    assert.match(page.body, /name="username"/);
    return { browser, page, verifier };
  }

  /** Logs in and approves; resolves with where the browser was sent in the end. */
  async function finish(browser: Browser, page: { body: string; url: string }) {
    const loginAction = new URL(/action="([^"]+)"/.exec(page.body)?.[1] ?? '', page.url).href;
    const consent = await browser.follow(
      await browser.post(
        loginAction,
        new URLSearchParams({ username: CUSTOMER.username, password: CUSTOMER.password }),
      ),
    );
    const consentAction = /action="([^"]+)"/.exec(consent.body)?.[1];
    if (!consentAction) return { status: consent.status, body: consent.body };
    const back = await browser.follow(
      await browser.post(new URL(consentAction, consent.url).href, new URLSearchParams({ decision: 'approve' })),
    );
    return { status: back.status, location: back.location };
  }

  test('a new first key signs while the old one still verifies in-flight logins; removing it ends them', async () => {
    const tpp = await harness.registerTpp({ profile: clientsV1.FapiProfile.FAPI_PROFILE_FAPI2_SECURITY });
    const config = await harness.relyingParty(tpp);
    const startedUnderA = await atLoginPage(config);
    const abandonedUnderA = await atLoginPage(config);

    writeKeys(`${keyB}\n${keyA}\n`);
    await waitForReload(1);
    const finishedUnderBoth = await finish(startedUnderA.browser, startedUnderA.page);
    assert.ok(
      finishedUnderBoth.location?.startsWith(REDIRECT_URI) &&
        new URL(finishedUnderBoth.location).searchParams.has('code'),
      `a login begun under the old key completes after rotation: ${JSON.stringify(finishedUnderBoth)}`,
    );
    const startedUnderB = await atLoginPage(config);

    writeKeys(keyB);
    await waitForReload(2);
    const finishedUnderB = await finish(startedUnderB.browser, startedUnderB.page);
    assert.ok(
      new URL(finishedUnderB.location ?? 'about:blank').searchParams.has('code'),
      `a login begun under the new key completes once the old key is gone: ${JSON.stringify(finishedUnderB)}`,
    );
    const refused = await finish(abandonedUnderA.browser, abandonedUnderA.page);
    assert.equal(refused.status, 400, 'a cookie signed only with the removed key is no longer accepted');
    assert.equal(refused.location, undefined);
  });

  test('a file with a short key is refused, logged without the keys, and the keys in force stay', async () => {
    const warnings = () => logs.filter((line) => line.level === 40 || line.level === 'warn');
    const before = warnings().length;
    writeKeys(`too-short,${keyB}`);
    const until = Date.now() + 10_000;
    while (warnings().length === before) {
      if (Date.now() > until) assert.fail('no warning about the refused file');
      await sleep(25);
    }
    assert.match(String(warnings().at(-1)?.msg), /each key must be at least 32 characters; keeping the cookie keys/);
    assert.ok(!JSON.stringify(logs).includes(keyB) && !JSON.stringify(logs).includes(keyA), 'keys never logged');
    const tpp = await harness.registerTpp({ profile: clientsV1.FapiProfile.FAPI_PROFILE_FAPI2_SECURITY });
    const { browser, page } = await atLoginPage(await harness.relyingParty(tpp));
    const finished = await finish(browser, page);
    assert.ok(new URL(finished.location ?? 'about:blank').searchParams.has('code'), JSON.stringify(finished));
  });
});
