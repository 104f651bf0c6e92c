// The customer portal over HTTP: the router as main.ts mounts it, on the real consent service,
// MongoDB-compatible server and Redis (sessions), through test-fixtures/portal-fixture.ts.
// Customers are signed in by creating their session in Redis and signing its cookie as the
// router does; the sign-in flow itself runs against the real auth-server in
// e2e/src/flows/portal.test.ts, and here against a stand-in of the PortalSignIn port only for
// the router's own part (transaction cookie, single use).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { attachServerLogsOnFailure } from '@obip/testing';
import type { Consent } from '../consents/consents.model';
import { startConsentFixture, type ConsentFixture } from '../test-fixtures/consent-fixture';
import { PORTAL_COOKIE, startPortalFixture, type PortalFixture } from '../test-fixtures/portal-fixture';
import type { TppDescription } from './portal.http';
import type { PortalSignIn, SignInTransaction } from './portal.oidc';

// Sandbox customers (customers/sandbox-customers.json).
const AMELIA = 'cust-7f3a9c1e-amelia';
const AMELIA_CURRENT = 'acc-22289-current';
const RAHUL = 'cust-0b81d4a2-rahul';
const RAHUL_CURRENT = 'acc-31754-current';
const COOKIE = PORTAL_COOKIE;

const TPPS: Record<string, TppDescription> = {
  'tpp-budget': { name: 'Budget <b>Buddy</b>', logoUri: 'https://logos.budget.example/logo.png' },
  'tpp-plain': { name: 'Plain Payments', logoUri: 'javascript:alert(1)' },
};

describe('the customer portal over HTTP', () => {
  let fixture: ConsentFixture;
  let portalFixture: PortalFixture;
  let portal: string;
  const completed: SignInTransaction[] = [];

  /** A stand-in of the PortalSignIn port: auth-server's part is e2e's. */
  const signIn: PortalSignIn = {
    async begin() {
      return {
        authorizationUrl: 'https://as.bank.example/authorize?client_id=portal&request_uri=urn%3Aexample',
        transaction: { state: 's-1', nonce: 'n-1', codeVerifier: 'v-1', clientId: 'portal' },
      };
    },
    async complete(callback, transaction) {
      completed.push(transaction);
      assert.equal(callback.get('code'), 'the-code');
      return { subject: AMELIA };
    },
  };

  before(async () => {
    fixture = await startConsentFixture('portal');
    portalFixture = await startPortalFixture(fixture, { tpps: TPPS, signIn });
    portal = portalFixture.origin;
  });
  after(async () => {
    await portalFixture?.close();
    await fixture?.close();
  });
  attachServerLogsOnFailure();

  const signedIn = (subject: string) => portalFixture.signedIn(subject);
  const request = (...args: Parameters<PortalFixture['request']>) => portalFixture.request(...args);

  /** An Authorised account-access consent of `subject`, given to `clientId`. */
  async function authorisedConsent(subject = AMELIA, clientId = 'tpp-budget'): Promise<Consent> {
    const consent = await fixture.consents.createAccountAccessConsent({
      clientId,
      permissions: ['ReadAccountsDetail', 'ReadBalances'],
      request: { Permissions: ['ReadAccountsDetail', 'ReadBalances'] },
      risk: {},
      expiresAt: undefined,
    });
    return fixture.consents.authorise({
      consentId: consent.id,
      subject,
      accountIds: [subject === AMELIA ? AMELIA_CURRENT : RAHUL_CURRENT],
      actor: 'auth-server',
    });
  }

  const revokeForm = (csrfToken: string) => ({ csrf_token: csrfToken });

  test('an unauthenticated visit is sent to sign in', async () => {
    for (const path of ['/portal', '/portal/consents/aac-x/revoke']) {
      const reply = await request(path);
      assert.equal(reply.status, 303, path);
      assert.equal(reply.headers.get('location'), '/portal/login');
    }
  });

  test('a cookie the portal did not sign is ignored', async () => {
    const { cookie } = await signedIn(AMELIA);
    const forged = `${cookie.slice(0, -3)}xyz`;
    const reply = await request('/portal', { cookie: forged });
    assert.equal(reply.status, 303);
    assert.equal(reply.headers.get('location'), '/portal/login');
  });

  test('lists the customer’s own consents with the TPP’s name (escaped) and logo, under a strict CSP', async () => {
    const mine = await authorisedConsent(AMELIA, 'tpp-budget');
    const theirs = await authorisedConsent(RAHUL, 'tpp-plain');
    const { cookie } = await signedIn(AMELIA);
    const reply = await request('/portal', { cookie });
    assert.equal(reply.status, 200);
    assert.match(reply.headers.get('content-type') ?? '', /^text\/html/);
    assert.equal(
      reply.headers.get('content-security-policy'),
      "default-src 'none'; style-src 'self'; img-src https://logos.budget.example; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
    assert.equal(reply.headers.get('cache-control'), 'no-store');
    assert.equal(reply.headers.get('referrer-policy'), 'same-origin', 'form posts carry their origin');
    assert.ok(reply.body.includes(mine.id), 'shows the customer’s consent');
    assert.ok(!reply.body.includes(theirs.id), 'never shows another customer’s consent');
    assert.ok(reply.body.includes('Budget &lt;b&gt;Buddy&lt;/b&gt;'), 'the TPP name is escaped');
    assert.ok(!reply.body.includes('<b>Buddy'), 'no markup from the TPP reaches the page');
    assert.ok(reply.body.includes('src="https://logos.budget.example/logo.png"'));
    assert.match(reply.body, /Read accounts detail/);
    assert.match(reply.body, /Everyday ••5927/);
    assert.match(reply.body, /Authorised/);
    assert.ok(!/<script/i.test(reply.body), 'no script at all');
  });

  test('a consent shows the verified identity the customer shared, by name and trust framework, escaped', async () => {
    const consent = await fixture.consents.createAccountAccessConsent({
      clientId: 'tpp-budget',
      permissions: ['ReadAccountsBasic'],
      request: { Permissions: ['ReadAccountsBasic'] },
      risk: {},
      expiresAt: undefined,
    });
    await fixture.consents.authorise({
      consentId: consent.id,
      subject: AMELIA,
      accountIds: [AMELIA_CURRENT],
      actor: 'auth-server',
      identityRelease: [
        { trust_framework: 'uk_tfida', claims: ['given_name', 'family_name', 'birthdate'] },
        { trust_framework: 'x<b>y</b>', claims: ['place_of_birth', 'tax_id_code'] },
      ],
    });
    const plain = await authorisedConsent(AMELIA, 'tpp-budget');
    const { cookie } = await signedIn(AMELIA);
    const reply = await request('/portal', { cookie });
    assert.equal(reply.status, 200);
    const article = (id: string) => {
      const start = reply.body.indexOf(`id="consent-${id}"`);
      return reply.body.slice(start, reply.body.indexOf('</article>', start));
    };
    assert.match(
      article(consent.id),
      /<dt>Verified identity shared<\/dt><dd><ul><li>given name, family name, date of birth — checked under uk_tfida<\/li>/,
    );
    assert.ok(article(consent.id).includes('place of birth, tax id code — checked under x&lt;b&gt;y&lt;/b&gt;'));
    assert.ok(!reply.body.includes('<b>y'), 'no markup from the release reaches the page');
    assert.match(article(consent.id), /verified identity released: given_name, family_name, birthdate \(uk_tfida\)/);
    assert.doesNotMatch(article(plain.id), /Verified identity shared/, 'nothing shown when nothing was shared');
  });

  test('a logo that is not an https URL is not shown', async () => {
    const consent = await authorisedConsent(RAHUL, 'tpp-plain');
    const { cookie } = await signedIn(RAHUL);
    const reply = await request('/portal', { cookie });
    assert.ok(reply.body.includes(consent.id));
    assert.ok(!reply.body.includes('javascript:'), 'the unsafe logo URI never reaches the page');
    assert.doesNotMatch(reply.headers.get('content-security-policy') ?? '', /img-src/);
  });

  test('the confirmation page carries the session’s token; revoking needs it and the portal’s origin', async () => {
    const consent = await authorisedConsent();
    const { cookie, csrfToken } = await signedIn(AMELIA);
    const confirm = await request(`/portal/consents/${consent.id}/revoke`, { cookie });
    assert.equal(confirm.status, 200);
    assert.ok(confirm.body.includes(`name="csrf_token" value="${csrfToken}"`));
    assert.match(confirm.body, /Yes, revoke access/);

    const refusals: Array<[string, Parameters<typeof request>[1]]> = [
      ['no token', { cookie, form: {} }],
      ['a wrong token', { cookie, form: revokeForm('x'.repeat(csrfToken.length)) }],
      ['another session’s token', { cookie, form: revokeForm((await signedIn(AMELIA)).csrfToken) }],
      ['another origin', { cookie, form: revokeForm(csrfToken), headers: { origin: 'https://attacker.example' } }],
      ['an opaque origin', { cookie, form: revokeForm(csrfToken), headers: { origin: 'null' } }],
      ['no session', { form: revokeForm(csrfToken) }],
    ];
    for (const [why, options] of refusals) {
      const reply = await request(`/portal/consents/${consent.id}/revoke`, options);
      assert.equal(reply.status, 403, why);
      assert.match(reply.headers.get('content-security-policy') ?? '', /default-src 'none'/);
      assert.equal((await fixture.consents.get(consent.id)).status, 'Authorised', `nothing revoked with ${why}`);
    }
  });

  test('another customer’s consent is not found, to see or to revoke, and stays as it is', async () => {
    const theirs = await authorisedConsent(RAHUL);
    const { cookie, csrfToken } = await signedIn(AMELIA);
    assert.equal((await request(`/portal/consents/${theirs.id}/revoke`, { cookie })).status, 404);
    const post = await request(`/portal/consents/${theirs.id}/revoke`, {
      cookie,
      form: revokeForm(csrfToken),
      headers: { origin: portal },
    });
    assert.equal(post.status, 404);
    assert.equal((await fixture.consents.get(theirs.id)).status, 'Authorised');
    assert.equal((await request('/portal/consents/aac-unknown/revoke', { cookie })).status, 404);
  });

  test('revoking goes through the consent service as the customer, queues the token revocation and shows Revoked', async () => {
    const consent = await authorisedConsent();
    const { cookie, csrfToken } = await signedIn(AMELIA);
    const reply = await request(`/portal/consents/${consent.id}/revoke`, {
      cookie,
      form: revokeForm(csrfToken),
      headers: { origin: portal },
    });
    assert.equal(reply.status, 303);
    assert.equal(reply.headers.get('location'), '/portal');

    const revoked = await fixture.consents.get(consent.id);
    assert.equal(revoked.status, 'Revoked');
    const last = revoked.history.at(-1)!;
    assert.deepEqual([last.from, last.to, last.actor], ['Authorised', 'Revoked', `customer:${AMELIA}`]);
    assert.equal(last.reason, 'revoked by the customer in the portal');
    assert.equal(revoked.cascade?.state, 'pending', 'the outbox asks auth-server to revoke the tokens');

    const list = await request('/portal', { cookie });
    assert.match(list.body, /role="status">You revoked Budget &lt;b&gt;Buddy&lt;\/b&gt;’s access/);
    const article = list.body.slice(list.body.indexOf(`consent-${consent.id}`));
    assert.match(article.slice(0, 600), /status-Revoked/);
    assert.doesNotMatch((await request('/portal', { cookie })).body, /role="status"/, 'the notice shows once');

    // Revoking again changes nothing and says so.
    const again = await request(`/portal/consents/${consent.id}/revoke`, {
      cookie,
      form: revokeForm(csrfToken),
      headers: { origin: portal },
    });
    assert.equal(again.status, 303);
    assert.equal((await fixture.consents.get(consent.id)).history.length, revoked.history.length);
  });

  test('sign-in: a signed, single-use transaction cookie carries the browser to the callback and a new session', async () => {
    const begin = await request('/portal/login');
    assert.equal(begin.status, 303);
    assert.match(begin.headers.get('location') ?? '', /^https:\/\/as\.bank\.example\/authorize\?/);
    const setCookie = begin.headers.getSetCookie().find((line) => line.startsWith('obip-portal-signin='))!;
    assert.match(setCookie, /HttpOnly/);
    assert.match(setCookie, /SameSite=Lax/);
    assert.match(setCookie, /Path=\/portal/);
    const transactionCookie = setCookie.split(';')[0]!;

    const withoutCookie = await request('/portal/callback?code=the-code&state=s-1');
    assert.equal(withoutCookie.status, 400);

    const callback = await request('/portal/callback?code=the-code&state=s-1', { cookie: transactionCookie });
    assert.equal(callback.status, 303);
    assert.equal(callback.headers.get('location'), '/portal');
    assert.deepEqual(completed.at(-1), { state: 's-1', nonce: 'n-1', codeVerifier: 'v-1', clientId: 'portal' });
    const sessionCookie = callback.headers
      .getSetCookie()
      .find((line) => line.startsWith(`${COOKIE}=`))!
      .split(';')[0]!;
    assert.equal((await request('/portal', { cookie: sessionCookie })).status, 200);

    const replayed = await request('/portal/callback?code=the-code&state=s-1', { cookie: transactionCookie });
    assert.equal(replayed.status, 400, 'a callback is used once');
  });

  test('signing out ends the session, and only with the session’s token', async () => {
    const { cookie, csrfToken } = await signedIn(AMELIA);
    assert.equal((await request('/portal/logout', { cookie, form: {} })).status, 403);
    const out = await request('/portal/logout', {
      cookie,
      form: { csrf_token: csrfToken },
      headers: { origin: portal },
    });
    assert.equal(out.status, 303);
    assert.equal(out.headers.get('location'), '/portal/signed-out');
    assert.match(out.headers.getSetCookie().join('\n'), /obip-portal=; .*Max-Age=0/);
    assert.equal((await request('/portal', { cookie })).status, 303);
  });

  test('an unknown portal page is a 404 page under the same CSP', async () => {
    const reply = await request('/portal/nothing-here');
    assert.equal(reply.status, 404);
    assert.match(reply.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(reply.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
  });
});
