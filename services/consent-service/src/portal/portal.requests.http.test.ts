// The portal as the customer's authentication device (FAPI-CIBA) over HTTP: the router as
// main.ts mounts it, on the real consent service, MongoDB-compatible server and Redis sessions.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { attachServerLogsOnFailure } from '@obip/testing';
import {
  AMELIA,
  AMELIA_CURRENT,
  AMELIA_SAVINGS,
  RAHUL,
  RAHUL_CURRENT,
  TPP,
  accountAccessIntent,
  paymentIntent,
  startRequest,
} from '../test-fixtures/ciba-fixture';
import { startConsentFixture, type ConsentFixture } from '../test-fixtures/consent-fixture';
import { startPortalFixture, type PortalFixture } from '../test-fixtures/portal-fixture';

describe('decoupled requests in the customer portal', () => {
  let fixture: ConsentFixture;
  let portal: PortalFixture;

  before(async () => {
    fixture = await startConsentFixture('portal_requests');
    portal = await startPortalFixture(fixture, {
      tpps: { [TPP]: { name: 'Registered name', logoUri: 'https://logos.budget.example/bb.png' } },
      // A stand-in of auth-server's part of the sign-in (e2e's): its ID token said how Amelia authenticated.
      signIn: {
        begin: async () => ({
          authorizationUrl: 'https://as.bank.example/authorize?client_id=portal&request_uri=urn%3Aexample',
          transaction: { state: 's-1', nonce: 'n-1', codeVerifier: 'v-1', clientId: 'portal' },
        }),
        complete: async () => ({ subject: AMELIA, acr: 'urn:openbanking:psd2:sca', amr: ['pwd', 'otp'] }),
      },
    });
  });
  after(async () => {
    await portal?.close();
    await fixture?.close();
  });
  attachServerLogsOnFailure();

  /** Posts a decision as the browser does: the session's token, the portal's own origin. */
  const post = (id: string, session: { cookie: string; csrfToken: string }, fields: Record<string, string>) =>
    portal.request(`/portal/requests/${encodeURIComponent(id)}`, {
      cookie: session.cookie,
      form: { csrf_token: session.csrfToken, ...fields },
      headers: { origin: portal.origin },
    });
  const stored = async (id: string) => (await fixture.authenticationRepository.findById(id))!;
  const articleOf = (body: string, id: string) => {
    const start = body.indexOf(`id="request-${id}"`);
    assert.ok(start >= 0, `request ${id} is on the page`);
    return body.slice(start, body.indexOf('</article>', start));
  };

  test('an unauthenticated visit is sent to sign in, and a decision without a session is refused', async () => {
    const reply = await portal.request('/portal/requests');
    assert.equal(reply.status, 303);
    assert.equal(reply.headers.get('location'), '/portal/login');
    const request = await startRequest(fixture);
    const post = await portal.request(`/portal/requests/${request.id}`, { form: { decision: 'approve' } });
    assert.equal(post.status, 403);
    assert.equal((await stored(request.id)).status, 'Pending');
  });

  test('lists the customer’s own pending requests: binding message, client, what is asked, accounts to choose', async () => {
    const intent = await accountAccessIntent(fixture);
    const mine = await startRequest(fixture, {
      intentId: intent.id,
      clientName: 'Budget <b>Buddy</b>',
      bindingMessage: 'BB-4821',
    });
    const theirs = await startRequest(fixture, { subject: RAHUL, bindingMessage: 'RAHUL-ONLY' });
    const session = await portal.signedIn(AMELIA);
    const reply = await portal.request('/portal/requests', { cookie: session.cookie });
    assert.equal(reply.status, 200);
    assert.equal(
      reply.headers.get('content-security-policy'),
      "default-src 'none'; style-src 'self'; img-src https://logos.budget.example; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
    assert.equal(reply.headers.get('cache-control'), 'no-store');
    assert.ok(!reply.body.includes(theirs.id) && !reply.body.includes('RAHUL-ONLY'), 'never another customer’s');
    assert.ok(!/<script/i.test(reply.body));

    const article = articleOf(reply.body, mine.id);
    assert.match(article, /<div class="binding">.*<strong>BB-4821<\/strong>/s, 'the binding message stands out');
    assert.ok(article.includes('Budget &lt;b&gt;Buddy&lt;/b&gt;'), 'the client name is escaped');
    assert.ok(!article.includes('<b>Buddy'));
    assert.match(article, /See your account information/);
    assert.match(article, /Read accounts detail/, 'the intent’s permissions');
    assert.match(article, new RegExp(`name="account\\.${AMELIA_CURRENT}"`));
    assert.match(article, new RegExp(`name="account\\.${AMELIA_SAVINGS}"`));
    assert.match(article, /Everyday ••5927/);
    assert.ok(article.includes(`name="csrf_token" value="${session.csrfToken}"`));
    assert.match(article, /value="approve"/);
    assert.match(article, /value="deny"/);
  });

  test('a payment request shows the amount and offers one account to pay from', async () => {
    const intent = await paymentIntent(fixture);
    const request = await startRequest(fixture, { intentId: intent.id, scope: 'openid payments' });
    const { cookie } = await portal.signedIn(AMELIA);
    const article = articleOf((await portal.request('/portal/requests', { cookie })).body, request.id);
    assert.match(article, /GBP 42\.50 to Acme Energy/);
    assert.match(article, /type="radio"[^>]*name="account"/);
  });

  test('the portal’s navigation links the requests page from every signed-in page', async () => {
    const { cookie } = await portal.signedIn(AMELIA);
    const consents = await portal.request('/portal', { cookie });
    assert.match(consents.body, /<nav aria-label="Portal">.*href="\/portal\/requests".*<\/nav>/s);
    const requests = await portal.request('/portal/requests', { cookie });
    assert.match(requests.body, /<a href="\/portal\/requests" aria-current="page">/);
  });

  test('approving authorises the intent with the selected accounts, using the session’s acr and amr', async () => {
    const intent = await accountAccessIntent(fixture);
    const request = await startRequest(fixture, { intentId: intent.id });
    const session = await portal.signedIn(AMELIA, { acr: 'urn:openbanking:psd2:ca', amr: ['pwd', 'hwk'] });
    const reply = await post(request.id, session, {
      decision: 'approve',
      [`account.${AMELIA_SAVINGS}`]: AMELIA_SAVINGS,
    });
    assert.equal(reply.status, 303);
    assert.equal(reply.headers.get('location'), '/portal/requests');

    const decided = await stored(request.id);
    assert.equal(decided.status, 'Approved');
    assert.deepEqual(decided.decision?.accountIds, [AMELIA_SAVINGS]);
    assert.deepEqual([decided.decision?.acr, decided.decision?.amr], ['urn:openbanking:psd2:ca', ['pwd', 'hwk']]);
    assert.equal(decided.decision?.actor, `customer:${AMELIA}`);
    const consent = await fixture.consents.get(intent.id);
    assert.equal(consent.status, 'Authorised');
    assert.deepEqual(consent.accountIds, [AMELIA_SAVINGS]);

    const after = await portal.request('/portal/requests', { cookie: session.cookie });
    assert.match(after.body, /role="status">You approved Budget Buddy’s request/);
    assert.ok(!after.body.includes(`id="request-${request.id}"`), 'a decided request is no longer listed');
  });

  test('a sign-in keeps the ID token’s acr and amr in the session, and a decision carries them', async () => {
    const begin = await portal.request('/portal/login');
    const transaction = begin.headers
      .getSetCookie()
      .find((line) => line.startsWith('obip-portal-signin='))!
      .split(';')[0]!;
    const callback = await portal.request('/portal/callback?code=c&state=s-1', { cookie: transaction });
    const cookie = callback.headers
      .getSetCookie()
      .find((line) => line.startsWith('obip-portal='))!
      .split(';')[0]!;
    const page = await portal.request('/portal/requests', { cookie });
    const csrfToken = /name="csrf_token" value="([^"]+)"/.exec(page.body)?.[1] ?? '';
    const request = await startRequest(fixture, { scope: 'openid' });
    assert.equal((await post(request.id, { cookie, csrfToken }, { decision: 'approve' })).status, 303);
    const decided = await stored(request.id);
    assert.deepEqual([decided.decision?.acr, decided.decision?.amr], ['urn:openbanking:psd2:sca', ['pwd', 'otp']]);
  });

  test('a session without acr and amr approves as a password sign-in: SCA acr, pwd', async () => {
    const request = await startRequest(fixture, { scope: 'openid accounts' });
    const session = await portal.signedIn(AMELIA);
    await post(request.id, session, { decision: 'approve', [`account.${AMELIA_CURRENT}`]: AMELIA_CURRENT });
    const decided = await stored(request.id);
    assert.equal(decided.status, 'Approved');
    assert.deepEqual([decided.decision?.acr, decided.decision?.amr], ['urn:openbanking:psd2:sca', ['pwd']]);
    const consent = await fixture.consents.get(decided.consentId!);
    assert.deepEqual([consent.kind, consent.status, consent.accountIds], ['generic', 'Authorised', [AMELIA_CURRENT]]);
  });

  test('denying rejects the intent', async () => {
    const intent = await accountAccessIntent(fixture);
    const request = await startRequest(fixture, { intentId: intent.id });
    const session = await portal.signedIn(AMELIA);
    assert.equal((await post(request.id, session, { decision: 'deny' })).status, 303);
    assert.equal((await stored(request.id)).status, 'Denied');
    assert.equal((await fixture.consents.get(intent.id)).status, 'Rejected');
    const page = await portal.request('/portal/requests', { cookie: session.cookie });
    assert.match(page.body, /You denied Budget Buddy’s request/);
  });

  test('a decision without the session’s token or from another origin is refused and changes nothing', async () => {
    const request = await startRequest(fixture);
    const session = await portal.signedIn(AMELIA);
    const refusals: Array<[string, Parameters<PortalFixture['request']>[1]]> = [
      ['no token', { cookie: session.cookie, form: { decision: 'deny' } }],
      [
        'another session’s token',
        { cookie: session.cookie, form: { decision: 'deny', csrf_token: (await portal.signedIn(AMELIA)).csrfToken } },
      ],
      [
        'another origin',
        {
          cookie: session.cookie,
          form: { decision: 'deny', csrf_token: session.csrfToken },
          headers: { origin: 'https://attacker.example' },
        },
      ],
    ];
    for (const [why, options] of refusals) {
      const reply = await portal.request(`/portal/requests/${request.id}`, options);
      assert.equal(reply.status, 403, why);
      assert.match(reply.headers.get('content-security-policy') ?? '', /default-src 'none'/);
      assert.equal((await stored(request.id)).status, 'Pending', `nothing decided with ${why}`);
    }
  });

  test('another customer’s request is not found and stays pending', async () => {
    const theirs = await startRequest(fixture, { subject: RAHUL });
    const session = await portal.signedIn(AMELIA);
    const reply = await post(theirs.id, session, { decision: 'approve', [`account.${RAHUL_CURRENT}`]: RAHUL_CURRENT });
    assert.equal(reply.status, 404);
    assert.match(reply.body, /could not find that request/);
    assert.equal((await stored(theirs.id)).status, 'Pending');
  });

  test('an expired request, a bad selection and a second answer are explained, and change nothing', async () => {
    const session = await portal.signedIn(AMELIA);
    const noticeAfter = async () => {
      const page = await portal.request('/portal/requests', { cookie: session.cookie });
      return /role="status">([^<]*)</.exec(page.body)?.[1] ?? '';
    };

    const intent = await accountAccessIntent(fixture);
    const unselected = await startRequest(fixture, { intentId: intent.id });
    assert.equal((await post(unselected.id, session, { decision: 'approve' })).status, 303);
    assert.match(await noticeAfter(), /Choose the accounts/);
    assert.equal((await stored(unselected.id)).status, 'Pending');
    assert.equal((await fixture.consents.get(intent.id)).status, 'AwaitingAuthorisation');

    const decided = await startRequest(fixture, { scope: 'openid' });
    await post(decided.id, session, { decision: 'deny' });
    await post(decided.id, session, { decision: 'approve' });
    assert.match(await noticeAfter(), /already answered/);
    assert.equal((await stored(decided.id)).status, 'Denied');

    const base = fixture.clock.now.getTime();
    const expiring = await startRequest(fixture, { expiresAt: new Date(base + 30_000) });
    try {
      fixture.clock.now = new Date(base + 30_000);
      await post(expiring.id, session, { decision: 'approve', [`account.${AMELIA_CURRENT}`]: AMELIA_CURRENT });
      assert.match(await noticeAfter(), /expired before you answered/);
      assert.equal((await stored(expiring.id)).status, 'Pending');
      assert.equal((await stored(expiring.id)).decision, undefined);
    } finally {
      fixture.clock.now = new Date(base);
    }
  });

  test('a decision that is neither approve nor deny is a 400 page and changes nothing', async () => {
    const request = await startRequest(fixture);
    const session = await portal.signedIn(AMELIA);
    const reply = await post(request.id, session, { decision: 'maybe' });
    assert.equal(reply.status, 400);
    assert.equal((await stored(request.id)).status, 'Pending');
  });
});
