// The decoupled-authentication methods of consents.v1.Consents over a real gRPC connection, as
// auth-server calls them: the contract's fields, statuses and error codes.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { consentsV1 } from '@obip/contracts';
import type { GrpcClient } from '@obip/grpc';
import { attachServerLogsOnFailure } from '@obip/testing';
import { AMELIA, AMELIA_CURRENT, RAHUL, TPP, accountAccessIntent } from '../test-fixtures/ciba-fixture';
import {
  grpcFailure,
  serveConsentsOverGrpc,
  startConsentFixture,
  type ConsentFixture,
  type ServedConsents,
} from '../test-fixtures/consent-fixture';

const { AuthenticationStatus } = consentsV1;

describe('consents.v1 decoupled authentication over a real gRPC connection', () => {
  let fixture: ConsentFixture;
  let served: ServedConsents;
  let client: GrpcClient<typeof consentsV1.ConsentsService>;

  before(async () => {
    fixture = await startConsentFixture('ciba_grpc');
    served = await serveConsentsOverGrpc(fixture);
    client = served.client;
  });
  after(async () => {
    await served.close();
    await fixture.close();
  });
  attachServerLogsOnFailure();

  const failure = grpcFailure;
  const inSeconds = (seconds: number) => Math.floor(fixture.clock.now.getTime() / 1000) + seconds;
  let sequence = 0;
  const start = (overrides: Partial<consentsV1.StartAuthenticationRequest> = {}) =>
    client.call('startAuthentication', {
      authenticationId: `auth-grpc-${(sequence += 1)}`,
      clientId: TPP,
      clientName: 'Budget Buddy',
      subject: AMELIA,
      scope: 'openid accounts',
      bindingMessage: 'BB-1234',
      openbankingIntentId: '',
      expiresAt: inSeconds(300),
      ...overrides,
    });

  test('FindCustomer resolves a username or a subject; an unknown hint is NOT_FOUND customer_not_found', async () => {
    assert.deepEqual(await client.call('findCustomer', { loginHint: 'rahul.mehta' }), { subject: RAHUL });
    assert.deepEqual(await client.call('findCustomer', { loginHint: AMELIA }), { subject: AMELIA });
    const error = await failure(client.call('findCustomer', { loginHint: 'nobody@example' }));
    assert.equal(error.kind, 'not_found');
    assert.equal(error.code, 'customer_not_found');
  });

  test('StartAuthentication returns the request PENDING, and the same one when repeated', async () => {
    const intent = await accountAccessIntent(fixture);
    const { authentication } = await start({ authenticationId: 'auth-grpc-start', openbankingIntentId: intent.id });
    assert.deepEqual(authentication, {
      authenticationId: 'auth-grpc-start',
      clientId: TPP,
      clientName: 'Budget Buddy',
      subject: AMELIA,
      scope: 'openid accounts',
      bindingMessage: 'BB-1234',
      openbankingIntentId: intent.id,
      status: AuthenticationStatus.AUTHENTICATION_STATUS_PENDING,
      consentId: '',
      createdAt: Math.floor(fixture.clock.now.getTime() / 1000),
      expiresAt: inSeconds(300),
      decidedAt: 0,
    });
    const again = await start({ authenticationId: 'auth-grpc-start', bindingMessage: 'OTHER' });
    assert.deepEqual(again.authentication, authentication);
  });

  test('StartAuthentication: INVALID_ARGUMENT for a missing field or a past expiry; NOT_FOUND for an unknown subject', async () => {
    for (const overrides of [{ clientId: '' }, { subject: '' }, { scope: '' }, { expiresAt: inSeconds(-1) }]) {
      const error = await failure(start(overrides));
      assert.equal(error.kind, 'bad_request', JSON.stringify(overrides));
    }
    const error = await failure(start({ subject: 'cust-nobody' }));
    assert.equal(error.kind, 'not_found');
    assert.equal(error.code, 'customer_not_found');
  });

  test('the client name defaults to the client id', async () => {
    const { authentication } = await start({ clientName: '' });
    assert.equal(authentication?.clientName, TPP);
  });

  test('ListPendingAuthentications and DecideAuthentication: approved with the consent, then no longer pending', async () => {
    const intent = await accountAccessIntent(fixture);
    const { authentication } = await start({ openbankingIntentId: intent.id });
    const { authentications } = await client.call('listPendingAuthentications', { subject: AMELIA });
    assert.ok(authentications.some((pending) => pending.authenticationId === authentication!.authenticationId));
    assert.deepEqual((await client.call('listPendingAuthentications', { subject: RAHUL })).authentications, []);

    const decided = await client.call('decideAuthentication', {
      authenticationId: authentication!.authenticationId,
      subject: AMELIA,
      approve: true,
      accountIds: [AMELIA_CURRENT],
      acr: 'urn:openbanking:psd2:sca',
      amr: ['pwd'],
      actor: '',
    });
    assert.equal(decided.authentication?.status, AuthenticationStatus.AUTHENTICATION_STATUS_APPROVED);
    assert.equal(decided.authentication?.consentId, intent.id);
    assert.ok((decided.authentication?.decidedAt ?? 0) > 0);
    assert.equal((await fixture.consents.get(intent.id)).status, 'Authorised');
    const after = await client.call('listPendingAuthentications', { subject: AMELIA });
    assert.ok(!after.authentications.some((pending) => pending.authenticationId === authentication!.authenticationId));
  });

  test('DecideAuthentication errors: NOT_FOUND, FAILED_PRECONDITION and INVALID_ARGUMENT with stable codes', async () => {
    const { authentication } = await start({ scope: 'openid' });
    const id = authentication!.authenticationId;
    const decision = {
      authenticationId: id,
      subject: AMELIA,
      approve: true,
      accountIds: [],
      acr: 'urn:openbanking:psd2:sca',
      amr: ['pwd'],
      actor: '',
    };
    const noAcr = await failure(client.call('decideAuthentication', { ...decision, acr: '' }));
    assert.deepEqual([noAcr.kind, noAcr.code], ['bad_request', 'invalid_request']);
    const foreign = await failure(client.call('decideAuthentication', { ...decision, subject: RAHUL }));
    assert.deepEqual([foreign.kind, foreign.code], ['not_found', 'authentication_not_found']);

    await client.call('decideAuthentication', { ...decision, approve: false, acr: '' });
    const repeated = await client.call('decideAuthentication', { ...decision, approve: false, acr: '' });
    assert.equal(repeated.authentication?.status, AuthenticationStatus.AUTHENTICATION_STATUS_DENIED);
    assert.equal(repeated.authentication?.consentId, '');
    const opposite = await failure(client.call('decideAuthentication', decision));
    assert.deepEqual([opposite.kind, opposite.code], ['precondition_failed', 'authentication_already_decided']);
  });

  test('DecideAuthentication on an expired request is FAILED_PRECONDITION authentication_expired', async () => {
    const base = fixture.clock.now.getTime();
    const { authentication } = await start({ expiresAt: Math.floor(base / 1000) + 30 });
    try {
      fixture.clock.now = new Date(base + 31_000);
      const error = await failure(
        client.call('decideAuthentication', {
          authenticationId: authentication!.authenticationId,
          subject: AMELIA,
          approve: false,
          accountIds: [],
          acr: '',
          amr: [],
          actor: '',
        }),
      );
      assert.deepEqual([error.kind, error.code], ['precondition_failed', 'authentication_expired']);
    } finally {
      fixture.clock.now = new Date(base);
    }
  });
});
