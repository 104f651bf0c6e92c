// Live settings (issue 8) through the ingress twin: auth-server subscribed to a real gRPC Config
// server (config-api's double), a setting pushed while it serves, the next request under it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as nextLoop, setTimeout as sleep } from 'node:timers/promises';
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import * as oidc from 'openid-client';
import { clientsV1 } from '@obip/contracts';
import { createLogger } from '@obip/observability';
import {
  defaultPlatformSettings,
  writeCachedSnapshot,
  type PlatformConfig,
  type PlatformSettings,
} from '@obip/platform-config';
import { attachServerLogsOnFailure, startConfigApiDouble, type ConfigApiDouble } from '@obip/testing';
import {
  REDIRECT_URI,
  loginAndConsent,
  startHarness,
  type Harness,
  type TestTpp,
} from '../testing/auth-server.harness';

const FAPI2 = clientsV1.FapiProfile.FAPI_PROFILE_FAPI2_SECURITY;

/** The OAuth `error` of a failed openid-client call (ResponseBodyError). */
const oauthError = (code: string) => (error: unknown) => (error as { error?: string }).error === code;

async function waitFor(what: string, predicate: () => boolean, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > until) assert.fail(`timed out waiting until ${what}`);
    await sleep(10);
  }
}

/** Records what auth-server logs, as parsed JSON lines. */
function logCapture() {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger(
    { service: 'auth-server-test', level: 'info' },
    { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
  );
  return { lines, logger };
}

describe('live settings pushed by config-api apply without a restart', () => {
  let harness: Harness;
  let configApi: ConfigApiDouble;
  let settings: PlatformSettings;
  const logs = logCapture();
  attachServerLogsOnFailure({ sources: [{ name: 'ingress twin', logs: () => harness?.twin.logs() ?? '' }] });

  before(async () => {
    configApi = await startConfigApiDouble();
    harness = await startHarness({
      logger: logs.logger,
      env: ({ issuer }) => {
        settings = defaultPlatformSettings(issuer);
        configApi.publish({ settings });
        return { CONFIG_GRPC_TARGET: configApi.target };
      },
    });
    await waitFor('the first snapshot is applied', () => harness.server.liveSettings().version === 1);
  });
  after(async () => {
    await harness?.close();
    await configApi?.stop();
  });

  /** Publishes a changed copy of the settings and waits until auth-server runs under it. */
  async function publish(change: (next: PlatformSettings) => void): Promise<number> {
    const next = structuredClone(settings);
    change(next);
    settings = next;
    const version = configApi.publish({ settings: next });
    await waitFor(`version ${version} is in force`, () => harness.server.liveSettings().version === version);
    return version;
  }

  /** A relying party whose token endpoint responses are recorded (status, in order). */
  async function recordingRelyingParty(tpp: TestTpp) {
    const config = await harness.relyingParty(tpp);
    const inner = config[oidc.customFetch]!;
    const tokenStatuses: number[] = [];
    config[oidc.customFetch] = async (url, init) => {
      const response = await inner(url, init);
      if (new URL(url).pathname === '/token') tokenStatuses.push(response.status);
      return response;
    };
    return { config, tokenStatuses };
  }

  test('a new client_credentials lifetime is the expires_in of the next token', async () => {
    const tpp = await harness.registerTpp({ profile: FAPI2 });
    const config = await harness.relyingParty(tpp);
    const first = await oidc.clientCredentialsGrant(config, { scope: 'accounts' });
    assert.equal(first.expires_in, 300);
    const engineBefore = harness.server.provider();

    await publish((next) => (next.lifetimes.clientCredentialsSeconds = 120));
    const second = await oidc.clientCredentialsGrant(config, { scope: 'accounts' });
    assert.equal(second.expires_in, 120);
    assert.notEqual(harness.server.provider(), engineBefore, 'a new engine serves');
    assert.ok(await harness.tokenStore.find(first.access_token), 'tokens of the previous engine stay valid');
  });

  test('DPoP nonces: required, then not, then required again', async () => {
    const tpp = await harness.registerTpp({ profile: FAPI2, metadata: { dpop_bound_access_tokens: true } });
    const { config, tokenStatuses } = await recordingRelyingParty(tpp);
    const keyPair = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
      'sign',
      'verify',
    ])) as Parameters<typeof oidc.getDPoPHandle>[1];
    // A new handle per request carries no nonce from an earlier answer.
    const tokenWithFreshProof = async () => {
      tokenStatuses.length = 0;
      const tokens = await oidc.clientCredentialsGrant(
        config,
        { scope: 'accounts' },
        { DPoP: oidc.getDPoPHandle(config, keyPair) },
      );
      assert.equal(tokens.token_type.toLowerCase(), 'dpop');
      return [...tokenStatuses];
    };

    // RFC 9449 §8: a proof without a nonce gets use_dpop_nonce (400); the client retries with it.
    assert.deepEqual(await tokenWithFreshProof(), [400, 200]);
    await publish((next) => (next.requirements.dpopNonces = false));
    assert.deepEqual(await tokenWithFreshProof(), [200]);
    await publish((next) => (next.requirements.dpopNonces = true));
    assert.deepEqual(await tokenWithFreshProof(), [400, 200]);
  });

  test('signing algorithms: a client assertion signed with an algorithm no longer accepted is refused', async () => {
    const tpp = await harness.registerTpp({ profile: FAPI2 });
    const config = await harness.relyingParty(tpp);
    await oidc.clientCredentialsGrant(config, { scope: 'accounts' });

    await publish((next) => (next.signingAlgorithms = ['ES256', 'EdDSA']));
    try {
      const discovery = (await harness.relyingParty(tpp)).serverMetadata();
      assert.deepEqual(discovery.token_endpoint_auth_signing_alg_values_supported, ['ES256', 'EdDSA']);
      assert.deepEqual(discovery.request_object_signing_alg_values_supported, ['ES256', 'EdDSA']);
      assert.deepEqual(discovery.dpop_signing_alg_values_supported, ['ES256', 'EdDSA']);
      // The client registered PS256 for its assertions: the engine refuses it and says why.
      await assert.rejects(
        oidc.clientCredentialsGrant(config, { scope: 'accounts' }),
        (error: { error?: string; status?: number }) =>
          error.error === 'invalid_client_metadata' && error.status === 400,
      );
    } finally {
      await publish((next) => (next.signingAlgorithms = ['PS256', 'ES256', 'EdDSA']));
    }
    await oidc.clientCredentialsGrant(config, { scope: 'accounts' });
  });

  test('PAR for FAPI 1.0: a request object by value is refused once the setting is on', async () => {
    const tpp = await harness.registerTpp({
      profile: clientsV1.FapiProfile.FAPI_PROFILE_FAPI1_ADVANCED,
      metadata: { response_types: ['code id_token'], request_object_signing_alg: 'PS256' },
    });
    const config = await harness.relyingParty(tpp);
    oidc.useCodeIdTokenResponseType(config);
    const key = await crypto.subtle.importKey(
      'jwk',
      tpp.signingKey.privateJwk,
      { name: 'RSA-PSS', hash: 'SHA-256' },
      false,
      ['sign'],
    );
    const byValue = () =>
      oidc.buildAuthorizationUrlWithJAR(
        config,
        { redirect_uri: REDIRECT_URI, scope: 'openid accounts', nonce: oidc.randomNonce(), state: 'fapi1' },
        { key, kid: tpp.signingKey.kid } as unknown as oidc.PrivateKey,
      );
    const first = await harness.browser().get((await byValue()).href);
    assert.equal(first.status, 303);
    assert.ok(first.location?.startsWith(`${harness.issuer}/interaction/`), 'by value is allowed by default');

    await publish((next) => {
      next.defaultFapiProfile = 'fapi1-advanced';
      next.requirements.parForFapi1 = true;
    });
    try {
      // The engine will not trust a request object that did not come through PAR: an error page, no redirect.
      const refused = await harness.browser().get((await byValue()).href);
      assert.equal(refused.status, 400);
      assert.equal(refused.location, undefined);
      assert.match(refused.body, /invalid_request/);
      assert.equal((await harness.relyingParty(tpp)).serverMetadata().require_pushed_authorization_requests, true);

      await publish((next) => (next.requirements.parForFapi1 = false));
      assert.equal((await harness.relyingParty(tpp)).serverMetadata().require_pushed_authorization_requests, false);
    } finally {
      await publish((next) => {
        next.defaultFapiProfile = 'fapi2-security';
        next.requirements.parForFapi1 = false;
      });
    }
  });

  test('rate limits apply from the next request; the engine is not rebuilt for them', async () => {
    const tpp = await harness.registerTpp({ profile: FAPI2 });
    const config = await harness.relyingParty(tpp);
    const engineBefore = harness.server.provider();
    await publish((next) => (next.rateLimits.tokenRequestsPerClientPerMinute = 1));
    try {
      assert.equal(harness.server.provider(), engineBefore);
      await oidc.clientCredentialsGrant(config, { scope: 'accounts' });
      await assert.rejects(oidc.clientCredentialsGrant(config, { scope: 'accounts' }), oauthError('too_many_requests'));
    } finally {
      await publish((next) => (next.rateLimits.tokenRequestsPerClientPerMinute = 600));
    }
    await oidc.clientCredentialsGrant(config, { scope: 'accounts' });
  });

  test('a flow begun on one engine finishes on the next', async () => {
    const tpp = await harness.registerTpp({ profile: FAPI2 });
    const config = await harness.relyingParty(tpp);
    const verifier = oidc.randomPKCECodeVerifier();
    const authorizationUrl = await oidc.buildAuthorizationUrlWithPAR(config, {
      redirect_uri: REDIRECT_URI,
      scope: 'openid accounts',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state: 'across',
    });
    await publish((next) => (next.lifetimes.accessTokenSeconds = 240));
    const callback = await loginAndConsent(harness.browser(), authorizationUrl);
    await publish((next) => (next.lifetimes.idTokenSeconds = 200));
    const tokens = await oidc.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: verifier,
      expectedState: 'across',
    });
    assert.equal(tokens.expires_in, 240);
    const claims = tokens.claims()!;
    assert.equal(claims.exp - claims.iat, 200);
  });

  test('an issuer change is logged and waits for the next start', async () => {
    const tpp = await harness.registerTpp({ profile: FAPI2 });
    const version = await publish((next) => (next.issuer = 'https://auth.bank.example'));
    try {
      assert.equal((await harness.relyingParty(tpp)).serverMetadata().issuer, harness.issuer);
      assert.ok(
        logs.lines.some(
          (line) =>
            line.level === 'warn' && line.version === version && line.platformIssuer === 'https://auth.bank.example',
        ),
      );
    } finally {
      await publish((next) => (next.issuer = harness.issuer));
    }
  });

  test('an invalid snapshot is ignored and the settings in force stay', async () => {
    const tpp = await harness.registerTpp({ profile: FAPI2 });
    const config = await harness.relyingParty(tpp);
    const inForce = harness.server.liveSettings().version;
    const invalid = structuredClone(settings);
    invalid.lifetimes.authorizationCodeSeconds = 600; // FAPI 2.0 SP 5.3.2.1: at most 60
    const version = configApi.publish({ settings: invalid });
    await waitFor('the refusal is logged', () =>
      logs.lines.some((line) => line.level === 'warn' && line.version === version && Array.isArray(line.issues)),
    );
    assert.equal(harness.server.liveSettings().version, inForce);
    assert.equal((await oidc.clientCredentialsGrant(config, { scope: 'accounts' })).expires_in, 120);
  });

  test('a replaced engine is released', async (t) => {
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
    assert.equal(replaced.deref(), undefined, `still referenced (heap ${getHeapStatistics().used_heap_size})`);
  });
});

describe('a restart while config-api is down', () => {
  let harness: Harness;
  const dir = mkdtempSync(join(tmpdir(), 'obip-auth-live-'));
  const cacheFile = join(dir, 'platform-config.json');

  before(async () => {
    harness = await startHarness({
      env: async ({ issuer }) => {
        const settings = defaultPlatformSettings(issuer);
        settings.lifetimes.clientCredentialsSeconds = 90;
        const cached: PlatformConfig = { settings, directories: [], trustAnchors: [] };
        // Written before auth-server starts, as a previous run would have left it.
        await writeCachedSnapshot(cacheFile, { version: 7, settingsJson: JSON.stringify(cached), updatedAt: 1 });
        return { CONFIG_GRPC_TARGET: 'ipv4:///127.0.0.1:1', CONFIG_CACHE_FILE: cacheFile };
      },
    });
  });
  after(async () => {
    await harness?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('starts with the settings it cached, without waiting for config-api', async () => {
    assert.equal(harness.server.liveSettings().version, 7);
    const tpp = await harness.registerTpp({ profile: FAPI2 });
    const tokens = await oidc.clientCredentialsGrant(await harness.relyingParty(tpp), { scope: 'accounts' });
    assert.equal(tokens.expires_in, 90);
  });
});
