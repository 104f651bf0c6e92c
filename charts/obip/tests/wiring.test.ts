import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ofKind, renderScenario, selects, type K8sObject } from './render';

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

describe('service endpoints', () => {
  it("points every gRPC peer setting at the peer's headless Service and gRPC port", () => {
    const expected: Record<string, Record<string, string>> = {
      'auth-server': { CLIENT_REGISTRY_GRPC_TARGET: 'dcr-service', CONSENTS_GRPC_TARGET: 'consent-service' },
      'dcr-service': { TOKENS_GRPC_TARGET: 'auth-server' },
      'consent-service': { TOKENS_GRPC_TARGET: 'auth-server' },
      'token-introspection': { CLIENT_REGISTRY_GRPC_TARGET: 'dcr-service', CONSENTS_GRPC_TARGET: 'consent-service' },
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
});
