// Smoke test of the authorisation-code flow benchmark, not the benchmark: one complete flow
// through auth-server and consent-service yields an access token bound to the TPP's
// certificate, the load generator completes a short paced run of flows with no errors, and a
// broken step (a wrong password) is counted as an error, never as a flow.
// Speed is never asserted here (figures come from `nx run bench:bench:flow`).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Pool } from 'undici';
import { closeRedis, createRedis } from '@obip/redis';
import { createTokenStore } from '@obip/token-store';
import { dropTestDatabase, testMongoUrl } from '@obip/testing';
import { OBIP_REDIS_PREFIX } from '../auth-server/targets';
import { rssMiB } from '../harness/processes';
import { FlowStepError, runFlow, signFlowCredentials } from './flow';
import { runFlowLoad } from './flow-load';
import { SANDBOX_CUSTOMERS, startFlowTargets, type FlowTargets } from './targets';

describe('authorisation-code flow benchmark targets', () => {
  let started: FlowTargets;
  const databases = { auth: testMongoUrl('flow_auth'), consent: testMongoUrl('flow_consent') };
  const nameOf = (url: string) => new URL(url).pathname.slice(1);

  before(async () => {
    started = await startFlowTargets({
      mongoUrl: databases.auth,
      databases: { auth: nameOf(databases.auth), consent: nameOf(databases.consent) },
      // A scrypt login has missed the 2 s production deadline on loaded CI cores; this test
      // checks answers, not latency.
      authServerEnv: { CONSENTS_GRPC_DEADLINE_MS: '10000' },
    });
  });
  after(async () => {
    await started?.stop();
    await Promise.all(Object.values(databases).map((url) => dropTestDatabase(url)));
  });

  test('one complete flow yields an access token bound to the TPP certificate', async () => {
    const setup = { ...started.setup, customers: SANDBOX_CUSTOMERS };
    const pool = new Pool(setup.origin, { connections: 2 });
    try {
      const [credentials] = signFlowCredentials(setup.signer, 1);
      const { steps, accessToken } = await runFlow(pool, setup, credentials!, SANDBOX_CUSTOMERS[0]!);
      assert.deepEqual(Object.keys(steps), ['par', 'authorize', 'login', 'consent', 'token']);
      const redis = createRedis({ url: started.servers.redisUrl, keyPrefix: OBIP_REDIS_PREFIX });
      try {
        const record = await createTokenStore(redis).find(accessToken);
        assert.equal(record?.grantType, 'authorization_code');
        assert.equal(record?.clientId, setup.signer.clientId);
        assert.equal(record?.cnf?.['x5t#S256'], started.servers.tpp.certificate.thumbprint);
        assert.ok(record?.consentId, 'the token carries the consent the customer gave');
      } finally {
        await closeRedis(redis);
      }
    } finally {
      await pool.close();
    }
    for (const pid of Object.values(started.pids)) assert.ok((rssMiB(pid) ?? 0) > 0, 'its RSS can be read');
  });

  test('a wrong password breaks the flow at the login step', async () => {
    const setup = { ...started.setup, customers: SANDBOX_CUSTOMERS };
    const pool = new Pool(setup.origin, { connections: 2 });
    try {
      const [credentials] = signFlowCredentials(setup.signer, 1);
      const customer = { username: 'amelia.hart', password: 'not-her-password' };
      await assert.rejects(
        runFlow(pool, setup, credentials!, customer),
        (error) => error instanceof FlowStepError && error.step === 'login',
      );
    } finally {
      await pool.close();
    }
  });

  test('the load generator counts completed flows, and broken ones as errors only', async () => {
    const common = {
      connections: 4,
      warmupSeconds: 0.5,
      durationSeconds: 2,
      mode: { kind: 'paced', rate: 1.5 } as const,
    };
    const good = await runFlowLoad({ ...common, setup: { ...started.setup, customers: SANDBOX_CUSTOMERS } });
    assert.ok(good.flows >= 3, `flows: ${good.flows}`);
    assert.equal(good.errors, 0, good.errorSamples.join('\n'));
    assert.ok(good.flowP99 >= good.flowP50 && good.flowP50 > 0);
    for (const step of ['par', 'authorize', 'login', 'consent', 'token'] as const)
      assert.ok(good.steps[step].p50 > 0, `${step} timed`);

    const wrong = await runFlowLoad({
      ...common,
      setup: { ...started.setup, customers: [{ username: 'rahul.mehta', password: 'wrong-password' }] },
    });
    assert.equal(wrong.flows, 0, 'no broken flow counts as a flow');
    assert.ok(wrong.errors >= 3, `errors: ${wrong.errors}`);
    assert.deepEqual(Object.keys(wrong.errorsByStep), ['login']);
  });
});
