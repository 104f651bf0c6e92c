// The sandbox device API over HTTP, mounted as main.ts mounts it when SANDBOX_DEVICE_API=true, on
// the real consent service and MongoDB-compatible server. That it is absent by default is
// main.ciba.test.ts's, against the real process.
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHttpApp, errorHandler, notFoundHandler } from '@obip/http';
import { attachServerLogsOnFailure } from '@obip/testing';
import {
  AMELIA,
  AMELIA_CURRENT,
  AMELIA_SAVINGS,
  RAHUL,
  TPP,
  accountAccessIntent,
  paymentIntent,
  startRequest,
} from '../test-fixtures/ciba-fixture';
import { silentLogger, startConsentFixture, type ConsentFixture } from '../test-fixtures/consent-fixture';
import { createSandboxDeviceRouter } from './ciba.sandbox.http';

interface JsonReply {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

describe('the sandbox device API', () => {
  let fixture: ConsentFixture;
  let server: Server;
  let base: string;

  before(async () => {
    fixture = await startConsentFixture('ciba_sandbox');
    const app = createHttpApp({ logger: silentLogger });
    app.use('/sandbox', createSandboxDeviceRouter({ authentications: fixture.authentications }));
    app.use(notFoundHandler('obie'), errorHandler('obie'));
    server = createServer(app);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/sandbox/decoupled-authentications`;
  });
  after(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    await fixture?.close();
  });
  attachServerLogsOnFailure();

  async function call(path: string, body?: unknown, headers: Record<string, string> = {}): Promise<JsonReply> {
    const response = await fetch(`${base}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    return {
      status: response.status,
      headers: response.headers,
      body: (await response.json()) as Record<string, unknown>,
    };
  }
  const decide = (id: string, body: unknown) => call(`/${encodeURIComponent(id)}/decision`, body);

  test('lists a customer’s pending requests by username, with what a device shows', async () => {
    const intent = await accountAccessIntent(fixture);
    const request = await startRequest(fixture, { intentId: intent.id, bindingMessage: 'BB-7' });
    await startRequest(fixture, { subject: RAHUL });
    const reply = await call('?username=Amelia.Hart');
    assert.equal(reply.status, 200);
    assert.equal(reply.headers.get('cache-control'), 'no-store');
    const listed = reply.body.authentications as Array<Record<string, unknown>>;
    assert.deepEqual(
      listed.find((found) => found.authentication_id === request.id),
      {
        authentication_id: request.id,
        client_id: TPP,
        client_name: 'Budget Buddy',
        binding_message: 'BB-7',
        scope: 'openid accounts',
        openbanking_intent_id: intent.id,
        created_at: Math.floor(request.createdAt.getTime() / 1000),
        expires_at: Math.floor(request.expiresAt.getTime() / 1000),
      },
    );
    assert.ok(listed.every((found) => found.client_id === TPP));
    assert.equal((await call('?username=rahul.mehta')).status, 200);
  });

  test('approves with every account the customer holds when none are named', async () => {
    const intent = await accountAccessIntent(fixture);
    const request = await startRequest(fixture, { intentId: intent.id });
    const reply = await decide(request.id, { username: 'amelia.hart', decision: 'approve' });
    assert.equal(reply.status, 200);
    assert.deepEqual(reply.body, {
      authentication_id: request.id,
      status: 'approved',
      consent_id: intent.id,
      openbanking_intent_id: intent.id,
      account_ids: [AMELIA_CURRENT, AMELIA_SAVINGS],
      decided_at: reply.body.decided_at,
    });
    const consent = await fixture.consents.get(intent.id);
    assert.equal(consent.status, 'Authorised');
    assert.deepEqual(consent.accountIds, [AMELIA_CURRENT, AMELIA_SAVINGS]);
    assert.equal(consent.history.at(-1)?.actor, 'sandbox:device-api', 'a sandbox decision is never the customer’s');
    const stored = await fixture.authenticationRepository.findById(request.id);
    assert.equal(stored?.decision?.acr, 'urn:openbanking:psd2:sca');
    assert.deepEqual(stored?.decision?.amr, ['pwd']);
  });

  test('approves with the accounts, acr and amr named; a payment defaults to one account', async () => {
    const generic = await startRequest(fixture, { scope: 'openid accounts' });
    const named = await decide(generic.id, {
      username: AMELIA,
      decision: 'approve',
      account_ids: [AMELIA_SAVINGS],
      acr: 'urn:openbanking:psd2:ca',
      amr: ['pwd', 'otp'],
    });
    assert.equal(named.status, 200);
    assert.deepEqual(named.body.account_ids, [AMELIA_SAVINGS]);
    assert.match(String(named.body.consent_id), /^gc-/);
    assert.equal(named.body.openbanking_intent_id, '');
    const stored = await fixture.authenticationRepository.findById(generic.id);
    assert.deepEqual([stored?.decision?.acr, stored?.decision?.amr], ['urn:openbanking:psd2:ca', ['pwd', 'otp']]);

    const payment = await paymentIntent(fixture);
    const request = await startRequest(fixture, { intentId: payment.id, scope: 'openid payments' });
    const paid = await decide(request.id, { username: 'amelia.hart', decision: 'approve' });
    assert.equal(paid.status, 200);
    assert.deepEqual(paid.body.account_ids, [AMELIA_CURRENT]);
    assert.equal((await fixture.consents.get(payment.id)).status, 'Authorised');
  });

  test('denies, and the intent is rejected', async () => {
    const intent = await accountAccessIntent(fixture);
    const request = await startRequest(fixture, { intentId: intent.id });
    const reply = await decide(request.id, { username: 'amelia.hart', decision: 'deny' });
    assert.equal(reply.status, 200);
    assert.equal(reply.body.status, 'denied');
    assert.equal(reply.body.consent_id, '');
    assert.equal((await fixture.consents.get(intent.id)).status, 'Rejected');
  });

  test('answers refusals as {error, error_description} with the domain’s codes, changing nothing', async () => {
    const request = await startRequest(fixture);
    const refusals: Array<[string, Promise<JsonReply>, number, string]> = [
      ['no username', call(''), 400, 'invalid_request'],
      ['an unknown customer', call('?username=nobody'), 404, 'customer_not_found'],
      ['no decision', decide(request.id, { username: 'amelia.hart' }), 400, 'invalid_request'],
      ['a body that is no object', decide(request.id, '[1]'), 400, 'invalid_request'],
      [
        'account_ids that are no list',
        decide(request.id, { username: 'amelia.hart', decision: 'approve', account_ids: 'x' }),
        400,
        'invalid_request',
      ],
      [
        'another customer',
        decide(request.id, { username: 'rahul.mehta', decision: 'approve' }),
        404,
        'authentication_not_found',
      ],
      [
        'an unknown request',
        decide('auth-unknown', { username: 'amelia.hart', decision: 'deny' }),
        404,
        'authentication_not_found',
      ],
      [
        'an account of someone else',
        decide(request.id, { username: 'amelia.hart', decision: 'approve', account_ids: ['acc-31754-current'] }),
        400,
        'invalid_account_selection',
      ],
    ];
    for (const [why, reply, status, code] of refusals) {
      const { status: actual, body } = await reply;
      assert.equal(actual, status, why);
      assert.equal(body.error, code, why);
      assert.equal(typeof body.error_description, 'string', why);
    }
    assert.equal((await fixture.authenticationRepository.findById(request.id))?.status, 'Pending');

    assert.equal((await decide(request.id, { username: 'amelia.hart', decision: 'deny' })).status, 200);
    const changed = await decide(request.id, { username: 'amelia.hart', decision: 'approve' });
    assert.deepEqual([changed.status, changed.body.error], [412, 'authentication_already_decided']);
    const form = await fetch(`${base}/${request.id}/decision`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'username=amelia.hart&decision=approve',
    });
    assert.equal(form.status, 415);
  });
});
