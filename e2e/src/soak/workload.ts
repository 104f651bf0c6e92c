// The soak's mix, as a real TPP and its customers drive the platform through the edge: a
// journey is (sometimes) DCR registration of new software, a client_credentials token, an
// account-access intent, PAR + PKCE, the customer's login and consent on auth-server's pages,
// the code exchange, the bank gateway's RFC 7662 introspection of the new token, and three bank
// API calls with it (each introspected by the bank over gRPC). Between journeys: client_credentials
// tokens, each introspected by the gateway. Every step checks its answer; a wrong one throws.
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { Agent, fetch as undiciFetch } from 'undici';
import type { TestSoftware } from '@obip/testing';
import { ACCOUNT_ACCESS_CONSENTS, authorizationUrlWithPar } from '../flows/obie';
import { intentApi, loginAndConsent, type Platform } from '../platform/platform';

/** The operations the soak times, in journey order; `journey` is the whole, from when it was due. */
export const OPERATIONS = [
  'register',
  'cc-token',
  'intent',
  'par',
  'login-consent',
  'token',
  'introspect',
  'bank',
  'journey',
] as const;
export type Operation = (typeof OPERATIONS)[number];

/** The sandbox's customers (services/consent-service/src/customers/sandbox-customers.json). */
const CUSTOMERS = [
  { username: 'amelia.hart', password: 'Sandbox-Amelia-1', account: 'acc-22289-current' },
  { username: 'rahul.mehta', password: 'Sandbox-Rahul-2', account: 'acc-31754-current' },
  { username: 'grace.okafor', password: 'Sandbox-Grace-3', account: 'acc-40812-current' },
];
const PERMISSIONS = [
  'ReadAccountsDetail',
  'ReadBalances',
  'ReadTransactionsDetail',
  'ReadTransactionsCredits',
  'ReadTransactionsDebits',
];
const AISP = '/open-banking/v3.1/aisp';
/** FAPI 2.0 (the platform's default profile) allows response_type `code` only. */
const FAPI2_METADATA = { response_types: ['code'], scope: 'openid accounts' };
/** One journey in this many registers new software first (a TPP onboarding, then using it). */
export const REGISTER_EVERY = 10;
/** TPPs in use at once: new registrations replace the oldest, so the pool stays this size. */
const POOL_SIZE = 6;

interface Tpp {
  software: TestSoftware;
  config: oidc.Configuration;
  agent: Agent;
}

/** Records an operation's latency (ms) or its failure; the soak buckets them into windows. */
export type Recorder = (operation: Operation, outcome: { ms: number } | { error: unknown }) => void;

export interface Workload {
  /** One journey; `due` (performance.now()) is when it should have started. */
  journey(index: number, due: number): Promise<void>;
  /** A client_credentials token and the gateway's introspection of it, each timed from `due`. */
  background(index: number, due: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * Registers the first TPPs and returns the mix's operations, recording into `record`.
 * `bankUrl` is the demo bank's https origin; `gateway` the bank's RFC 7662 client.
 */
export async function createWorkload(options: {
  platform: Platform;
  gateway: oidc.Configuration;
  bankUrl: string;
  record: Recorder;
}): Promise<Workload> {
  const { platform, gateway, bankUrl, record } = options;
  // One agent per TPP for every call, not one per call (platform.tppAgent makes a new one).
  const agents = new Map<TestSoftware, Agent>();
  const edge = { twin: platform.twin, tppAgent: (software: TestSoftware) => agents.get(software)! };

  const onboard = async (name: string): Promise<Tpp> => {
    const software = await platform.directory.registerSoftware({ clientName: name });
    const { client_id: clientId } = await platform.register(software, FAPI2_METADATA);
    const agent = new Agent({
      connect: { ca: platform.pki.caBundlePem, cert: software.transport!.chainPem, key: software.transport!.keyPem },
    });
    agents.set(software, agent);
    return { software, config: await platform.relyingParty(software, clientId), agent };
  };
  const pool = await Promise.all(Array.from({ length: POOL_SIZE }, (_, i) => onboard(`Soak TPP ${i}`)));

  /** Runs `step`, records its latency from `from` (default: now), and returns its value. */
  const timed = async <Value>(operation: Operation, step: () => Promise<Value>, from = performance.now()) => {
    try {
      const value = await step();
      record(operation, { ms: performance.now() - from });
      return value;
    } catch (error) {
      record(operation, { error });
      throw error;
    }
  };

  const introspect = async (token: string) => {
    const answer = await oidc.tokenIntrospection(gateway, token);
    assert.equal(answer.active, true, `the gateway's introspection: ${JSON.stringify(answer)}`);
  };

  const bankCall = async (tpp: Tpp, token: string, path: string) => {
    const response = await undiciFetch(`${bankUrl}${path}`, {
      headers: { accept: 'application/json', authorization: `Bearer ${token}` },
      dispatcher: tpp.agent,
    });
    const body = await response.text();
    assert.equal(response.status, 200, `bank ${path}: ${response.status} ${body.slice(0, 300)}`);
  };

  return {
    async journey(index, due) {
      await timed(
        'journey',
        async () => {
          let tpp = pool[index % pool.length]!;
          if (index % REGISTER_EVERY === REGISTER_EVERY - 1) {
            tpp = await timed('register', () => onboard(`Soak TPP ${POOL_SIZE + index}`));
            // The new TPP replaces the one this slot held (its agent stays open for journeys in flight).
            pool[index % pool.length] = tpp;
          }
          const customer = CUSTOMERS[index % CUSTOMERS.length]!;
          const { access_token: ccToken } = await timed('cc-token', () =>
            oidc.clientCredentialsGrant(tpp.config, { scope: 'accounts' }),
          );
          const created = await timed('intent', async () => {
            const answer = await intentApi(edge, tpp.software, ccToken, 'POST', ACCOUNT_ACCESS_CONSENTS, {
              Data: { Permissions: PERMISSIONS, ExpirationDateTime: '2999-01-01T00:00:00+00:00' },
              Risk: {},
            });
            assert.equal(answer.status, 201, JSON.stringify(answer.body));
            return answer.body!.Data.ConsentId;
          });
          const { url, verifier, state } = await timed('par', () =>
            authorizationUrlWithPar(tpp.config, {
              redirectUri: tpp.software.redirectUris[0]!,
              scope: 'openid accounts',
              consentId: created,
            }),
          );
          const callback = await timed('login-consent', () =>
            loginAndConsent(platform.browser(), url, customer, { accounts: [customer.account] }),
          );
          const tokens = await timed('token', () =>
            oidc.authorizationCodeGrant(tpp.config, callback, { pkceCodeVerifier: verifier, expectedState: state }),
          );
          await timed('introspect', () => introspect(tokens.access_token));
          // As a budgeting app does on each visit: the accounts, then the one account's balance and history.
          for (const path of [
            `${AISP}/accounts`,
            `${AISP}/accounts/${customer.account}/balances`,
            `${AISP}/accounts/${customer.account}/transactions`,
          ])
            await timed('bank', () => bankCall(tpp, tokens.access_token, path));
        },
        due,
      );
    },

    async background(index, due) {
      const tpp = pool[index % pool.length]!;
      const { access_token: token } = await timed(
        'cc-token',
        () => oidc.clientCredentialsGrant(tpp.config, { scope: 'accounts' }),
        due,
      );
      await timed('introspect', () => introspect(token));
    },

    async close() {
      await Promise.all([...agents.values()].map((agent) => agent.close().catch(() => undefined)));
    },
  };
}
