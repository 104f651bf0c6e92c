import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { createTestPki, freePort, type IssuedCertificate } from '@obip/testing';
import {
  NGINX_HEADERS,
  postIntrospect,
  startHarness,
  startPeers,
  type Harness,
  type Peers,
} from '../testing/introspection.harness';

/** Issue 6: a revoked consent takes effect within one second, and an unreachable consent-service is never "active". */
describe('consent status at the hot path', () => {
  let peers: Peers;
  let harness: Harness;
  let gateway: IssuedCertificate;
  let asGateway: Record<string, string>;

  before(async () => {
    const pki = await createTestPki();
    peers = await startPeers();
    harness = await startHarness({ peers, env: { RESOURCE_SERVER_CLIENT_IDS: 'rs-tls' } });
    gateway = await pki.issueTppCertificate({ orgId: 'org', softwareId: 'gateway' });
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
  });

  const introspect = (token: string) => postIntrospect(harness.url, { token, client_id: 'rs-tls' }, asGateway);

  test('a consent revoked at consent-service makes its tokens inactive within one second', async () => {
    const consentId = `rev-${randomUUID()}`;
    peers.setConsent(consentId, 'CONSENT_STATUS_AUTHORISED', 'tpp-client');
    const { token } = await harness.issue({ consentId });
    // Warm the cache right before the revocation: the worst case for staleness.
    assert.equal((await introspect(token)).json().active, true);
    const revokedAt = performance.now();
    peers.setConsent(consentId, 'CONSENT_STATUS_REVOKED', 'tpp-client');

    const observations: Array<{ startedMs: number; active: boolean }> = [];
    while (performance.now() - revokedAt < 1_300) {
      const startedMs = performance.now() - revokedAt;
      const response = await introspect(token);
      assert.equal(response.status, 200);
      observations.push({ startedMs, active: response.json().active === true });
    }
    const firstInactive = observations.find((observation) => !observation.active);
    assert.ok(firstInactive, 'the token became inactive');
    assert.ok(firstInactive.startedMs <= 1_000, `inactive after ${Math.round(firstInactive.startedMs)} ms`);
    const lateActive = observations.filter((observation) => observation.active && observation.startedMs >= 1_000);
    assert.deepEqual(lateActive, [], 'no request started a second or more after the revocation saw the token active');
    assert.ok(
      observations.some((observation) => observation.active),
      'the cache did serve the Authorised status for a while (the test measures the cache, not a miss)',
    );
  });

  test('concurrent and repeated introspections of one consent share one GetConsentStatus call within the cache window', async () => {
    const consentId = `cache-${randomUUID()}`;
    peers.setConsent(consentId, 'CONSENT_STATUS_AUTHORISED', 'tpp-client');
    const tokens = await Promise.all(Array.from({ length: 5 }, () => harness.issue({ consentId })));
    const callsBefore = peers.consentCalls();
    const responses = await Promise.all(tokens.map(({ token }) => introspect(token)));
    assert.ok(responses.every((response) => response.json().active === true));
    assert.equal((await introspect(tokens[0]!.token)).json().active, true);
    assert.equal(peers.consentCalls() - callsBefore, 1);
  });

  test('a consent in use is read again in the background before its cached status expires', async () => {
    const consentId = `ahead-${randomUUID()}`;
    peers.setConsent(consentId, 'CONSENT_STATUS_AUTHORISED', 'tpp-client');
    const { token } = await harness.issue({ consentId });
    const callsBefore = peers.consentCalls();
    assert.equal((await introspect(token)).json().active, true);
    await new Promise((resolve) => setTimeout(resolve, 600));
    peers.setConsent(consentId, 'CONSENT_STATUS_REVOKED', 'tpp-client');
    // Past half the window: the cached answer serves at once...
    assert.equal((await introspect(token)).json().active, true);
    // ...and a fresh read starts behind it, with no request waiting for it (none is sent).
    const deadline = performance.now() + 5_000;
    while (peers.consentCalls() - callsBefore < 2 && performance.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(peers.consentCalls() - callsBefore, 2, 'the status was read again ahead of its expiry');
    assert.equal((await introspect(token)).json().active, false);
  });

  test('consent-service going down turns answers into 503 once the cached status is older than a second, never active', async () => {
    const otherPeers = await startPeers();
    const local = await startHarness({
      peers,
      consentsTarget: otherPeers.target,
      env: { RESOURCE_SERVER_CLIENT_IDS: 'rs-tls' },
    });
    try {
      const consentId = `down-${randomUUID()}`;
      otherPeers.setConsent(consentId, 'CONSENT_STATUS_AUTHORISED', 'tpp-client');
      const { token } = await local.issue({ consentId });
      const call = () => postIntrospect(local.url, { token, client_id: 'rs-tls' }, asGateway);
      assert.equal((await call()).json().active, true);
      await otherPeers.stop();
      await new Promise((resolve) => setTimeout(resolve, 1_050));
      const response = await call();
      assert.equal(response.status, 503);
      assert.equal(response.json().error, 'temporarily_unavailable');
      assert.equal(response.headers.get('cache-control'), 'no-store');
      assert.match(
        await local.metricsText(),
        /token_introspection_outcomes_total\{[^}]*outcome="consent_service_unavailable"[^}]*\} [1-9]/,
      );
    } finally {
      await local.stop();
    }
  });

  test('a consent-service that cannot be reached at all is a 503 for consent-bound tokens only', async () => {
    const local = await startHarness({
      peers,
      consentsTarget: `ipv4:///127.0.0.1:${await freePort()}`,
      env: { RESOURCE_SERVER_CLIENT_IDS: 'rs-tls' },
    });
    try {
      const bound = await local.issue({ consentId: `unreachable-${randomUUID()}` });
      const response = await postIntrospect(local.url, { token: bound.token, client_id: 'rs-tls' }, asGateway);
      assert.equal(response.status, 503);
      assert.equal(response.json().error, 'temporarily_unavailable');
      assert.ok(!response.text.includes('"active"'));
      const unbound = await local.issue({ grantType: 'client_credentials', subject: undefined });
      const clientCredentials = await postIntrospect(
        local.url,
        { token: unbound.token, client_id: 'rs-tls' },
        asGateway,
      );
      assert.equal(clientCredentials.json().active, true);
    } finally {
      await local.stop();
    }
  });

  test('dcr-service down: callers cannot be authenticated, so the answer is 503, never an introspection', async () => {
    const local = await startHarness({
      peers: { ...peers, target: `ipv4:///127.0.0.1:${await freePort()}` },
      consentsTarget: peers.target,
      env: { RESOURCE_SERVER_CLIENT_IDS: 'rs-tls' },
    });
    try {
      const { token } = await local.issue();
      const response = await postIntrospect(local.url, { token, client_id: 'rs-tls' }, asGateway);
      assert.equal(response.status, 503);
      assert.equal(response.json().error, 'temporarily_unavailable');
    } finally {
      await local.stop();
    }
  });
});
