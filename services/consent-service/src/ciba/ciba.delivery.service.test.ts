// Decisions on decoupled requests delivered to auth-server from the durable outbox: a relay as
// main.ts builds it, on the real MongoDB-compatible server, calling a real gRPC twin of
// auth-server's tokens.v1.Tokens that can be down, up, or refuse for good.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { Registry } from 'prom-client';
import { NotFoundError, PreconditionFailedError } from '@obip/errors';
import { assertDeliveredAtLeastOnce, attachServerLogsOnFailure, freePort } from '@obip/testing';
import { newConsentId } from '../consents/consents.service';
import { createOutboxMetrics } from '../outbox/outbox.metrics';
import type { OutboxRelay } from '../outbox/outbox.service';
import { createGrpcTokensClient } from '../tokens/tokens.grpc';
import {
  AMELIA,
  AMELIA_CURRENT,
  TPP,
  accountAccessIntent,
  startRequest,
  startTokensTwin,
  type CompletionAnswer,
  type TokensTwin,
} from '../test-fixtures/ciba-fixture';
import { startConsentFixture, type ConsentFixture } from '../test-fixtures/consent-fixture';
import { createDecisionRelay } from './ciba.delivery.service';
import { createMongoDecisionOutbox } from './ciba.mongo';
import type { DecoupledAuthentication } from './ciba.model';

const SCA = 'urn:openbanking:psd2:sca';

async function eventually(check: () => Promise<boolean> | boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail('the condition did not hold in time');
    await sleep(50);
  }
}

interface LogLine {
  level: 'info' | 'warn';
  bindings: Record<string, unknown>;
  message: string;
}

describe('decision delivery to auth-server through the durable outbox', () => {
  let fixture: ConsentFixture;
  let relay: OutboxRelay | undefined;
  before(async () => {
    fixture = await startConsentFixture('ciba_delivery', { onDecisionRecorded: () => relay?.kick() });
  });
  after(async () => {
    await relay?.stop();
    await fixture.close();
  });
  attachServerLogsOnFailure();

  /** A relay as main.ts builds it, with fast retries, its log lines and its metrics kept. */
  function startRelay(port: number) {
    const tokens = createGrpcTokensClient({ target: `127.0.0.1:${port}`, deadlineMs: 1_000 });
    const logs: LogLine[] = [];
    const registry = new Registry();
    const metrics = createOutboxMetrics(registry);
    const outbox = createMongoDecisionOutbox(fixture.mongo);
    metrics.trackPending('decision', () => outbox.countPending());
    const started = createDecisionRelay({
      outbox,
      authentications: fixture.authentications,
      completer: tokens,
      logger: {
        info: (bindings, message) => logs.push({ level: 'info', bindings: bindings as LogLine['bindings'], message }),
        warn: (bindings, message) => logs.push({ level: 'warn', bindings: bindings as LogLine['bindings'], message }),
      },
      pollMs: 50,
      initialBackoffMs: 50,
      maxBackoffMs: 200,
      onOutcome: metrics.outcomesOf('decision'),
    });
    relay = started;
    started.start();
    return {
      logs,
      registry,
      outbox,
      async stop() {
        relay = undefined;
        await started.stop();
        tokens.close();
      },
    };
  }

  /** Amelia denies a decoupled request from her device. */
  const denyAsAmelia = (authenticationId: string) =>
    fixture.authentications.decide({
      authenticationId,
      subject: AMELIA,
      approve: false,
      accountIds: [],
      acr: '',
      amr: [],
      actor: '',
    });
  const stored = async (id: string) => (await fixture.authenticationRepository.findById(id))!;
  const completionsOf = (twin: TokensTwin, id: string) =>
    twin.completions.filter((completion) => completion.authenticationId === id);
  const seconds = (date: Date) => Math.floor(date.getTime() / 1000);

  type RunningRelay = ReturnType<typeof startRelay>;

  /** {@link assertDeliveredAtLeastOnce} for one request, its failed attempts read from the relay's log. */
  function assertCalledOnceBarLoggedFailures(
    twin: TokensTwin,
    running: RunningRelay,
    id: string,
    { loggedSince = 0 } = {},
  ): void {
    const calls = completionsOf(twin, id).length;
    const failures = running.logs
      .slice(loggedSince)
      .filter(
        (line) => line.level === 'warn' && line.bindings.authenticationId === id && line.message.endsWith('will retry'),
      );
    assertDeliveredAtLeastOnce({
      calls,
      failedAttempts: failures.length,
      what: `CompleteAuthentication for ${id}`,
      failures: failures.map((line) => String((line.bindings.err as Error | undefined)?.message)),
    });
  }

  async function withTwin(answer: CompletionAnswer, work: (twin: TokensTwin, running: RunningRelay) => Promise<void>) {
    const port = await freePort();
    const twin = await startTokensTwin(port, answer);
    const running = startRelay(port);
    try {
      await work(twin, running);
    } finally {
      await running.stop();
      await twin.stop();
    }
  }

  test('an approved intent is delivered with its consent, intent, acr, amr and the time of the decision', async () => {
    await withTwin(
      () => undefined,
      async (twin, running) => {
        const intent = await accountAccessIntent(fixture);
        const request = await startRequest(fixture, { intentId: intent.id });
        const decided = await fixture.authentications.decide({
          authenticationId: request.id,
          subject: AMELIA,
          approve: true,
          accountIds: [AMELIA_CURRENT],
          acr: SCA,
          amr: ['pwd', 'otp'],
          actor: '',
        });
        await eventually(async () => (await stored(request.id)).delivery?.state === 'delivered');
        assertCalledOnceBarLoggedFailures(twin, running, request.id);
        assert.deepEqual(completionsOf(twin, request.id)[0], {
          authenticationId: request.id,
          subject: AMELIA,
          approved: true,
          consentId: intent.id,
          openbankingIntentId: intent.id,
          acr: SCA,
          amr: ['pwd', 'otp'],
          authenticatedAt: seconds(decided.decision!.at),
        });
      },
    );
  });

  test('a GENERIC approval names its consent and no intent; a denial names neither', async () => {
    await withTwin(
      () => undefined,
      async (twin) => {
        const generic = await startRequest(fixture, { scope: 'openid accounts' });
        const approved = await fixture.authentications.decide({
          authenticationId: generic.id,
          subject: AMELIA,
          approve: true,
          accountIds: [AMELIA_CURRENT],
          acr: SCA,
          amr: ['pwd'],
          actor: '',
        });
        const intent = await accountAccessIntent(fixture);
        const denied = await startRequest(fixture, { intentId: intent.id });
        await denyAsAmelia(denied.id);
        await eventually(() => completionsOf(twin, generic.id).length > 0 && completionsOf(twin, denied.id).length > 0);
        const [approval] = completionsOf(twin, generic.id);
        assert.equal(approval?.approved, true);
        assert.equal(approval?.consentId, approved.consentId);
        assert.match(approval?.consentId ?? '', /^gc-/);
        assert.equal(approval?.openbankingIntentId, '');
        const [denial] = completionsOf(twin, denied.id);
        assert.equal(denial?.approved, false);
        assert.equal(denial?.consentId, '');
        assert.equal(denial?.openbankingIntentId, '');
        assert.equal(denial?.subject, AMELIA);
      },
    );
  });

  test('auth-server down: the decision stays pending and is retried; delivered once it is up', async () => {
    const port = await freePort();
    const running = startRelay(port);
    let twin: TokensTwin | undefined;
    try {
      const request = await startRequest(fixture, { scope: 'openid' });
      const decided = await fixture.authentications.decide({
        authenticationId: request.id,
        subject: AMELIA,
        approve: true,
        accountIds: [],
        acr: SCA,
        amr: ['pwd'],
        actor: '',
      });
      assert.equal(decided.status, 'Approved', 'the customer’s decision is accepted whatever auth-server’s state');
      await eventually(async () => ((await stored(request.id)).delivery?.attempts ?? 0) >= 2);
      assert.equal((await stored(request.id)).delivery?.state, 'pending');
      assert.ok(running.logs.some((line) => line.level === 'warn' && line.bindings.authenticationId === request.id));

      const loggedWhileDown = running.logs.length;
      twin = await startTokensTwin(port);
      await eventually(async () => (await stored(request.id)).delivery?.state === 'delivered');
      assertCalledOnceBarLoggedFailures(twin, running, request.id, { loggedSince: loggedWhileDown });
      // The outbox is shared with the earlier tests: an entry of theirs still pending when they
      // stopped is delivered by this relay too, possibly just after this one.
      await eventually(async () => (await running.outbox.countPending()) === 0);
      // The outcome is counted just after the entry is marked delivered.
      await eventually(async () =>
        /consent_outbox_deliveries_total\{outbox="decision",outcome="delivered"\} [1-9]\d*\n/.test(
          await running.registry.metrics(),
        ),
      );
      const metrics = await running.registry.metrics();
      assert.match(metrics, /consent_outbox_deliveries_total\{outbox="decision",outcome="retried"\} [1-9]/);
      assert.match(metrics, /consent_outbox_pending_entries\{outbox="decision"\} 0/);
    } finally {
      await running.stop();
      await twin?.stop();
    }
  });

  test('NOT_FOUND and FAILED_PRECONDITION from auth-server are final: abandoned with a warning, never retried', async () => {
    const refusals: Record<string, Error> = {};
    await withTwin(
      (request) => {
        const refusal = refusals[request.authenticationId];
        if (refusal) throw refusal;
      },
      async (twin, running) => {
        const expired = await startRequest(fixture, { scope: 'openid' });
        const other = await startRequest(fixture, { scope: 'openid' });
        refusals[expired.id] = new NotFoundError('expired at auth-server', { code: 'authentication_not_found' });
        refusals[other.id] = new PreconditionFailedError('decided otherwise', { code: 'already_decided' });
        for (const request of [expired, other]) {
          await denyAsAmelia(request.id);
        }
        await eventually(
          async () =>
            (await stored(expired.id)).delivery?.state === 'abandoned' &&
            (await stored(other.id)).delivery?.state === 'abandoned',
        );
        assert.equal((await stored(expired.id)).delivery?.lastError, 'authentication_not_found');
        const refusedForGood = running.logs
          .filter((line) => line.level === 'warn' && line.message.endsWith('refused for good; not retried'))
          .map((line) => `${String(line.bindings.authenticationId)} ${String(line.bindings.reason)}`);
        assert.deepEqual(
          refusedForGood.sort(),
          [`${expired.id} authentication_not_found`, `${other.id} already_decided`].sort(),
        );
        const callsWhenAbandoned = [expired, other].map((request) => completionsOf(twin, request.id).length);
        // Several poll intervals and backoffs later, not one call more.
        await sleep(500);
        relay?.kick();
        await sleep(200);
        assert.deepEqual(
          [expired, other].map((request) => completionsOf(twin, request.id).length),
          callsWhenAbandoned,
        );
        for (const request of [expired, other]) assertCalledOnceBarLoggedFailures(twin, running, request.id);
      },
    );
  });

  test('a call that reached auth-server but outlived its deadline is repeated; the repeat’s final answer abandons it', async () => {
    let slowOnce: string | undefined;
    await withTwin(
      async ({ authenticationId }) => {
        // The first answer comes after the relay's 1 s deadline: the relay cannot know auth-server got it.
        if (authenticationId === slowOnce) {
          slowOnce = undefined;
          await sleep(1_500);
        }
        throw new NotFoundError('expired at auth-server', { code: 'authentication_not_found' });
      },
      async (twin, running) => {
        const request = await startRequest(fixture, { scope: 'openid' });
        slowOnce = request.id;
        await denyAsAmelia(request.id);
        await eventually(async () => (await stored(request.id)).delivery?.state === 'abandoned');
        const failures = running.logs.filter(
          (line) => line.bindings.authenticationId === request.id && line.message.endsWith('will retry'),
        );
        assert.equal(failures.length, 1);
        assert.match(String((failures[0]?.bindings.err as Error).message), /did not answer in time/);
        assert.equal(completionsOf(twin, request.id).length, 2);
        assertCalledOnceBarLoggedFailures(twin, running, request.id);
        assert.equal((await stored(request.id)).delivery?.lastError, 'authentication_not_found');
      },
    );
  });

  test('a decision recorded just before a crash is completed by the relay: consent first, then delivery', async () => {
    // The one write DecideAuthentication makes, and nothing after it: as if the process stopped there.
    const recordOnly = async (request: DecoupledAuthentication, consentId: string) => {
      const at = fixture.clock.now;
      const recorded = await fixture.authenticationRepository.recordDecision({
        id: request.id,
        subject: AMELIA,
        now: at,
        consentId,
        decision: {
          approved: true,
          accountIds: [AMELIA_CURRENT],
          acr: SCA,
          amr: ['pwd'],
          actor: `customer:${AMELIA}`,
          at,
          consentStep: 'pending',
          consentError: '',
        },
        delivery: { state: 'pending', attempts: 0, nextAttemptAt: at, lastError: '', deliveredAt: null },
      });
      assert.ok(recorded);
    };
    const intent = await accountAccessIntent(fixture);
    const withIntent = await startRequest(fixture, { intentId: intent.id });
    await recordOnly(withIntent, intent.id);
    const generic = await startRequest(fixture);
    const genericId = newConsentId('generic');
    await recordOnly(generic, genericId);
    assert.equal((await fixture.consents.get(intent.id)).status, 'AwaitingAuthorisation');

    await withTwin(
      () => undefined,
      async (twin) => {
        await eventually(
          () => completionsOf(twin, withIntent.id).length > 0 && completionsOf(twin, generic.id).length > 0,
        );
        const authorised = await fixture.consents.get(intent.id);
        assert.equal(authorised.status, 'Authorised');
        assert.deepEqual(authorised.accountIds, [AMELIA_CURRENT]);
        const created = await fixture.consents.get(genericId);
        assert.deepEqual(
          [created.kind, created.status, created.subject, created.clientId],
          ['generic', 'Authorised', AMELIA, TPP],
        );
        assert.equal(completionsOf(twin, generic.id)[0]?.consentId, genericId);
        assert.equal((await stored(generic.id)).decision?.consentStep, 'done');
      },
    );
  });

  test('an approval the consent refused meanwhile is delivered as a denial', async () => {
    const intent = await accountAccessIntent(fixture);
    const request = await startRequest(fixture, { intentId: intent.id });
    const at = fixture.clock.now;
    await fixture.authenticationRepository.recordDecision({
      id: request.id,
      subject: AMELIA,
      now: at,
      consentId: intent.id,
      decision: {
        approved: true,
        accountIds: [AMELIA_CURRENT],
        acr: SCA,
        amr: ['pwd'],
        actor: `customer:${AMELIA}`,
        at,
        consentStep: 'pending',
        consentError: '',
      },
      delivery: { state: 'pending', attempts: 0, nextAttemptAt: at, lastError: '', deliveredAt: null },
    });
    // Between the decision and its consent step the TPP's intent was refused.
    await fixture.consents.reject({ consentId: intent.id, actor: `client:${TPP}`, reason: 'withdrawn' });

    await withTwin(
      () => undefined,
      async (twin) => {
        await eventually(() => completionsOf(twin, request.id).length > 0);
        const [completion] = completionsOf(twin, request.id);
        assert.equal(completion?.approved, false, 'no tokens without an authorised consent');
        assert.equal(completion?.consentId, '');
        const settled = await stored(request.id);
        assert.equal(settled.decision?.consentStep, 'failed');
        assert.equal(settled.decision?.consentError, 'consent_status_invalid');
        assert.equal((await fixture.consents.get(intent.id)).status, 'Rejected');
      },
    );
  });
});
