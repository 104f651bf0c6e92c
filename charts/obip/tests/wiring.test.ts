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
