// consent-service as the customer's authentication device, as main.ts composes it, in real
// processes: auth-server's gRPC calls, the sandbox device API (only with SANDBOX_DEVICE_API=true)
// and the decision relay delivering to a real gRPC twin of auth-server's tokens.v1.Tokens.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { consentsV1 } from '@obip/contracts';
import { createGrpcClient, type GrpcClient } from '@obip/grpc';
import {
  attachServerLogsOnFailure,
  dropTestDatabase,
  freePort,
  serviceMongoEnv,
  startServiceProcess,
  testMongoUrl,
  testRedisPrefix,
  testRedisUrl,
  type ServiceProcess,
} from '@obip/testing';
import { AMELIA, startTokensTwin, type TokensTwin } from './test-fixtures/ciba-fixture';

const ENTRY = 'services/consent-service/src/main.ts';

async function startConsentService(name: string, env: Record<string, string>): Promise<ServiceProcess> {
  return startServiceProcess({
    entry: ENTRY,
    env: {
      HTTP_PORT: '0',
      GRPC_PORT: '0',
      OPS_PORT: '0',
      ...serviceMongoEnv(testMongoUrl(name)),
      REDIS_URL: testRedisUrl(),
      REDIS_KEY_PREFIX: testRedisPrefix(name),
      CONSENT_DECISION_POLL_MS: '100',
      CONSENT_DECISION_BACKOFF_INITIAL_MS: '50',
      CONSENT_DECISION_BACKOFF_MAX_MS: '500',
      SHUTDOWN_GRACE_MS: '1000',
      ...env,
    },
    timeoutMs: 60_000,
  });
}

async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail('the condition did not hold in time');
    await sleep(100);
  }
}

describe('the sandbox device API and the decision relay in the real process', () => {
  let withApi: ServiceProcess | undefined;
  let withoutApi: ServiceProcess | undefined;
  let twin: TokensTwin;
  let consents: GrpcClient<typeof consentsV1.ConsentsService>;

  attachServerLogsOnFailure({
    sources: [
      { name: 'consent-service (sandbox API on)', logs: () => withApi?.output() ?? '' },
      { name: 'consent-service (default)', logs: () => withoutApi?.output() ?? '' },
    ],
  });

  before(async () => {
    twin = await startTokensTwin(await freePort());
    [withApi, withoutApi] = await Promise.all([
      startConsentService('sandbox_on', {
        SANDBOX_DEVICE_API: 'true',
        TOKENS_GRPC_TARGET: `127.0.0.1:${twin.port}`,
      }),
      startConsentService('sandbox_off', { TOKENS_GRPC_TARGET: `127.0.0.1:${await freePort()}` }),
    ]);
    consents = createGrpcClient(consentsV1.ConsentsClient, {
      target: `127.0.0.1:${withApi.ports.grpc}`,
      defaultDeadlineMs: 10_000,
    });
  });
  after(async () => {
    consents?.close();
    withApi?.kill();
    withoutApi?.kill();
    await twin?.stop();
    await Promise.all([dropTestDatabase(testMongoUrl('sandbox_on')), dropTestDatabase(testMongoUrl('sandbox_off'))]);
  });

  test('off by default: /sandbox is not served', async () => {
    const list = await fetch(
      `http://127.0.0.1:${withoutApi!.ports.http}/sandbox/decoupled-authentications?username=amelia.hart`,
    );
    assert.equal(list.status, 404);
    const decide = await fetch(
      `http://127.0.0.1:${withoutApi!.ports.http}/sandbox/decoupled-authentications/x/decision`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'amelia.hart', decision: 'approve' }),
      },
    );
    assert.equal(decide.status, 404);
    assert.ok(!withoutApi!.output().includes('sandbox device API is on'));
  });

  test('on: a request auth-server started is listed, approved over HTTP, and delivered to auth-server', async () => {
    assert.match(withApi!.output(), /sandbox device API is on/, 'the insecure setting is logged');
    const { subject } = await consents.call('findCustomer', { loginHint: 'amelia.hart' });
    assert.equal(subject, AMELIA);
    await consents.call('startAuthentication', {
      authenticationId: 'auth-main-1',
      clientId: 'tpp-main',
      clientName: 'Main Street Money',
      subject,
      scope: 'openid accounts',
      bindingMessage: 'MSM-42',
      openbankingIntentId: '',
      expiresAt: Math.floor(Date.now() / 1000) + 300,
    });

    const base = `http://127.0.0.1:${withApi!.ports.http}/sandbox/decoupled-authentications`;
    const listed = (await (await fetch(`${base}?username=amelia.hart`)).json()) as {
      authentications: Array<{ authentication_id: string; binding_message: string }>;
    };
    assert.deepEqual(
      listed.authentications.map((found) => [found.authentication_id, found.binding_message]),
      [['auth-main-1', 'MSM-42']],
    );
    const approved = await fetch(`${base}/auth-main-1/decision`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'amelia.hart', decision: 'approve' }),
    });
    assert.equal(approved.status, 200);
    const { consent_id: consentId } = (await approved.json()) as { consent_id: string };

    await eventually(() => twin.completions.some((completion) => completion.authenticationId === 'auth-main-1'));
    const completion = twin.completions.find((found) => found.authenticationId === 'auth-main-1');
    assert.equal(completion?.approved, true);
    assert.equal(completion?.subject, AMELIA);
    assert.equal(completion?.consentId, consentId);
    assert.equal(completion?.acr, 'urn:openbanking:psd2:sca');
    const { consent } = await consents.call('getConsent', { consentId });
    assert.equal(consent?.status, consentsV1.ConsentStatus.CONSENT_STATUS_AUTHORISED);

    // The twin answers before the relay records the delivery: the counter follows shortly after.
    const delivered = /consent_outbox_deliveries_total\{outbox="decision",outcome="delivered"[^}]*\} 1\n/;
    await eventually(async () =>
      delivered.test(await (await fetch(`http://127.0.0.1:${withApi!.ports.ops}/metrics`)).text()),
    );
    assert.match(
      await (await fetch(`http://127.0.0.1:${withApi!.ports.ops}/metrics`)).text(),
      /consent_outbox_pending_entries\{outbox="decision"[^}]*\} 0\n/,
    );
  });
});
