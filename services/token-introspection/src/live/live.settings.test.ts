import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { defaultPlatformSettings, type PlatformSettings } from '@obip/platform-config';
import { createTestPki, startConfigApiDouble, type ConfigApiDouble } from '@obip/testing';
import {
  NGINX_HEADERS,
  postIntrospect,
  startHarness,
  startPeers,
  type Harness,
  type Peers,
} from '../testing/introspection.harness';
import { liveSettingsFromEnvironment, liveSettingsFromPlatform } from './live.settings';

async function waitFor(what: string, predicate: () => boolean, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > until) assert.fail(`timed out waiting until ${what}`);
    await sleep(10);
  }
}

const withConsentCache = (consentStatusCacheMs: number): PlatformSettings => ({
  ...defaultPlatformSettings('https://as.bank.test'),
  introspection: { consentStatusCacheMs },
});

describe('live settings', () => {
  test('come from CONSENT_STATUS_CACHE_MS until a platform config gives introspection.consentStatusCacheMs', () => {
    assert.deepEqual(liveSettingsFromEnvironment({ CONSENT_STATUS_CACHE_MS: 250 }), { consentStatusCacheMs: 250 });
    assert.deepEqual(liveSettingsFromPlatform(withConsentCache(0)), { consentStatusCacheMs: 0 });
  });
});

/** Issue 8: the consent status cache an admin sets on config-api applies without a restart. */
describe('consent status cache published by config-api', () => {
  let configApi: ConfigApiDouble;
  let peers: Peers;
  let harness: Harness | undefined;
  let asGateway: Record<string, string>;

  const running = () => {
    assert.ok(harness, 'the harness runs');
    return harness;
  };

  before(async () => {
    const pki = await createTestPki();
    configApi = await startConfigApiDouble();
    configApi.publish({ settings: withConsentCache(1_000) });
    peers = await startPeers();
    harness = await startHarness({
      peers,
      env: { RESOURCE_SERVER_CLIENT_IDS: 'rs-tls', CONFIG_GRPC_TARGET: configApi.target },
    });
    await waitFor('the first snapshot is applied', () => running().components.liveSettings().version === 1);
    const gateway = await pki.issueTppCertificate({ orgId: 'org', softwareId: 'gateway' });
    asGateway = NGINX_HEADERS(gateway.certPem);
    peers.registerClient({
      clientId: 'rs-tls',
      tlsClientAuthSubjectDn: 'CN=gateway,OU=org,O=OpenBanking,C=GB',
      metadata: { token_endpoint_auth_method: 'tls_client_auth' },
    });
  });
  after(async () => {
    await harness?.stop();
    await peers?.stop();
    await configApi?.stop();
  });

  const introspect = async (token: string) => {
    const response = await postIntrospect(running().url, { token, client_id: 'rs-tls' }, asGateway);
    assert.equal(response.status, 200);
    return response.json().active === true;
  };

  test('with consentStatusCacheMs 0 published, a revoked consent is seen by the very next introspection', async () => {
    const consentId = `live-${randomUUID()}`;
    peers.setConsent(consentId, 'CONSENT_STATUS_AUTHORISED', 'tpp-client');
    const { token } = await running().issue({ consentId });

    // Under the published 1000 ms, two introspections share one GetConsentStatus call.
    const callsBefore = peers.consentCalls();
    assert.equal(await introspect(token), true);
    assert.equal(await introspect(token), true);
    assert.equal(peers.consentCalls() - callsBefore, 1);

    const version = configApi.publish({ settings: withConsentCache(0) });
    await waitFor(`version ${version} is in force`, () => running().components.liveSettings().version === version);
    assert.equal(running().components.liveSettings().settings.consentStatusCacheMs, 0);

    // The status cached under 1000 ms is not reused: the revocation shows at once.
    peers.setConsent(consentId, 'CONSENT_STATUS_REVOKED', 'tpp-client');
    assert.equal(await introspect(token), false);
    peers.setConsent(consentId, 'CONSENT_STATUS_AUTHORISED', 'tpp-client');
    const callsUncached = peers.consentCalls();
    assert.equal(await introspect(token), true);
    assert.equal(await introspect(token), true);
    assert.equal(peers.consentCalls() - callsUncached, 2, 'every introspection asks consent-service');
  });

  test('stopping token-introspection ends its watch on config-api', async () => {
    assert.equal(configApi.watchers(), 1);
    await running().stop();
    harness = undefined;
    await waitFor('the watch is closed', () => configApi.watchers() === 0);
  });
});
