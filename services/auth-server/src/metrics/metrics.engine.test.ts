// auth-server's metrics (metrics.engine.ts) moved by real flows through the ingress twin:
// openid-client as the TPP, a config-api double pushing live settings, SIGNING_KEYS_FILE
// rewritten while serving. Each test reads every obip_ counter before and after and asserts the
// exact series that moved, by how much, and that nothing else moved.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as nextLoop, setTimeout as sleep } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import * as oidc from 'openid-client';
import { clientsV1 } from '@obip/contracts';
import { createLogger, createMetrics, startOpsServer, type ServiceMetrics } from '@obip/observability';
import { defaultPlatformSettings, type PlatformSettings } from '@obip/platform-config';
import {
  attachServerLogsOnFailure,
  generateSigningKey,
  startConfigApiDouble,
  type ConfigApiDouble,
} from '@obip/testing';
import { generateSigningJwk } from '../keys/keys.signing';
import { REDIRECT_URI, loginAndConsent, startHarness, type Harness } from '../testing/auth-server.harness';
import { errorCodeLabel, grantTypeLabel } from './metrics.engine';

const FAPI2 = clientsV1.FapiProfile.FAPI_PROFILE_FAPI2_SECURITY;
const FAPI1 = clientsV1.FapiProfile.FAPI_PROFILE_FAPI1_ADVANCED;

/** The OAuth `error` of a failed openid-client call (ResponseBodyError). */
const oauthError = (code: string) => (error: unknown) => (error as { error?: string }).error === code;

async function waitFor(what: string, predicate: () => boolean, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > until) assert.fail(`timed out waiting until ${what}`);
    await sleep(20);
  }
}

/** Every obip_ series as `name{label="value",…}` (labels sorted, the default `service` left out) → value. */
async function obipSeries(metrics: ServiceMetrics): Promise<Map<string, number>> {
  const series = new Map<string, number>();
  for (const metric of await metrics.registry.getMetricsAsJSON()) {
    if (!metric.name.startsWith('obip_')) continue;
    for (const { labels, value } of metric.values) {
      const own = Object.entries(labels)
        .filter(([name]) => name !== 'service')
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([name, labelValue]) => `${name}="${String(labelValue)}"`);
      series.set(`${metric.name}{${own.join(',')}}`, value);
    }
  }
  return series;
}

describe("auth-server's metrics from the engine's events, engine rebuilds and the rate limiter", () => {
  let harness: Harness;
  let configApi: ConfigApiDouble;
  let settings: PlatformSettings;
  const metrics = createMetrics({ service: 'auth-server-test' });
  const dir = mkdtempSync(join(tmpdir(), 'obip-auth-metrics-'));
  const keysFile = join(dir, 'signing-keys.json');
  attachServerLogsOnFailure({ sources: [{ name: 'ingress twin', logs: () => harness?.twin.logs() ?? '' }] });

  /** Replaces the signing keys file in one step, as a Kubernetes Secret volume swaps its link. */
  function writeKeys(keys: unknown[]): void {
    writeFileSync(`${keysFile}.tmp`, JSON.stringify({ keys }));
    renameSync(`${keysFile}.tmp`, keysFile);
  }

  before(async () => {
    writeKeys([await generateSigningJwk('PS256'), await generateSigningJwk('ES256')]);
    configApi = await startConfigApiDouble();
    harness = await startHarness({
      metrics,
      env: ({ issuer }) => {
        settings = defaultPlatformSettings(issuer);
        configApi.publish({ settings });
        return { CONFIG_GRPC_TARGET: configApi.target, SIGNING_KEYS_FILE: keysFile, SIGNING_KEYS_RELOAD_MS: '100' };
      },
    });
    await waitFor('the first snapshot is applied', () => harness.server.liveSettings().version === 1);
  });
  after(async () => {
    await harness?.close();
    await configApi?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The obip_ series `action` moved, with how much each moved. */
  async function movedBy(action: () => Promise<unknown>): Promise<Record<string, number>> {
    const before = await obipSeries(metrics);
    await action();
    const moved: Record<string, number> = {};
    for (const [series, value] of await obipSeries(metrics)) {
      const change = value - (before.get(series) ?? 0);
      if (change !== 0) moved[series] = change;
    }
    return moved;
  }

  /** Publishes a changed copy of the live settings and waits until auth-server runs under it. */
  async function publish(change: (next: PlatformSettings) => void): Promise<void> {
    const next = structuredClone(settings);
    change(next);
    settings = next;
    const version = configApi.publish({ settings: next });
    await waitFor(`version ${version} is in force`, () => harness.server.liveSettings().version === version);
  }

  /** PAR + PKCE (S256), then login and consent with `decision`; the redirect back to the TPP. */
  async function authorize(config: oidc.Configuration, decision: 'approve' | 'deny' = 'approve') {
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const authorizationUrl = await oidc.buildAuthorizationUrlWithPAR(config, {
      redirect_uri: REDIRECT_URI,
      scope: 'openid accounts',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
    });
    const callback = await loginAndConsent(harness.browser(), authorizationUrl, decision);
    return { callback, verifier, state };
  }

  test('a client_credentials token counts once, under its grant type and the profile of its client', async () => {
    const fapi2 = await harness.relyingParty(await harness.registerTpp({ profile: FAPI2 }));
    assert.deepEqual(await movedBy(() => oidc.clientCredentialsGrant(fapi2, { scope: 'accounts' })), {
      'obip_tokens_issued_total{grant_type="client_credentials",profile="fapi2-security"}': 1,
    });
    const fapi1 = await harness.relyingParty(await harness.registerTpp({ profile: FAPI1 }));
    assert.deepEqual(await movedBy(() => oidc.clientCredentialsGrant(fapi1, { scope: 'accounts' })), {
      'obip_tokens_issued_total{grant_type="client_credentials",profile="fapi1-advanced"}': 1,
    });
  });

  test('a token request whose client assertion is signed by an unregistered key counts one invalid_client at /token and no token', async () => {
    const tpp = await harness.registerTpp({ profile: FAPI2 });
    const stranger = await generateSigningKey('PS256');
    const key = await crypto.subtle.importKey('jwk', stranger.privateJwk, { name: 'RSA-PSS', hash: 'SHA-256' }, false, [
      'sign',
    ]);
    const config = await harness.relyingParty(tpp, {
      clientAuth: oidc.PrivateKeyJwt({ key, kid: stranger.kid } as unknown as oidc.PrivateKey),
    });
    assert.deepEqual(
      await movedBy(() =>
        assert.rejects(oidc.clientCredentialsGrant(config, { scope: 'accounts' }), oauthError('invalid_client')),
      ),
      { 'obip_engine_errors_total{endpoint="token",error="invalid_client"}': 1 },
    );
  });

  test('PAR, login and consent count one PAR request and one successful authorisation; the code and the refresh one token each', async () => {
    const config = await harness.relyingParty(await harness.registerTpp({ profile: FAPI2 }));
    let flow: Awaited<ReturnType<typeof authorize>> | undefined;
    assert.deepEqual(
      await movedBy(async () => {
        flow = await authorize(config);
      }),
      {
        'obip_par_requests_total{profile="fapi2-security"}': 1,
        'obip_authorizations_total{outcome="success",profile="fapi2-security"}': 1,
      },
    );
    let refreshToken = '';
    assert.deepEqual(
      await movedBy(async () => {
        const tokens = await oidc.authorizationCodeGrant(config, flow!.callback, {
          pkceCodeVerifier: flow!.verifier,
          expectedState: flow!.state,
        });
        refreshToken = tokens.refresh_token!;
      }),
      { 'obip_tokens_issued_total{grant_type="authorization_code",profile="fapi2-security"}': 1 },
    );
    assert.deepEqual(await movedBy(() => oidc.refreshTokenGrant(config, refreshToken)), {
      'obip_tokens_issued_total{grant_type="refresh_token",profile="fapi2-security"}': 1,
    });
  });

  test('a denied consent counts one denied authorisation and one access_denied at the authorization endpoint', async () => {
    const config = await harness.relyingParty(await harness.registerTpp({ profile: FAPI2 }));
    assert.deepEqual(
      await movedBy(async () => {
        const { callback } = await authorize(config, 'deny');
        assert.equal(callback.searchParams.get('error'), 'access_denied');
      }),
      {
        'obip_par_requests_total{profile="fapi2-security"}': 1,
        'obip_authorizations_total{outcome="denied",profile="fapi2-security"}': 1,
        'obip_engine_errors_total{endpoint="authorization",error="access_denied"}': 1,
      },
    );
  });

  test('a DPoP proof without a nonce counts one nonce challenge at /token; the retry with the nonce counts one token', async () => {
    const tpp = await harness.registerTpp({ profile: FAPI2, metadata: { dpop_bound_access_tokens: true } });
    const config = await harness.relyingParty(tpp);
    const keyPair = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
      'sign',
      'verify',
    ])) as Parameters<typeof oidc.getDPoPHandle>[1];
    // requirements.dpopNonces is on by default: openid-client gets use_dpop_nonce, then retries with it.
    assert.deepEqual(
      await movedBy(() =>
        oidc.clientCredentialsGrant(config, { scope: 'accounts' }, { DPoP: oidc.getDPoPHandle(config, keyPair) }),
      ),
      {
        'obip_dpop_nonce_challenges_total{endpoint="token"}': 1,
        'obip_engine_errors_total{endpoint="token",error="use_dpop_nonce"}': 1,
        'obip_tokens_issued_total{grant_type="client_credentials",profile="fapi2-security"}': 1,
      },
    );
  });

  test("a live settings change that needs a new engine counts one rebuild, and the new engine's events count once", async () => {
    const config = await harness.relyingParty(await harness.registerTpp({ profile: FAPI2 }));
    const engineBefore = harness.server.provider();
    assert.deepEqual(await movedBy(() => publish((next) => (next.lifetimes.clientCredentialsSeconds = 200))), {
      'obip_engine_rebuilds_total{cause="settings"}': 1,
    });
    assert.notEqual(harness.server.provider(), engineBefore, 'a new engine serves');
    assert.deepEqual(await movedBy(() => oidc.clientCredentialsGrant(config, { scope: 'accounts' })), {
      'obip_tokens_issued_total{grant_type="client_credentials",profile="fapi2-security"}': 1,
    });
  });

  test('a new signing keys file counts one rebuild with cause signing_keys', async () => {
    const engineBefore = harness.server.provider();
    assert.deepEqual(
      await movedBy(async () => {
        writeKeys([await generateSigningJwk('PS256'), await generateSigningJwk('ES256')]);
        await waitFor('the new keys are in force', () => harness.server.provider() !== engineBefore);
      }),
      { 'obip_engine_rebuilds_total{cause="signing_keys"}': 1 },
    );
  });

  test('every 429 of the rate limiter counts under its endpoint; a rate limit change rebuilds nothing', async () => {
    const config = await harness.relyingParty(await harness.registerTpp({ profile: FAPI2 }));
    assert.deepEqual(await movedBy(() => publish((next) => (next.rateLimits.tokenRequestsPerClientPerMinute = 1))), {});
    try {
      const refused: number[] = [];
      const moved = await movedBy(async () => {
        // One request a window: of three, at least one falls in a window already used, wherever
        // the window boundary lies.
        for (let i = 0; i < 3; i += 1) {
          await oidc.clientCredentialsGrant(config, { scope: 'accounts' }).catch((error: { status?: number }) => {
            assert.equal(error.status, 429);
            refused.push(i);
          });
        }
      });
      assert.ok(refused.length >= 1, 'at least one request is refused');
      assert.deepEqual(moved, {
        'obip_rate_limited_requests_total{endpoint="token",reason="client"}': refused.length,
        'obip_tokens_issued_total{grant_type="client_credentials",profile="fapi2-security"}': 3 - refused.length,
      });
    } finally {
      await publish((next) => (next.rateLimits.tokenRequestsPerClientPerMinute = 600));
    }
  });

  test('/metrics on the ops port serves them with the service label', async () => {
    const ops = await startOpsServer({
      host: '127.0.0.1',
      port: 0,
      registry: metrics.registry,
      checks: [],
      logger: createLogger({ service: 'auth-server-test', level: 'silent' }),
    });
    try {
      const text = await (await fetch(`http://127.0.0.1:${ops.port}/metrics`)).text();
      for (const name of [
        'obip_tokens_issued_total',
        'obip_authorizations_total',
        'obip_engine_errors_total',
        'obip_par_requests_total',
        'obip_dpop_nonce_challenges_total',
        'obip_engine_rebuilds_total',
        'obip_rate_limited_requests_total',
      ]) {
        assert.match(text, new RegExp(`^# TYPE ${name} counter$`, 'm'));
      }
      assert.match(
        text,
        /^obip_tokens_issued_total\{grant_type="client_credentials",profile="fapi2-security",service="auth-server-test"\} [1-9]\d*$/m,
      );
    } finally {
      await ops.close();
    }
  });

  test('an engine replaced while its events are counted is released', async (t) => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as (() => void) | undefined;
    if (typeof gc !== 'function') return t.skip('no gc() in this runtime');
    const replaced = new WeakRef(harness.server.provider());
    await publish((next) => (next.lifetimes.idTokenSeconds = 180));
    for (let attempt = 0; attempt < 20 && replaced.deref() !== undefined; attempt += 1) {
      await nextLoop();
      gc();
      await sleep(50);
    }
    assert.equal(replaced.deref(), undefined, 'the replaced engine is still referenced');
  });
});

describe('metric label values stay within fixed sets', () => {
  test('an error code the engine does not define is counted as other', () => {
    assert.equal(errorCodeLabel('invalid_grant'), 'invalid_grant');
    assert.equal(errorCodeLabel('use_dpop_nonce'), 'use_dpop_nonce');
    assert.equal(errorCodeLabel('made_up_by_a_client'), 'other');
    assert.equal(errorCodeLabel(undefined), 'other');
  });

  test('a grant type auth-server does not serve is counted as other', () => {
    assert.equal(grantTypeLabel('urn:openid:params:grant-type:ciba'), 'urn:openid:params:grant-type:ciba');
    assert.equal(grantTypeLabel('password'), 'other');
    assert.equal(grantTypeLabel(['client_credentials']), 'other');
  });
});
