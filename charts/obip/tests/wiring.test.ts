import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import { ofKind, render, renderScenario, selects, type K8sObject } from './render';

// How the services reach each other and their keys, as the services' settings and
// ARCHITECTURE.md's arrows require.
const objects = renderScenario('minimal');
const componentOf = (object: K8sObject) => object.metadata.labels?.['app.kubernetes.io/component'] as string;
const deployment = (name: string) => ofKind(objects, 'Deployment').find((d) => componentOf(d) === name)!;
const settingsOf = (name: string) =>
  ofKind(objects, 'ConfigMap').find((c) => componentOf(c) === name && c.data?.HTTP_PORT)!.data as Record<
    string,
    string
  >;

describe('service wiring', () => {
  it('mounts the signing keys into auth-server and token-introspection only, at SIGNING_KEYS_FILE', () => {
    for (const name of ['auth-server', 'dcr-service', 'consent-service', 'token-introspection', 'config-api']) {
      const spec = deployment(name).spec.template.spec;
      const mount = spec.containers[0].volumeMounts.find((m: K8sObject) => m.name === 'signing-keys');
      const signs = name === 'auth-server' || name === 'token-introspection';
      assert.equal(Boolean(mount), signs, `${name}: signing-keys mount`);
      assert.equal(settingsOf(name).SIGNING_KEYS_FILE, signs ? `${mount.mountPath}/jwks.json` : undefined, name);
    }
  });

  it("lets token-introspection reach dcr-service's and consent-service's gRPC ports", () => {
    const introspectionLabels = deployment('token-introspection').spec.template.metadata.labels;
    for (const peer of ['dcr-service', 'consent-service']) {
      const policies = ofKind(objects, 'NetworkPolicy').filter((p) =>
        selects(p.spec.podSelector, deployment(peer).spec.template.metadata.labels),
      );
      const admitted = policies.some((policy) =>
        (policy.spec.ingress ?? []).some(
          (rule: K8sObject) =>
            (rule.ports ?? []).some((port: K8sObject) => port.port === 'grpc') &&
            (rule.from ?? []).some(
              (from: K8sObject) => from.podSelector && selects(from.podSelector, introspectionLabels),
            ),
        ),
      );
      assert.ok(admitted, `${peer} admits token-introspection on grpc`);
    }
  });
});

/** Whether a NetworkPolicy selecting `callee`'s pods admits `caller`'s pods on the named port. */
function admits(callee: string, caller: string, port: string, rendered = objects): boolean {
  const calleeLabels = deploymentIn(rendered, callee).spec.template.metadata.labels;
  const callerLabels = deploymentIn(rendered, caller).spec.template.metadata.labels;
  return ofKind(rendered, 'NetworkPolicy')
    .filter((policy) => selects(policy.spec.podSelector, calleeLabels))
    .some((policy) =>
      (policy.spec.ingress ?? []).some(
        (rule: K8sObject) =>
          (rule.ports ?? []).some((p: K8sObject) => p.port === port) &&
          (rule.from ?? []).some(
            (from: K8sObject) => !from.namespaceSelector && from.podSelector && selects(from.podSelector, callerLabels),
          ),
      ),
    );
}

/** Whether a NetworkPolicy selecting `caller`'s pods lets them reach `callee`'s pods on `port`. */
function reaches(caller: string, callee: string, port: number, rendered = objects): boolean {
  const calleeLabels = deploymentIn(rendered, callee).spec.template.metadata.labels;
  const callerLabels = deploymentIn(rendered, caller).spec.template.metadata.labels;
  return ofKind(rendered, 'NetworkPolicy')
    .filter((policy) => selects(policy.spec.podSelector, callerLabels))
    .some((policy) =>
      (policy.spec.egress ?? []).some(
        (rule: K8sObject) =>
          (rule.ports ?? []).some((p: K8sObject) => p.port === port) &&
          (rule.to ?? []).some(
            (to: K8sObject) => !to.namespaceSelector && to.podSelector && selects(to.podSelector, calleeLabels),
          ),
      ),
    );
}

function deploymentIn(rendered: K8sObject[], name: string): K8sObject {
  return ofKind(rendered, 'Deployment').find((d) => componentOf(d) === name)!;
}

const SUBSCRIBERS = ['auth-server', 'dcr-service', 'token-introspection'];

describe('live configuration from config-api', () => {
  it("lets auth-server, dcr-service and token-introspection reach config-api's gRPC port, and not consent-service", () => {
    for (const name of SUBSCRIBERS) {
      assert.ok(admits('config-api', name, 'grpc'), `config-api admits ${name}`);
      assert.ok(reaches(name, 'config-api', 50055), `${name} reaches config-api`);
    }
    assert.ok(!admits('config-api', 'consent-service', 'grpc'), 'config-api admits consent-service');
    assert.ok(!reaches('consent-service', 'config-api', 50055), 'consent-service reaches config-api');
    assert.equal(settingsOf('consent-service').CONFIG_GRPC_TARGET, undefined);
  });

  it('keeps CONFIG_CACHE_FILE of each subscriber on a writable emptyDir (the root filesystem is read-only)', () => {
    for (const name of [...SUBSCRIBERS, 'consent-service', 'config-api']) {
      const file = settingsOf(name).CONFIG_CACHE_FILE;
      if (!SUBSCRIBERS.includes(name)) {
        assert.equal(file, undefined, name);
        continue;
      }
      const spec = deployment(name).spec.template.spec;
      const mount = spec.containers[0].volumeMounts.find((m: K8sObject) => file?.startsWith(`${m.mountPath}/`));
      assert.ok(mount, `${name}: ${file} is on no volume`);
      assert.ok(!mount.readOnly, `${name}: ${mount.mountPath} is read-only`);
      const volume = spec.volumes.find((v: K8sObject) => v.name === mount.name);
      assert.ok(volume.emptyDir, `${name}: ${mount.name} is not an emptyDir`);
    }
  });

  it("lets config-api reach dcr-service's, auth-server's and consent-service's gRPC ports (/v1/clients, token revocation, /v1/consents)", () => {
    for (const [peer, port] of [
      ['dcr-service', 50052],
      ['auth-server', 50051],
      ['consent-service', 50053],
    ] as const) {
      assert.ok(admits(peer, 'config-api', 'grpc'), `${peer} admits config-api`);
      assert.ok(reaches('config-api', peer, port), `config-api reaches ${peer}`);
    }
    assert.ok(!reaches('config-api', 'token-introspection', 50054), 'config-api reaches token-introspection');
    // consent-service's gRPC port admits its callers and no one else.
    for (const caller of ['auth-server', 'dcr-service', 'token-introspection', 'config-api']) {
      const expected = caller !== 'dcr-service';
      assert.equal(admits('consent-service', caller, 'grpc'), expected, `consent-service admits ${caller}`);
    }
  });

  it('lets config-api alone reach the Kubernetes API server', () => {
    const narrowed = render({
      scenarios: ['minimal'],
      setJson: ['networkPolicy.kubeApiServer={"cidrs":["10.0.0.1/32"],"ports":[443]}'],
    });
    assert.equal(narrowed.status, 0, narrowed.stderr);
    const apiServerRule = { to: [{ ipBlock: { cidr: '10.0.0.1/32' } }], ports: [{ protocol: 'TCP', port: 443 }] };
    for (const policy of ofKind(narrowed.objects, 'NetworkPolicy')) {
      const has = (policy.spec.egress ?? []).some((rule: K8sObject) => isDeepStrictEqual(rule, apiServerRule));
      assert.equal(has, componentOf(policy) === 'config-api', policy.metadata.name);
    }
  });

  it("lets config-api read auth-server's JWKS in-cluster, or an external issuer's over HTTPS", () => {
    assert.ok(admits('auth-server', 'config-api', 'http'), 'auth-server admits config-api on http');
    assert.ok(reaches('config-api', 'auth-server', 8081), 'config-api reaches auth-server http');
    const external = renderScenario('external-stores');
    assert.ok(!admits('auth-server', 'config-api', 'http', external), 'external issuer: auth-server admits config-api');
    const policy = ofKind(external, 'NetworkPolicy').find((p) => componentOf(p) === 'config-api')!;
    assert.ok(
      policy.spec.egress.some((rule: K8sObject) =>
        isDeepStrictEqual(rule, {
          ports: [{ protocol: 'TCP', port: 443 }],
          to: [{ ipBlock: { cidr: '203.0.113.0/24' } }],
        }),
      ),
      'egress to networkPolicy.adminTokenIssuerPeers on 443',
    );
  });
});

describe('CIBA pings', () => {
  it("lets auth-server reach TPPs' notification endpoints on 443, not private ranges", () => {
    const pingRule = {
      to: [{ ipBlock: { cidr: '0.0.0.0/0', except: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'] } }],
      ports: [{ protocol: 'TCP', port: 443 }],
    };
    for (const policy of ofKind(objects, 'NetworkPolicy').filter((p) => componentOf(p) !== undefined)) {
      const has = (policy.spec.egress ?? []).some((rule: K8sObject) => isDeepStrictEqual(rule, pingRule));
      // dcr-service holds the same rule for directory keys (networkPolicy.directoryPeers).
      const expected = componentOf(policy) === 'auth-server' || componentOf(policy) === 'dcr-service';
      assert.equal(has, expected, policy.metadata.name);
    }
  });
});

describe('service endpoints', () => {
  it("points every gRPC peer setting at the peer's headless Service and gRPC port", () => {
    const expected: Record<string, Record<string, string>> = {
      'auth-server': {
        CLIENT_REGISTRY_GRPC_TARGET: 'dcr-service',
        CONSENTS_GRPC_TARGET: 'consent-service',
        CONFIG_GRPC_TARGET: 'config-api',
      },
      'dcr-service': { TOKENS_GRPC_TARGET: 'auth-server', CONFIG_GRPC_TARGET: 'config-api' },
      'consent-service': { TOKENS_GRPC_TARGET: 'auth-server' },
      'token-introspection': {
        CLIENT_REGISTRY_GRPC_TARGET: 'dcr-service',
        CONSENTS_GRPC_TARGET: 'consent-service',
        CONFIG_GRPC_TARGET: 'config-api',
      },
      'config-api': {
        CLIENT_REGISTRY_GRPC_TARGET: 'dcr-service',
        TOKENS_GRPC_TARGET: 'auth-server',
        CONSENTS_GRPC_TARGET: 'consent-service',
      },
    };
    const services = ofKind(objects, 'Service');
    for (const [name, peers] of Object.entries(expected)) {
      for (const [variable, peer] of Object.entries(peers)) {
        const target = settingsOf(name)[variable] ?? '';
        const match = /^dns:\/\/\/([^.]+)\.obip\.svc\.cluster\.local:(\d+)$/.exec(target);
        assert.ok(match, `${name} ${variable}: ${target}`);
        const headless = services.find((service) => service.metadata.name === match[1]);
        assert.ok(headless, `${name} ${variable}: no Service ${match[1]}`);
        assert.equal(headless.spec.clusterIP, 'None', `${match[1]} is headless`);
        assert.equal(componentOf(headless), peer);
        assert.ok(
          headless.spec.ports.some((port: K8sObject) => port.name === 'grpc' && String(port.port) === match[2]),
          `${match[1]} serves gRPC on ${match[2]}`,
        );
      }
    }
  });

  it('derives the issuer and the mTLS endpoints from the edge host names', () => {
    const hosts = renderScenario('production');
    const configMaps = ofKind(hosts, 'ConfigMap');
    const settings = (name: string) => configMaps.find((c) => componentOf(c) === name && c.data?.HTTP_PORT)!.data;
    const auth = settings('auth-server');
    assert.match(auth.ISSUER, /^https:\/\/[^/]+$/);
    assert.match(auth.MTLS_BASE_URL, /^https:\/\/[^/]+$/);
    assert.equal(settings('token-introspection').ISSUER, auth.ISSUER);
    assert.equal(settings('token-introspection').INTROSPECTION_ENDPOINT, `${auth.MTLS_BASE_URL}/introspect`);
    assert.equal(settings('dcr-service').DCR_REGISTRATION_BASE_URL, `${auth.MTLS_BASE_URL}/register`);
  });

  it('runs every service with the memory settings the benchmarks measured, or without them when unset', () => {
    for (const name of ['auth-server', 'dcr-service', 'consent-service', 'token-introspection', 'config-api']) {
      assert.equal(settingsOf(name).NODE_OPTIONS, '--max-semi-space-size=8 --max-old-space-size=128', name);
      assert.equal(settingsOf(name).MALLOC_ARENA_MAX, '2', name);
      assert.equal(settingsOf(name).MALLOC_MMAP_THRESHOLD_, '4194304', name);
    }
    const unset = render({
      scenarios: ['minimal'],
      setJson: ['global.nodeOptions=""', 'global.mallocArenaMax=0', 'global.mallocMmapThreshold=0'],
    });
    for (const configMap of ofKind(unset.objects, 'ConfigMap').filter((c) => c.data?.HTTP_PORT)) {
      assert.equal(configMap.data.NODE_OPTIONS, undefined, configMap.metadata.name);
      assert.equal(configMap.data.MALLOC_ARENA_MAX, undefined, configMap.metadata.name);
      assert.equal(configMap.data.MALLOC_MMAP_THRESHOLD_, undefined, configMap.metadata.name);
    }
    for (const invalid of [
      'global.mallocArenaMax=-1',
      'global.mallocMmapThreshold=-1',
      'global.mallocMmapThreshold=67108864',
    ])
      assert.ok(render({ scenarios: ['minimal'], setJson: [invalid] }).status !== 0, invalid);
  });
});
