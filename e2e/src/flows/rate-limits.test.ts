// Rate limits end to end, through the edge twin with the real services as processes and their
// counters in the shared Redis: a noisy client is refused with 429, Retry-After and its API's
// error body while another client (its own certificate) is served; a noisy source address is
// refused while another address is served (the twin forwards each peer's loopback address, and
// overwrites any X-Forwarded-For a client sends); each window resets; /metrics counts refusals.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import * as oidc from 'openid-client';
import { Agent, fetch as undiciFetch, type Dispatcher, type Response } from 'undici';
import { attachServerLogsOnFailure, type TestSoftware } from '@obip/testing';
import { platformLogSources, startPlatform, type Platform, type ServiceName } from '../platform/platform';
import { ACCOUNT_ACCESS_CONSENTS } from './obie';

const WINDOW_MS = 3_000;
// Per window of 3 s: 3 intent calls per client and 10 per address, 3 registration calls per
// certificate, 10 calls to auth-server per address, 3 introspections per resource server. The
// setup's own traffic (from 127.0.0.1) stays under them.
const ENV: Partial<Record<ServiceName, Record<string, string>>> = {
  'consent-service': { RATE_LIMIT_PER_CLIENT_PER_MINUTE: '60', RATE_LIMIT_PER_ADDRESS_PER_MINUTE: '200' },
  'dcr-service': { RATE_LIMIT_PER_CLIENT_PER_MINUTE: '60' },
  'auth-server': { RATE_LIMIT_PER_ADDRESS_PER_MINUTE: '200' },
  'token-introspection': { RATE_LIMIT_PER_CLIENT_PER_MINUTE: '60' },
};
const EDGE = { TRUSTED_PROXY_CIDRS: '127.0.0.1/32', RATE_LIMIT_WINDOW_MS: String(WINDOW_MS) };

let platform: Platform;
const agents: Agent[] = [];
/** Two bank API gateways, each a resource server allowed to introspect. */
const gateways: { software: TestSoftware; clientId: string }[] = [];

attachServerLogsOnFailure({ sources: [platformLogSources(() => platform)] });

before(async () => {
  platform = await startPlatform({
    name: 'rate_limits',
    env: Object.fromEntries(
      (['dcr-service', 'auth-server', 'consent-service', 'token-introspection'] as const).map((name) => [
        name,
        { ...EDGE, ...ENV[name] },
      ]),
    ),
    startLate: ['token-introspection'],
    lateEnv: async (started) => {
      for (const clientName of ['Bank API gateway A', 'Bank API gateway B']) {
        const software = await started.directory.registerSoftware({ clientName });
        gateways.push({ software, clientId: (await started.register(software)).client_id });
      }
      return { 'token-introspection': { RESOURCE_SERVER_CLIENT_IDS: gateways.map((g) => g.clientId).join(',') } };
    },
  });
});

after(async () => {
  await Promise.all(agents.map((agent) => agent.close()));
  await platform?.stop();
});

/** Waits for the start of a fresh window, so a test's burst falls in one. */
async function startOfWindow(): Promise<void> {
  await sleep(WINDOW_MS - (Date.now() % WINDOW_MS) + 20);
}

/** A registered TPP: its software, client id, and a certificate-bound client_credentials token. */
async function registeredTpp() {
  const software = await platform.directory.registerSoftware();
  const registration = await platform.register(software);
  const config = await platform.relyingParty(software, registration.client_id);
  const { access_token: token } = await oidc.clientCredentialsGrant(config, { scope: 'accounts' });
  return { software, registration, token, agent: platform.tppAgent(software) };
}

type Tpp = Awaited<ReturnType<typeof registeredTpp>>;

/**
 * A client connecting from `localAddress` (a loopback address): a browser on the public host, or
 * with `software`'s transport certificate a TPP on the mTLS host.
 */
function clientFrom(localAddress: string, software?: TestSoftware): Agent {
  const certificate = software ? { cert: software.transport!.chainPem, key: software.transport!.keyPem } : {};
  // undici takes localAddress as a Client option: one inside `connect` is overwritten by it.
  const agent = new Agent({ localAddress, connect: { ca: platform.pki.caBundlePem, ...certificate } });
  agents.push(agent);
  return agent;
}

async function send(url: string, dispatcher: Dispatcher, headers: Record<string, string> = {}): Promise<Response> {
  const response = await undiciFetch(url, { headers: { accept: 'application/json', ...headers }, dispatcher });
  await response.arrayBuffer().catch(() => undefined);
  return response;
}

/** Sends `count` requests one after another; their statuses, and the first 429 answered. */
async function burst(count: number, request: (i: number) => Promise<Response>) {
  const statuses: number[] = [];
  let refusal: Response | undefined;
  for (let i = 0; i < count; i += 1) {
    const response = await request(i);
    statuses.push(response.status);
    if (response.status === 429 && !refusal) refusal = response;
    else await response.arrayBuffer().catch(() => undefined);
  }
  return { statuses, refusal };
}

/** Retry-After of a refusal, checked to be whole seconds within one window. */
function retryAfterOf(refusal: Response | undefined): number {
  const retryAfter = Number(refusal?.headers.get('retry-after'));
  assert.ok(
    Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= WINDOW_MS / 1000,
    `Retry-After ${retryAfter}`,
  );
  return retryAfter;
}

/** The value of `obip_rate_limited_requests_total{endpoint,reason}` on a service's /metrics. */
async function refusalsCounted(service: ServiceName, endpoint: string, reason: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${platform.service(service).ports.ops}/metrics`)).text();
  const line = text
    .split('\n')
    .find((entry) =>
      entry.startsWith(
        `obip_rate_limited_requests_total{endpoint="${endpoint}",reason="${reason}",service="${service}"} `,
      ),
    );
  return line === undefined ? 0 : Number(line.split(' ').pop());
}

describe('rate limits through the edge', () => {
  let noisy: Tpp;
  let quiet: Tpp;
  let consentIds: Map<Tpp, string>;

  before(async () => {
    noisy = await registeredTpp();
    quiet = await registeredTpp();
    consentIds = new Map();
    for (const tpp of [noisy, quiet]) {
      const created = await undiciFetch(`${platform.twin.mtlsUrl}${ACCOUNT_ACCESS_CONSENTS}`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${tpp.token}`,
          'content-type': 'application/json',
          accept: 'application/json',
        },
        body: JSON.stringify({
          Data: { Permissions: ['ReadAccountsBasic'], ExpirationDateTime: '2999-01-01T00:00:00+00:00' },
          Risk: {},
        }),
        dispatcher: tpp.agent,
      });
      assert.equal(created.status, 201, await created.clone().text());
      consentIds.set(tpp, ((await created.json()) as { Data: { ConsentId: string } }).Data.ConsentId);
    }
  });

  const readConsent = (tpp: Tpp) =>
    send(`${platform.twin.mtlsUrl}${ACCOUNT_ACCESS_CONSENTS}/${consentIds.get(tpp)}`, tpp.agent, {
      authorization: `Bearer ${tpp.token}`,
    });

  test('a noisy client of the OBIE intent APIs gets 429 in the OBIE envelope; another client is served; the next window is open', async () => {
    await startOfWindow();
    const { statuses, refusal } = await burst(5, () =>
      undiciFetch(`${platform.twin.mtlsUrl}${ACCOUNT_ACCESS_CONSENTS}/${consentIds.get(noisy)}`, {
        headers: { authorization: `Bearer ${noisy.token}`, accept: 'application/json' },
        dispatcher: noisy.agent,
      }),
    );
    assert.deepEqual(statuses, [200, 200, 200, 429, 429]);
    const retryAfter = retryAfterOf(refusal);
    const body = (await refusal!.json()) as { Code: string; Message: string; Errors: { ErrorCode: string }[] };
    assert.equal(body.Code, '429 TooManyRequests');
    assert.deepEqual(
      body.Errors.map((error) => error.ErrorCode),
      ['UK.OBIE.UnexpectedError'],
    );
    assert.match(body.Message, /more than 3 requests by this client/);

    const other = await readConsent(quiet);
    assert.equal(other.status, 200, 'the other client, in the same window, is served');

    await sleep(retryAfter * 1000);
    assert.equal((await readConsent(noisy)).status, 200, 'the noisy client is served again in the next window');
    assert.equal(await refusalsCounted('consent-service', 'open-banking', 'client'), 2);
  });

  test('a noisy client of the DCR management API gets 429 with the RFC 7591 error body; another client is served', async () => {
    const manage = (tpp: Tpp) =>
      undiciFetch(`${platform.twin.mtlsUrl}/register/${tpp.registration.client_id}`, {
        headers: { authorization: `Bearer ${tpp.registration.registration_access_token}`, accept: 'application/json' },
        dispatcher: tpp.agent,
      });
    await startOfWindow();
    const { statuses, refusal } = await burst(4, () => manage(noisy));
    assert.deepEqual(statuses, [200, 200, 200, 429]);
    retryAfterOf(refusal);
    assert.equal(refusal!.headers.get('cache-control'), 'no-store');
    const body = (await refusal!.json()) as { error: string; error_description: string };
    assert.equal(body.error, 'too_many_requests');
    assert.equal(typeof body.error_description, 'string');
    const other = await manage(quiet);
    assert.equal(other.status, 200, await other.clone().text());
    assert.equal(await refusalsCounted('dcr-service', 'register', 'client'), 1);
  });

  test('a noisy source address gets 429 at auth-server, whatever X-Forwarded-For it sends; another address is served; the next window is open', async () => {
    const discovery = `${platform.issuer}/.well-known/openid-configuration`;
    const noisyAddress = clientFrom('127.0.0.2');
    const quietAddress = clientFrom('127.0.0.3');
    await startOfWindow();
    // The twin replaces a client's X-Forwarded-For with the peer address, so forging one changes nothing.
    const { statuses, refusal } = await burst(12, (i) =>
      undiciFetch(discovery, { headers: { 'x-forwarded-for': `198.51.100.${i}` }, dispatcher: noisyAddress }),
    );
    assert.deepEqual(statuses, [...Array<number>(10).fill(200), 429, 429]);
    const retryAfter = retryAfterOf(refusal);
    const body = (await refusal!.json()) as { error: string };
    assert.equal(body.error, 'too_many_requests');

    assert.equal((await send(discovery, quietAddress)).status, 200, 'another address, in the same window, is served');
    const tpp = await platform.relyingParty(quiet.software, quiet.registration.client_id);
    await oidc.clientCredentialsGrant(tpp, { scope: 'accounts' }); // the setup's address (127.0.0.1) too

    await sleep(retryAfter * 1000);
    assert.equal((await send(discovery, noisyAddress)).status, 200, 'the noisy address is served again');
    assert.equal(await refusalsCounted('auth-server', 'oidc', 'address'), 2);
  });

  test('a noisy resource server gets 429 at /introspect with the OAuth error body; another resource server is served', async () => {
    const [noisyGateway, quietGateway] = await Promise.all(
      gateways.map((gateway) => platform.relyingParty(gateway.software, gateway.clientId)),
    );
    await startOfWindow();
    const outcomes: (number | string)[] = [];
    let refusal: { status?: number; error?: string; response?: globalThis.Response } | undefined;
    for (let i = 0; i < 4; i += 1) {
      await oidc.tokenIntrospection(noisyGateway!, noisy.token).then(
        (introspected) => outcomes.push(introspected.active ? 'active' : 'inactive'),
        (error: { status?: number; error?: string; response?: globalThis.Response }) => {
          outcomes.push(error.status ?? 'failed');
          refusal ??= error;
        },
      );
    }
    assert.deepEqual(outcomes, ['active', 'active', 'active', 429]);
    assert.equal(refusal?.error, 'too_many_requests');
    const retryAfter = Number(refusal?.response?.headers.get('retry-after'));
    assert.ok(retryAfter >= 1 && retryAfter <= WINDOW_MS / 1000, `Retry-After ${retryAfter}`);
    assert.equal(
      (await oidc.tokenIntrospection(quietGateway!, noisy.token)).active,
      true,
      'the other gateway is served',
    );
    assert.equal(await refusalsCounted('token-introspection', 'introspect', 'client'), 1);
  });

  test('a noisy source address gets 429 in the OBIE envelope before any token is checked; another address is not refused', async () => {
    const url = `${platform.twin.mtlsUrl}${ACCOUNT_ACCESS_CONSENTS}/${consentIds.get(quiet)}`;
    const noisyAddress = clientFrom('127.0.0.2', noisy.software);
    const quietAddress = clientFrom('127.0.0.3', noisy.software);
    await startOfWindow();
    // No token: each request is refused 401 by the intent API, yet counts against its address.
    const { statuses, refusal } = await burst(12, () =>
      undiciFetch(url, { headers: { accept: 'application/json' }, dispatcher: noisyAddress }),
    );
    assert.deepEqual(statuses, [...Array<number>(10).fill(401), 429, 429]);
    retryAfterOf(refusal);
    const body = (await refusal!.json()) as { Code: string; Message: string };
    assert.equal(body.Code, '429 TooManyRequests');
    assert.match(body.Message, /more than 10 requests by this address/);
    assert.equal(
      (await send(url, quietAddress)).status,
      401,
      'the same certificate from another address is not refused',
    );
    assert.equal(await refusalsCounted('consent-service', 'open-banking', 'address'), 2);
  });
});
