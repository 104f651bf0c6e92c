// The chart's edge objects are the route table files/routes.json, which libs/testing's nginx twin
// also renders from: same hosts, same paths, same services, nothing else.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CHART, ofKind, render, renderScenario, type K8sObject } from './render';

interface RouteTable {
  hosts: Record<'public' | 'mtls', { routes: Array<{ path: string; service: string }> }>;
}
const table = JSON.parse(readFileSync(join(CHART, 'files/routes.json'), 'utf8')) as RouteTable;
const OPS_PATHS = ['/livez', '/readyz', '/metrics'];
const OPS_PORTS = [9091, 9092, 9093, 9094, 9095];

/** "host path service" lines of the route table, with the ci/ scenario's host names. */
function expectedRoutes(hostnames: Record<'public' | 'mtls', string>): string[] {
  return (['public', 'mtls'] as const)
    .flatMap((host) => table.hosts[host].routes.map((r) => `${hostnames[host]} ${r.path} ${r.service}`))
    .sort();
}

/** Maps a Service name back to the component it serves (its app.kubernetes.io/component label). */
function serviceComponents(objects: K8sObject[]): Map<string, string> {
  return new Map(
    ofKind(objects, 'Service').map((s) => [
      s.metadata.name,
      s.metadata.labels['app.kubernetes.io/component'] as string,
    ]),
  );
}

function ingressRoutes(objects: K8sObject[]): string[] {
  const components = serviceComponents(objects);
  return ofKind(objects, 'Ingress')
    .flatMap((ingress) =>
      ingress.spec.rules.flatMap((rule: K8sObject) =>
        rule.http.paths.map((p: K8sObject) => {
          assert.equal(p.pathType, 'Prefix', `${ingress.metadata.name} ${p.path}`);
          assert.equal(p.backend.service.port.name, 'http', `${ingress.metadata.name} ${p.path} port`);
          return `${rule.host} ${p.path} ${components.get(p.backend.service.name) ?? p.backend.service.name}`;
        }),
      ),
    )
    .sort();
}

function httpRouteRoutes(objects: K8sObject[]): string[] {
  const components = serviceComponents(objects);
  return ofKind(objects, 'HTTPRoute')
    .flatMap((route) =>
      route.spec.rules.flatMap((rule: K8sObject) => {
        assert.equal(rule.backendRefs.length, 1, route.metadata.name);
        const backend = rule.backendRefs[0];
        return rule.matches.flatMap((match: K8sObject) =>
          route.spec.hostnames.map((host: string) => {
            assert.equal(match.path.type, 'PathPrefix', `${route.metadata.name} ${match.path.value}`);
            return `${host} ${match.path.value} ${components.get(backend.name) ?? backend.name}`;
          }),
        );
      }),
    )
    .sort();
}

describe('edge routes', () => {
  const hostnames = { public: 'as.obip.test', mtls: 'mtls.as.obip.test' };

  it('renders the Ingress pair from routes.json: same hosts, paths and services', () => {
    assert.deepEqual(ingressRoutes(renderScenario('minimal')), expectedRoutes(hostnames));
  });

  it('renders the Gateway API HTTPRoutes from routes.json: same hosts, paths and services', () => {
    assert.deepEqual(httpRouteRoutes(renderScenario('gateway')), expectedRoutes(hostnames));
  });

  it('sends HTTPRoutes to the http port of each Service and attaches them to the configured listeners', () => {
    const objects = renderScenario('gateway');
    for (const route of ofKind(objects, 'HTTPRoute')) {
      const backend = route.spec.rules[0].backendRefs[0];
      const service = ofKind(objects, 'Service').find((s) => s.metadata.name === backend.name)!;
      const http = service.spec.ports.find((p: K8sObject) => p.name === 'http');
      assert.equal(backend.port, http.port, route.metadata.name);
      const host = route.spec.hostnames[0] === hostnames.mtls ? 'mtls' : 'public';
      assert.equal(route.spec.parentRefs[0].sectionName, host, route.metadata.name);
    }
  });

  for (const scenario of ['minimal', 'production', 'gateway', 'hpa', 'external-stores']) {
    it(`routes neither config-api nor an ops endpoint or port (ci/${scenario}.yaml)`, () => {
      const objects = renderScenario(scenario);
      const components = serviceComponents(objects);
      const lines = [...ingressRoutes(objects), ...httpRouteRoutes(objects)];
      assert.ok(lines.length > 0, 'no routes rendered');
      for (const line of lines) {
        const [, path, service] = line.split(' ');
        assert.notEqual(service, 'config-api', line);
        assert.ok(!OPS_PATHS.some((ops) => path === ops || path!.startsWith(`${ops}/`)), line);
        assert.ok([...components.values()].includes(service!), `${line}: not a Service of the chart`);
      }
      for (const route of ofKind(objects, 'HTTPRoute')) {
        for (const rule of route.spec.rules) {
          for (const ref of rule.backendRefs)
            assert.ok(!OPS_PORTS.includes(ref.port), `${route.metadata.name}: port ${ref.port}`);
        }
      }
    });
  }

  it('verifies client certificates on the mTLS host and passes them upstream', () => {
    const mtls = ofKind(renderScenario('production'), 'Ingress').find(
      (i) => i.spec.rules[0].host === 'mtls.as.bank.example',
    );
    assert.ok(mtls, 'mTLS Ingress');
    const a = mtls.metadata.annotations;
    assert.equal(a['nginx.ingress.kubernetes.io/auth-tls-secret'], 'obip/obip-tpp-trust');
    assert.equal(a['nginx.ingress.kubernetes.io/auth-tls-verify-client'], 'on');
    assert.equal(a['nginx.ingress.kubernetes.io/auth-tls-verify-depth'], '3');
    assert.equal(a['nginx.ingress.kubernetes.io/auth-tls-pass-certificate-to-upstream'], 'true');
  });

  it('uses optional_no_ca when asked', () => {
    const mtls = ofKind(renderScenario('external-stores'), 'Ingress').find((i) => i.metadata.name.endsWith('-mtls'))!;
    assert.equal(mtls.metadata.annotations['nginx.ingress.kubernetes.io/auth-tls-verify-client'], 'optional_no_ca');
    assert.equal(mtls.metadata.annotations['nginx.ingress.kubernetes.io/auth-tls-secret'], 'obip/obip-tpp-trust');
  });

  it('overwrites client-sent certificate headers on the public host without asking for a certificate', () => {
    const pub = ofKind(renderScenario('production'), 'Ingress').find((i) => i.metadata.name.endsWith('-public'))!;
    assert.equal(pub.metadata.annotations['nginx.ingress.kubernetes.io/auth-tls-verify-client'], 'off');
    assert.equal(pub.metadata.annotations['nginx.ingress.kubernetes.io/auth-tls-pass-certificate-to-upstream'], 'true');
  });

  it('renders no snippet annotation', () => {
    for (const scenario of ['minimal', 'production', 'external-stores']) {
      for (const ingress of ofKind(renderScenario(scenario), 'Ingress')) {
        assert.ok(
          !Object.keys(ingress.metadata.annotations ?? {}).some((k) => k.includes('snippet')),
          ingress.metadata.name,
        );
      }
    }
    const refused = render({
      scenarios: ['minimal'],
      setJson: ['ingress.nginx.annotations={"nginx.ingress.kubernetes.io/configuration-snippet":"x"}'],
    });
    assert.notEqual(refused.status, 0, 'a snippet annotation was accepted');
  });

  it('tells the services the header format of the edge', () => {
    const format = (scenario: string) =>
      new Set(
        ofKind(renderScenario(scenario), 'ConfigMap').flatMap((cm) =>
          cm.data?.CLIENT_CERT_HEADER_FORMAT ? [cm.data.CLIENT_CERT_HEADER_FORMAT] : [],
        ),
      );
    assert.deepEqual(format('minimal'), new Set(['nginx']));
    assert.deepEqual(format('gateway'), new Set(['xfcc']));
  });
});
