// consent-service's customer portal (consentService.portal): off by default; on, the service gets
// its public URL, auth-server's in-cluster address, its keys from one Secret, the gRPC arrow to
// dcr-service and the HTTP arrow to auth-server, and nothing else.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ofKind, render, renderScenario, selects, type K8sObject } from './render';

const PORTAL = ['consentService.portal.enabled=true', 'consentService.portal.existingSecret="obip-portal"'];

const componentOf = (object: K8sObject) => object.metadata.labels?.['app.kubernetes.io/component'] as string;
const deploymentIn = (objects: K8sObject[], name: string) =>
  ofKind(objects, 'Deployment').find((d) => componentOf(d) === name)!;
const settingsIn = (objects: K8sObject[], name: string) =>
  ofKind(objects, 'ConfigMap').find((c) => componentOf(c) === name && c.data?.HTTP_PORT)!.data as Record<
    string,
    string
  >;

/** Whether a NetworkPolicy selecting `callee`'s pods admits `caller`'s pods (in-namespace) on the named port. */
function admits(objects: K8sObject[], callee: string, caller: string, port: string): boolean {
  const calleeLabels = deploymentIn(objects, callee).spec.template.metadata.labels;
  const callerLabels = deploymentIn(objects, caller).spec.template.metadata.labels;
  return ofKind(objects, 'NetworkPolicy')
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
function reaches(objects: K8sObject[], caller: string, callee: string, port: number): boolean {
  const calleeLabels = deploymentIn(objects, callee).spec.template.metadata.labels;
  const callerLabels = deploymentIn(objects, caller).spec.template.metadata.labels;
  return ofKind(objects, 'NetworkPolicy')
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

function renderPortal(scenario = 'minimal'): K8sObject[] {
  const result = render({ scenarios: [scenario], setJson: PORTAL });
  assert.equal(result.status, 0, result.stderr);
  return result.objects;
}

describe('the customer portal', () => {
  it('is off by default: no portal settings, keys or arrows', () => {
    const objects = renderScenario('minimal');
    const settings = settingsIn(objects, 'consent-service');
    for (const name of [
      'PORTAL_PUBLIC_URL',
      'AUTH_SERVER_URL',
      'PORTAL_CLIENT_KEYS_FILE',
      'CLIENT_REGISTRY_GRPC_TARGET',
    ]) {
      assert.equal(settings[name], undefined, name);
    }
    assert.ok(!admits(objects, 'auth-server', 'consent-service', 'http'));
    assert.ok(!admits(objects, 'dcr-service', 'consent-service', 'grpc'));
  });

  it('derives its public URL from the public host and reaches auth-server and dcr-service in-cluster', () => {
    const objects = renderPortal();
    const settings = settingsIn(objects, 'consent-service');
    assert.equal(settings.PORTAL_PUBLIC_URL, 'https://as.obip.test');
    assert.equal(settings.AUTH_SERVER_URL, 'http://obip-auth-server.obip.svc.cluster.local:8081');
    assert.equal(settings.CLIENT_REGISTRY_GRPC_TARGET, 'dns:///obip-dcr-service-headless.obip.svc.cluster.local:50052');
    assert.ok(admits(objects, 'auth-server', 'consent-service', 'http'), 'auth-server admits consent-service on http');
    assert.ok(reaches(objects, 'consent-service', 'auth-server', 8081), 'consent-service reaches auth-server http');
    assert.ok(admits(objects, 'dcr-service', 'consent-service', 'grpc'), 'dcr-service admits consent-service on grpc');
    assert.ok(reaches(objects, 'consent-service', 'dcr-service', 50052), 'consent-service reaches dcr-service grpc');
    assert.ok(!admits(objects, 'auth-server', 'token-introspection', 'http'), 'no other HTTP arrow is opened');
  });

  it('mounts the key file and takes the cookie keys from the same Secret, in consent-service only', () => {
    const objects = renderPortal();
    const spec = deploymentIn(objects, 'consent-service').spec.template.spec;
    const container = spec.containers[0];
    const mount = container.volumeMounts.find((m: K8sObject) => m.name === 'portal-keys');
    assert.equal(settingsIn(objects, 'consent-service').PORTAL_CLIENT_KEYS_FILE, `${mount.mountPath}/jwks.json`);
    assert.equal(mount.readOnly, true);
    const volume = spec.volumes.find((v: K8sObject) => v.name === 'portal-keys');
    assert.equal(volume.secret.secretName, 'obip-portal');
    const cookieKeys = container.env.find((e: K8sObject) => e.name === 'PORTAL_COOKIE_KEYS');
    assert.deepEqual(cookieKeys.valueFrom.secretKeyRef, { name: 'obip-portal', key: 'cookie-keys' });
    for (const other of ['auth-server', 'dcr-service', 'token-introspection', 'config-api']) {
      const otherSpec = deploymentIn(objects, other).spec.template.spec;
      assert.ok(!(otherSpec.volumes ?? []).some((v: K8sObject) => v.name === 'portal-keys'), other);
    }
  });

  it('refuses to render without the keys Secret or without a public host', () => {
    const noSecret = render({ scenarios: ['minimal'], setJson: ['consentService.portal.enabled=true'] });
    assert.notEqual(noSecret.status, 0);
    assert.match(noSecret.stderr, /consentService\.portal\.existingSecret is empty/);
    assert.match(noSecret.stderr, /Fix: create a Secret with jwks\.json/);
    const noHost = render({
      scenarios: ['minimal'],
      setJson: [...PORTAL, 'ingress.provider="none"', 'ingress.hosts.public=""', 'ingress.hosts.mtls=""'],
    });
    assert.notEqual(noHost.status, 0);
    assert.match(noHost.stderr, /consentService\.portal\.enabled is true but ingress\.hosts\.public is empty/);
  });

  it('renders with the production example', () => {
    renderPortal('production');
  });
});
