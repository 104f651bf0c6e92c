// config-api as services/config-api/src/config.ts and src/kubernetes/* need it (issue 8): its
// settings, the Secrets and the Lease it writes, the RBAC that allows exactly that, and the
// key-encryption key that seals the signing keys.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SCENARIOS, ofKind, render, renderScenario, type K8sObject } from './render';

const component = (object: K8sObject): string => object.metadata.labels?.['app.kubernetes.io/component'];
const deploymentOf = (objects: K8sObject[], name: string) =>
  ofKind(objects, 'Deployment').find((d) => component(d) === name)!;
const settingsOf = (objects: K8sObject[], name: string): Record<string, string> =>
  ofKind(objects, 'ConfigMap').find((c) => component(c) === name && c.data?.HTTP_PORT)!.data;
const envOf = (objects: K8sObject[], name: string): K8sObject[] =>
  deploymentOf(objects, name).spec.template.spec.containers[0].env;
const roleOf = (objects: K8sObject[]) => ofKind(objects, 'Role').find((r) => component(r) === 'config-api');
const rule = (role: K8sObject, resource: string, verb: string): K8sObject | undefined =>
  role.rules.find((r: K8sObject) => r.resources.includes(resource) && r.verbs.includes(verb));

describe('config-api settings', () => {
  const objects = renderScenario('minimal');
  const settings = settingsOf(objects, 'config-api');

  it('renders every setting the chart owns from values', () => {
    assert.deepEqual(JSON.parse(settings.ADMIN_TOKEN_ISSUERS!), [
      {
        issuer: 'https://as.obip.test',
        jwksUri: 'http://obip-auth-server.obip.svc.cluster.local:8081/jwks',
      },
    ]);
    assert.equal(settings.ADMIN_TOKEN_AUDIENCE, 'urn:obip:config-api');
    assert.equal(settings.BOOTSTRAP_ADMIN_CLIENT, undefined, 'no bootstrap administrator client unless asked for');
    assert.equal(settings.KEY_ACTIVATION_DELAY_SECONDS, '3600');
    assert.equal(settings.KEY_RETIREMENT_DELAY_SECONDS, '7776000');
    assert.equal(settings.TRUST_ANCHOR_EXPIRY_WARNING_DAYS, '30');
    assert.equal(settings.K8S_SYNC, 'kubernetes');
    assert.equal(settings.LEASE_DURATION_SECONDS, '15');
    assert.equal(settings.LEASE_NAME, 'obip-config-api');
  });

  it('seeds the platform settings with the issuer auth-server serves', () => {
    assert.equal(settings.PLATFORM_ISSUER, settingsOf(objects, 'auth-server').ISSUER);
  });

  it('takes an external admin token issuer and audience from values', () => {
    const external = settingsOf(renderScenario('external-stores'), 'config-api');
    assert.deepEqual(JSON.parse(external.ADMIN_TOKEN_ISSUERS!), [
      {
        issuer: 'https://login.bank.example/realms/ops',
        jwksUri: 'https://login.bank.example/realms/ops/protocol/openid-connect/certs',
      },
    ]);
    assert.equal(external.ADMIN_TOKEN_AUDIENCE, 'https://config.obip.bank.example');
  });

  it('has auth-server issue admin API tokens for the audience config-api checks', () => {
    assert.equal(settingsOf(objects, 'auth-server').ADMIN_API_RESOURCE, settings.ADMIN_TOKEN_AUDIENCE);
    const external = renderScenario('external-stores');
    assert.equal(
      settingsOf(external, 'auth-server').ADMIN_API_RESOURCE,
      settingsOf(external, 'config-api').ADMIN_TOKEN_AUDIENCE,
    );
  });

  it('passes the bootstrap administrator client as JSON, and refuses an audience that is not an absolute URI', () => {
    const client = {
      jwks: { keys: [{ kty: 'EC', crv: 'P-256', x: 'x', y: 'y', kid: 'ops-1' }] },
      token_endpoint_auth_signing_alg: 'ES256',
    };
    const rendered = render({
      scenarios: ['minimal'],
      setJson: [`configApi.bootstrapAdminClient=${JSON.stringify(client)}`],
    });
    assert.equal(rendered.status, 0, rendered.stderr);
    assert.deepEqual(JSON.parse(settingsOf(rendered.objects, 'config-api').BOOTSTRAP_ADMIN_CLIENT!), client);

    const relative = render({ scenarios: ['minimal'], setJson: ['configApi.adminTokenAudience="obip-config-api"'] });
    assert.notEqual(relative.status, 0);
    assert.match(relative.stderr, /adminTokenAudience/);
  });

  it('names the pod and its namespace through the downward API', () => {
    const env = envOf(objects, 'config-api');
    const field = (name: string) => env.find((e) => e.name === name)?.valueFrom?.fieldRef?.fieldPath;
    assert.equal(field('POD_NAME'), 'metadata.name');
    assert.equal(field('K8S_NAMESPACE'), 'metadata.namespace');
  });

  it('points CLIENT_REGISTRY_GRPC_TARGET, TOKENS_GRPC_TARGET and CONSENTS_GRPC_TARGET at dcr-service, auth-server and consent-service', () => {
    assert.equal(settings.CLIENT_REGISTRY_GRPC_TARGET, 'dns:///obip-dcr-service-headless.obip.svc.cluster.local:50052');
    assert.equal(settings.TOKENS_GRPC_TARGET, 'dns:///obip-auth-server-headless.obip.svc.cluster.local:50051');
    assert.equal(settings.CONSENTS_GRPC_TARGET, 'dns:///obip-consent-service-headless.obip.svc.cluster.local:50053');
  });
});

describe('the Secrets config-api writes', () => {
  for (const scenario of ['minimal', 'production', 'external-stores', 'hpa']) {
    it(`names the Secret the ingress verifies client certificates with (ci/${scenario}.yaml)`, () => {
      const objects = renderScenario(scenario);
      const name = settingsOf(objects, 'config-api').CA_BUNDLE_SECRET_NAME;
      const ingresses = ofKind(objects, 'Ingress');
      assert.ok(ingresses.length > 0);
      for (const ingress of ingresses) {
        assert.equal(
          ingress.metadata.annotations['nginx.ingress.kubernetes.io/auth-tls-secret'],
          `obip/${name}`,
          ingress.metadata.name,
        );
      }
    });
  }

  it('writes a trust bundle Secret of its own when no caSecret is named (gateway edge)', () => {
    assert.equal(settingsOf(renderScenario('gateway'), 'config-api').CA_BUNDLE_SECRET_NAME, 'obip-tpp-trust-bundle');
  });

  for (const [scenario, expected] of [
    ['minimal', 'obip-signing-keys'],
    ['production', 'obip-signing-keys'],
    ['external-stores', 'bank1-signing-keys'], // the deprecated signingKeys.existingSecret
  ] as const) {
    it(`writes the signing keys into the Secret auth-server and token-introspection mount (ci/${scenario}.yaml)`, () => {
      const objects = renderScenario(scenario);
      assert.equal(settingsOf(objects, 'config-api').SIGNING_KEYS_SECRET_NAME, expected);
      for (const name of ['auth-server', 'token-introspection']) {
        const volume = deploymentOf(objects, name).spec.template.spec.volumes.find(
          (v: K8sObject) => v.name === 'signing-keys',
        );
        assert.equal(volume.secret.secretName, expected, name);
        // config-api writes the key jwks.json (SIGNING_KEYS_KEY); the pod waits for the Secret.
        assert.deepEqual(volume.secret.items, [{ key: 'jwks.json', path: 'jwks.json' }], name);
        assert.equal(volume.secret.optional, false, name);
      }
    });
  }

  it('reloads the signing keys in auth-server and token-introspection instead of rolling their pods', () => {
    const objects = renderScenario('minimal');
    for (const name of ['auth-server', 'token-introspection']) {
      assert.equal(settingsOf(objects, name).SIGNING_KEYS_RELOAD_MS, '10000', name);
      const annotations = deploymentOf(objects, name).spec.template.metadata.annotations;
      assert.deepEqual(Object.keys(annotations), ['checksum/settings'], name);
    }
  });
});

describe('config-api RBAC', () => {
  for (const scenario of SCENARIOS) {
    it(`allows exactly the Secret and Lease calls of its Kubernetes sync (ci/${scenario}.yaml)`, () => {
      const objects = renderScenario(scenario);
      const settings = settingsOf(objects, 'config-api');
      const role = roleOf(objects);
      assert.ok(role, 'config-api Role');
      assert.equal(role.metadata.namespace, 'obip');
      const secretNames = [settings.SIGNING_KEYS_SECRET_NAME, settings.CA_BUNDLE_SECRET_NAME];
      for (const verb of ['get', 'update', 'patch']) {
        assert.deepEqual(rule(role, 'secrets', verb)?.resourceNames, secretNames, `secrets ${verb}`);
      }
      // RBAC cannot limit create by name: a rule of its own.
      assert.deepEqual(rule(role, 'secrets', 'create'), { apiGroups: [''], resources: ['secrets'], verbs: ['create'] });
      for (const verb of ['get', 'update']) {
        const leases = rule(role, 'leases', verb);
        assert.deepEqual(leases?.apiGroups, ['coordination.k8s.io']);
        assert.deepEqual(leases?.resourceNames, [settings.LEASE_NAME], `leases ${verb}`);
      }
      assert.deepEqual(rule(role, 'leases', 'create'), {
        apiGroups: ['coordination.k8s.io'],
        resources: ['leases'],
        verbs: ['create'],
      });
      const binding = ofKind(objects, 'RoleBinding').find((b) => component(b) === 'config-api');
      assert.equal(binding?.roleRef.name, role.metadata.name);
      const serviceAccount = deploymentOf(objects, 'config-api').spec.template.spec.serviceAccountName;
      assert.deepEqual(binding?.subjects, [{ kind: 'ServiceAccount', name: serviceAccount, namespace: 'obip' }]);
    });
  }

  it('mounts a service-account token for config-api only', () => {
    const objects = renderScenario('minimal');
    for (const deployment of ofKind(objects, 'Deployment')) {
      const name = component(deployment);
      const account = ofKind(objects, 'ServiceAccount').find(
        (sa) => sa.metadata.name === deployment.spec.template.spec.serviceAccountName,
      )!;
      assert.equal(deployment.spec.template.spec.automountServiceAccountToken, name === 'config-api', name);
      assert.equal(account.automountServiceAccountToken, name === 'config-api', name);
    }
  });

  it('grants nothing and mounts no token with configApi.kubernetesSync=off', () => {
    const result = render({ scenarios: ['minimal'], setJson: ['configApi.kubernetesSync="off"'] });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(roleOf(result.objects), undefined);
    assert.equal(ofKind(result.objects, 'RoleBinding').length, 0);
    assert.equal(deploymentOf(result.objects, 'config-api').spec.template.spec.automountServiceAccountToken, false);
    const settings = settingsOf(result.objects, 'config-api');
    assert.equal(settings.K8S_SYNC, 'off');
    assert.equal(settings.LEASE_NAME, undefined);
    const policy = ofKind(result.objects, 'NetworkPolicy').find((p) => component(p) === 'config-api')!;
    // networkPolicy.kubeApiServer.ports defaults to [443, 6443]; only the API server rule opens 6443.
    const apiServerRules = policy.spec.egress.filter((r: K8sObject) =>
      (r.ports ?? []).some((p: K8sObject) => p.port === 6443),
    );
    assert.deepEqual(apiServerRules, [], 'egress to the API server');
  });
});

describe("config-api's key-encryption key", () => {
  it('reads KEY_ENCRYPTION_KEY from the existing Secret in production', () => {
    const objects = renderScenario('production');
    const ref = envOf(objects, 'config-api').find((e) => e.name === 'KEY_ENCRYPTION_KEY')?.valueFrom?.secretKeyRef;
    assert.deepEqual(ref, { name: 'obip-config-api-kek', key: 'key-encryption-key' });
    assert.equal(ofKind(objects, 'Secret').length, 0, 'the chart holds no production secret');
    const custom = envOf(renderScenario('external-stores'), 'config-api').find((e) => e.name === 'KEY_ENCRYPTION_KEY');
    assert.deepEqual(custom?.valueFrom?.secretKeyRef, { name: 'obip-config-api-kek', key: 'kek' });
  });

  it('generates one for evaluation, kept on uninstall, in the format config-api accepts', () => {
    const objects = renderScenario('minimal');
    const ref = envOf(objects, 'config-api').find((e) => e.name === 'KEY_ENCRYPTION_KEY')?.valueFrom?.secretKeyRef;
    const secret = ofKind(objects, 'Secret').find((s) => s.metadata.name === ref.name);
    assert.ok(secret, `Secret ${ref.name}`);
    assert.equal(secret.metadata.annotations['helm.sh/resource-policy'], 'keep');
    const key = Buffer.from(secret.data[ref.key], 'base64').toString('utf8');
    // services/config-api/src/config.ts: 32 bytes, base64url without padding.
    assert.match(key, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(Buffer.from(key, 'base64url').length, 32);
  });
});
