// Fault: the MongoDB-compatible server stops and comes back on the same port with its data.
// Registrations, intent creation, authorisation and revocation are refused with 503 within the
// driver's server-selection time, nothing is left half-written (every client has its audit
// entry, every consent's status agrees with its history, no consent changed by a refused
// write), and the same service processes serve again once the database answers.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as oidc from 'openid-client';
import { closeMongo, connectMongo } from '@obip/mongo';
import {
  attachServerLogsOnFailure,
  startMongoServer,
  testMongoUrl,
  withDatabase,
  type FormBrowser,
  type MongoServer,
  type PageResponse,
} from '@obip/testing';
import { BANK, platformLogSources, startPlatform, type Platform, type ServiceName } from '../platform/platform';
import { ACCOUNT_ACCESS_CONSENTS, authorizationUrlWithPar } from '../flows/obie';
import {
  errorCode,
  longest,
  opsRequest,
  registerTpp,
  tally,
  timedRequest,
  readinessNow,
  timeUntilReadiness,
  tokenRequest,
  type Outcome,
  type Tpp,
} from './faults';

const NAME = 'fault_mongo';
const CUSTOMER = { username: 'amelia.hart', password: 'Sandbox-Amelia-1' };
/** A refused write must be answered within this: the driver's 5 s server selection, and some. */
const FAIL_FAST_MS = 8_000;
/**
 * The consent decision waits on consent-service over gRPC: bounded by auth-server's deadline for
 * it (CONSENTS_GRPC_DEADLINE_MS, 10 s in the e2e platform, 2 s in production), and some.
 */
const DECISION_BOUND_MS = 12_000;
const MONGO_SERVICES: ServiceName[] = ['dcr-service', 'auth-server', 'consent-service'];

let mongo: MongoServer | undefined;
let mongoPort: number;
let dataDir: string;
let platform: Platform;

attachServerLogsOnFailure({
  sources: [platformLogSources(() => platform), { name: 'mongo', logs: () => mongo?.logs() ?? '' }],
});

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'obip-fault-mongo-'));
  mongo = await startMongoServer({ dataDir });
  if (mongo.kind === 'external') return;
  mongoPort = Number(new URL(mongo.url).port);
  platform = await startPlatform({ name: NAME, mongoUrl: mongo.url });
});

after(async () => {
  await platform?.stop();
  await mongo?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

/** The database platform.ts gave a service (`dcr`, `auth`, `consent`), on our own server. */
function databaseName(service: 'dcr' | 'consent'): string {
  return new URL(testMongoUrl(`${NAME}_${service}`)).pathname.slice(1);
}

function intentRequest(
  tpp: Tpp,
  token: string,
  method: 'POST' | 'GET' | 'DELETE',
  path = ACCOUNT_ACCESS_CONSENTS,
): Promise<Outcome> {
  return timedRequest(`${platform.twin.mtlsUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      accept: 'application/json',
      ...(method === 'POST' ? { 'content-type': 'application/json' } : {}),
    },
    ...(method === 'POST'
      ? {
          body: JSON.stringify({
            Data: { Permissions: ['ReadAccountsBasic'], ExpirationDateTime: '2999-01-01T00:00:00+00:00' },
            Risk: {},
          }),
        }
      : {}),
    dispatcher: tpp.agent,
  });
}

/** POST /register for a new software of the directory: the outcome and the software id. */
async function registration(): Promise<{ outcome: Outcome; softwareId: string }> {
  const software = await platform.directory.registerSoftware();
  const body = platform.directory.mintRegistrationRequest(software, {
    ssa: platform.directory.issueSsa(software),
    aud: BANK,
    claims: { response_types: ['code'] },
  });
  const outcome = await timedRequest(`${platform.twin.mtlsUrl}/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/jose', accept: 'application/json' },
    body,
    dispatcher: platform.tppAgent(software),
  });
  return { outcome, softwareId: software.softwareId };
}

function formAction(page: PageResponse): string {
  const action = /<form[^>]*action="([^"]+)"/.exec(page.body)?.[1];
  assert.ok(action, `no form on ${page.url} (status ${page.status}): ${page.body.slice(0, 300)}`);
  return new URL(action.replaceAll('&amp;', '&'), page.url).href;
}

/** Up to the consent page: PAR, login; the decision is posted later (during the outage). */
async function openConsentPage(tpp: Tpp, consentId: string) {
  const config = await platform.relyingParty(tpp.software, tpp.clientId);
  const request = await authorizationUrlWithPar(config, {
    redirectUri: tpp.software.redirectUris[0]!,
    scope: 'openid accounts',
    consentId,
  });
  const browser = platform.browser();
  const loginPage = await browser.follow(await browser.get(request.url.href));
  const consentPage = await browser.follow(
    await browser.post(
      formAction(loginPage),
      new URLSearchParams({ username: CUSTOMER.username, password: CUSTOMER.password }),
    ),
  );
  const accounts = [...consentPage.body.matchAll(/name="accounts"[^>]*value="([^"]+)"/g)].map((match) => match[1]!);
  assert.ok(accounts.length > 0, `a consent page: ${consentPage.status} ${consentPage.body.slice(0, 300)}`);
  const decision = new URLSearchParams([
    ...accounts.map((a) => ['accounts', a] as [string, string]),
    ['decision', 'approve'],
  ]);
  return { config, request, browser, action: formAction(consentPage), decision };
}

/** Posts the consent decision; the page the browser ends on, timed. */
async function decide(page: { browser: FormBrowser; action: string; decision: URLSearchParams }) {
  const at = Date.now();
  const landed = await page.browser.follow(await page.browser.post(page.action, page.decision));
  return { landed, ms: Date.now() - at };
}

describe('MongoDB-compatible server stopped', () => {
  test('writes refused with a fast 503, nothing half-written, recovery without a restart', async (t) => {
    if (mongo?.kind === 'external') return t.skip('MONGO_URL names a server this test cannot stop');
    const tpp = await registerTpp(platform);
    const token = (await tokenRequest(platform, tpp)).body as { access_token: string };
    const ccToken = token.access_token;
    const pids = Object.fromEntries(MONGO_SERVICES.map((name) => [name, platform.service(name).child.pid]));

    // Before the outage: one consent authorised (to be revoked during it), one at its consent page.
    const revocable = await intentRequest(tpp, ccToken, 'POST');
    assert.equal(revocable.status, 201, JSON.stringify(revocable.body));
    const revocableId = (revocable.body as { Data: { ConsentId: string } }).Data.ConsentId;
    const revocablePage = await openConsentPage(tpp, revocableId);
    const authorised = await decide(revocablePage);
    assert.ok(authorised.landed.location?.includes('code='), `authorised: ${authorised.landed.status}`);
    const pending = await intentRequest(tpp, ccToken, 'POST');
    const pendingId = (pending.body as { Data: { ConsentId: string } }).Data.ConsentId;
    const pendingPage = await openConsentPage(tpp, pendingId);

    // The fault.
    const stopStartedAt = Date.now();
    await mongo!.stop();
    const stopMs = Date.now() - stopStartedAt;
    const notReady = await timeUntilReadiness(platform, 503, 15_000, MONGO_SERVICES);

    const registrations = [];
    for (let i = 0; i < 3; i += 1) registrations.push(await registration());
    const creations = [await intentRequest(tpp, ccToken, 'POST'), await intentRequest(tpp, ccToken, 'POST')];
    const decision = await decide(pendingPage);
    const revocation = await intentRequest(tpp, ccToken, 'DELETE', `${ACCOUNT_ACCESS_CONSENTS}/${revocableId}`);

    const restartAt = Date.now();
    mongo = await startMongoServer({ dataDir, port: mongoPort });
    const ready = await timeUntilReadiness(platform, 200, 60_000, MONGO_SERVICES);
    const recoveryMs = Date.now() - restartAt;

    const refused = [...registrations.map((r) => r.outcome), ...creations, revocation];
    t.diagnostic(`mongo stop took ${stopMs} ms; time to not-ready (ms): ${JSON.stringify(notReady)}`);
    t.diagnostic(`during the outage: ${JSON.stringify(tally(refused))}, consent decision ${decision.landed.status}`);
    t.diagnostic(
      `longest refused write ${longest(refused)} ms, consent decision ${decision.ms} ms; ready after restart (ms): ${JSON.stringify(ready)}, total ${recoveryMs} ms`,
    );

    // 1. Not ready within seconds, ready again without a restart of the services.
    for (const name of MONGO_SERVICES) {
      assert.ok(notReady[name] !== undefined && notReady[name] < 8_000, `${name} not-ready after ${notReady[name]} ms`);
      if (ready[name] === undefined) assert.fail(`${name} not ready again: ${await readinessNow(platform, name)}`);
      assert.equal(platform.service(name).child.pid, pids[name], `${name} was not restarted`);
      assert.equal(platform.service(name).child.exitCode, null);
    }

    // 2. Every write refused with 503 and the spec's error, fast.
    for (const outcome of refused) {
      assert.equal(outcome.status, 503, `${outcome.status} ${JSON.stringify(outcome.body)}`);
      assert.ok(outcome.ms < FAIL_FAST_MS, `a refused write took ${outcome.ms} ms`);
    }
    for (const { outcome } of registrations) assert.equal(errorCode(outcome), 'temporarily_unavailable');
    for (const outcome of [...creations, revocation]) assert.equal(errorCode(outcome), 'UK.OBIE.UnexpectedError');
    assert.equal(
      decision.landed.status,
      503,
      `the consent decision: ${decision.landed.status} ${decision.landed.location}`,
    );
    assert.ok(decision.ms < DECISION_BOUND_MS, `the consent decision took ${decision.ms} ms`);

    // 3. Recovery: the same processes serve writes again.
    const after = await registration();
    assert.equal(after.outcome.status, 201, JSON.stringify(after.outcome.body));
    const created = await intentRequest(tpp, ccToken, 'POST');
    assert.equal(created.status, 201);
    // The refused decision can be sent again: the consent is authorised and tokens issued.
    const retried = await decide(pendingPage);
    assert.ok(retried.landed.location?.includes('code='), `retried decision: ${retried.landed.status}`);
    const tokens = await oidc.authorizationCodeGrant(pendingPage.config, new URL(retried.landed.location!), {
      pkceCodeVerifier: pendingPage.request.verifier,
      expectedState: pendingPage.request.state,
    });
    assert.equal(tokens.claims()?.openbanking_intent_id, pendingId);

    // 4. Nothing half-written.
    const open = (service: 'dcr' | 'consent') =>
      connectMongo({
        url: withDatabase(mongo!.url, databaseName(service)),
        dbName: databaseName(service),
        serverSelectionTimeoutMS: 5_000,
      }).then((connection) => ({ connection, db: connection.db! }));
    const [dcrStore, consentStore] = [await open('dcr'), await open('consent')];
    try {
      const dcr = dcrStore.db;
      const refusedSoftware = registrations.map((r) => r.softwareId);
      assert.equal(
        await dcr.collection('clients').countDocuments({ softwareId: { $in: refusedSoftware } }),
        0,
        'no client for a refused registration',
      );
      const clients = await dcr.collection('clients').find({}).toArray();
      assert.ok(clients.some((c) => c.softwareId === after.softwareId));
      for (const registered of clients) {
        const audit = await dcr.collection('client_audit').findOne({ clientId: registered._id, action: 'create' });
        assert.ok(audit, `client ${String(registered._id)} has its audit entry`);
      }

      const consents = await consentStore.db.collection('consents').find({}).toArray();
      for (const consent of consents) {
        const history = consent.history as { from: string | null; to: string }[];
        assert.equal(history.at(-1)?.to, consent.status, `consent ${String(consent._id)}: status agrees with history`);
        history.forEach((entry, i) => assert.equal(entry.from, i === 0 ? null : history[i - 1]!.to));
      }
      const byId = new Map(consents.map((consent) => [String(consent._id), consent]));
      assert.equal(byId.get(revocableId)?.status, 'Authorised', 'the refused revocation changed nothing');
      assert.equal(byId.get(revocableId)?.cascade ?? null, null, 'and queued no token cascade');
      assert.equal(byId.get(pendingId)?.status, 'Authorised', 'authorised by the retried decision');
      assert.equal(consents.length, 3, 'no consent from a refused creation');
    } finally {
      await Promise.all([closeMongo(dcrStore.connection), closeMongo(consentStore.connection)]);
    }
    const revokedNow = await intentRequest(tpp, ccToken, 'DELETE', `${ACCOUNT_ACCESS_CONSENTS}/${revocableId}`);
    assert.equal(revokedNow.status, 204, 'the revocation succeeds after recovery');
    const readiness = await opsRequest(platform, 'consent-service', '/readyz');
    assert.equal(readiness.status, 200);
  });
});
