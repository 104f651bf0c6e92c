import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ofKind, render, renderScenario, type K8sObject } from './render';

// The rate limits each routed service gets from the chart (services/*/src/config.ts, RATE_LIMIT_*
// and TRUSTED_PROXY_CIDRS), on by default, and the combination the chart refuses.
const ROUTED = ['auth-server', 'dcr-service', 'consent-service', 'token-introspection'];
const componentOf = (object: K8sObject) => object.metadata.labels?.['app.kubernetes.io/component'] as string;
const settingsIn = (objects: K8sObject[], name: string) =>
  ofKind(objects, 'ConfigMap').find((c) => componentOf(c) === name && c.data?.HTTP_PORT)!.data as Record<
    string,
    string
  >;
const rateLimitSettings = (settings: Record<string, string>) =>
  Object.fromEntries(
    Object.entries(settings).filter(([name]) => name.startsWith('RATE_LIMIT_') || name === 'TRUSTED_PROXY_CIDRS'),
  );

describe('rate limits', () => {
  const objects = renderScenario('minimal');
  const edge = '10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,100.64.0.0/10,fc00::/7';

  it('are on by default in every routed service, per address and per client, with the edge named', () => {
    assert.deepEqual(rateLimitSettings(settingsIn(objects, 'auth-server')), {
      RATE_LIMIT_WINDOW_MS: '60000',
      RATE_LIMIT_PER_ADDRESS_PER_MINUTE: '3000',
      TRUSTED_PROXY_CIDRS: edge,
    });
    assert.deepEqual(rateLimitSettings(settingsIn(objects, 'dcr-service')), {
      RATE_LIMIT_WINDOW_MS: '60000',
      RATE_LIMIT_PER_ADDRESS_PER_MINUTE: '300',
      RATE_LIMIT_PER_CLIENT_PER_MINUTE: '60',
      TRUSTED_PROXY_CIDRS: edge,
    });
    assert.deepEqual(rateLimitSettings(settingsIn(objects, 'consent-service')), {
      RATE_LIMIT_WINDOW_MS: '60000',
      RATE_LIMIT_PER_ADDRESS_PER_MINUTE: '1200',
      RATE_LIMIT_PER_CLIENT_PER_MINUTE: '600',
      TRUSTED_PROXY_CIDRS: edge,
    });
    assert.deepEqual(rateLimitSettings(settingsIn(objects, 'token-introspection')), {
      RATE_LIMIT_WINDOW_MS: '60000',
      RATE_LIMIT_PER_ADDRESS_PER_MINUTE: '6000',
      RATE_LIMIT_PER_CLIENT_PER_MINUTE: '30000',
      TRUSTED_PROXY_CIDRS: edge,
    });
    assert.deepEqual(rateLimitSettings(settingsIn(objects, 'config-api')), {}, 'config-api is not routed');
  });

  it('take their values per service, and the edge addresses from ingress.trustedProxyCidrs', () => {
    const result = render({
      scenarios: ['minimal'],
      setJson: [
        'dcrService.rateLimits={"windowMs":10000,"perAddressPerMinute":0,"perClientPerMinute":12}',
        'ingress.trustedProxyCidrs=["10.42.0.0/16","fd00:10:42::/56"]',
      ],
    });
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(rateLimitSettings(settingsIn(result.objects, 'dcr-service')), {
      RATE_LIMIT_WINDOW_MS: '10000',
      RATE_LIMIT_PER_ADDRESS_PER_MINUTE: '0',
      RATE_LIMIT_PER_CLIENT_PER_MINUTE: '12',
      TRUSTED_PROXY_CIDRS: '10.42.0.0/16,fd00:10:42::/56',
    });
  });

  it('refuses per-address limits without the edge addresses, naming every service and the fix', () => {
    const refused = render({ scenarios: ['minimal'], setJson: ['ingress.trustedProxyCidrs=[]'] });
    assert.notEqual(refused.status, 0);
    for (const values of ['authServer', 'dcrService', 'consentService', 'tokenIntrospection']) {
      assert.match(
        refused.stderr,
        new RegExp(`${values}\\.rateLimits\\.perAddressPerMinute is \\d+ but ingress\\.trustedProxyCidrs is empty`),
      );
    }
    assert.match(refused.stderr, /Fix: set ingress\.trustedProxyCidrs to the addresses the edge connects from/);

    const off = ['authServer', 'dcrService', 'consentService', 'tokenIntrospection'].map(
      (values) => `${values}.rateLimits.perAddressPerMinute=0`,
    );
    const allowed = render({ scenarios: ['minimal'], setJson: ['ingress.trustedProxyCidrs=[]', ...off] });
    assert.equal(allowed.status, 0, allowed.stderr);
    for (const name of ROUTED) {
      const settings = settingsIn(allowed.objects, name);
      assert.equal(settings.TRUSTED_PROXY_CIDRS, undefined, name);
      assert.equal(settings.RATE_LIMIT_PER_ADDRESS_PER_MINUTE, '0', name);
    }
  });

  it('refuses values the services would refuse: a negative limit, a window under a second, a malformed CIDR', () => {
    for (const pair of [
      'consentService.rateLimits.perClientPerMinute=-1',
      'tokenIntrospection.rateLimits.windowMs=500',
      'ingress.trustedProxyCidrs=["edge.example"]',
      'authServer.rateLimits.perClientPerMinute=10',
    ]) {
      const result = render({ scenarios: ['minimal'], setJson: [pair] });
      assert.notEqual(result.status, 0, pair);
      assert.match(result.stderr, /values don't meet the specifications of the schema/, pair);
    }
  });
});
