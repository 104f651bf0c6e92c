// Security and operability rules over the rendered output of every ci/ scenario.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SCENARIOS, ofKind, podTemplates, render, renderScenario, selects, type K8sObject } from './render';

const SERVICES = ['auth-server', 'dcr-service', 'consent-service', 'token-introspection', 'config-api'];
const OPS_PORTS = new Set([9091, 9092, 9093, 9094, 9095]);
const component = (object: K8sObject): string => object.metadata.labels?.['app.kubernetes.io/component'];

function containersOf(spec: K8sObject['spec']): K8sObject[] {
  return [...(spec.initContainers ?? []), ...(spec.containers ?? [])];
}

describe('chart policies', () => {
  for (const scenario of SCENARIOS) {
    describe(`ci/${scenario}.yaml`, () => {
      const objects = renderScenario(scenario);

      it('runs every container non-root, read-only, without capabilities and with a memory limit', () => {
        for (const { owner, spec } of podTemplates(objects)) {
          for (const container of containersOf(spec)) {
            const where = `${owner.kind}/${owner.metadata.name} container ${container.name}`;
            const nonRoot = container.securityContext?.runAsNonRoot ?? spec.securityContext?.runAsNonRoot;
            assert.equal(nonRoot, true, `${where}: runAsNonRoot`);
            assert.notEqual(
              container.securityContext?.runAsUser ?? spec.securityContext?.runAsUser,
              0,
              `${where}: UID 0`,
            );
            assert.equal(container.securityContext?.readOnlyRootFilesystem, true, `${where}: readOnlyRootFilesystem`);
            assert.equal(
              container.securityContext?.allowPrivilegeEscalation,
              false,
              `${where}: allowPrivilegeEscalation`,
            );
            assert.deepEqual(container.securityContext?.capabilities?.drop, ['ALL'], `${where}: capabilities.drop`);
            assert.equal(spec.securityContext?.seccompProfile?.type, 'RuntimeDefault', `${where}: seccompProfile`);
            assert.ok(container.resources?.limits?.memory, `${where}: memory limit`);
            assert.ok(container.resources?.requests?.cpu, `${where}: cpu request`);
          }
        }
      });

      it('gives every long-running container readiness, liveness and startup probes', () => {
        for (const owner of [...ofKind(objects, 'Deployment'), ...ofKind(objects, 'StatefulSet')]) {
          for (const container of owner.spec.template.spec.containers) {
            for (const probe of ['readinessProbe', 'livenessProbe', 'startupProbe']) {
              assert.ok(container[probe], `${owner.kind}/${owner.metadata.name} ${container.name}: ${probe}`);
            }
          }
        }
      });

      it('probes the services on the ops port and the gRPC health service', () => {
        for (const deployment of ofKind(objects, 'Deployment')) {
          const [container] = deployment.spec.template.spec.containers;
          const ops = container.ports.find((p: K8sObject) => p.name === 'ops').containerPort;
          const grpc = container.ports.find((p: K8sObject) => p.name === 'grpc').containerPort;
          assert.ok(OPS_PORTS.has(ops), `${deployment.metadata.name}: ops port ${ops}`);
          assert.deepEqual(container.readinessProbe.httpGet, { path: '/readyz', port: 'ops' });
          assert.deepEqual(container.livenessProbe.httpGet, { path: '/livez', port: 'ops' });
          assert.deepEqual(container.startupProbe.grpc, { port: grpc, service: '' });
        }
      });

      it('lets each pod drain longer than SHUTDOWN_DELAY_MS + SHUTDOWN_GRACE_MS', () => {
        for (const deployment of ofKind(objects, 'Deployment')) {
          const settings = ofKind(objects, 'ConfigMap').find((cm) => cm.metadata.name === deployment.metadata.name);
          assert.ok(settings, `${deployment.metadata.name}: settings ConfigMap`);
          const drainMs = Number(settings.data.SHUTDOWN_DELAY_MS) + Number(settings.data.SHUTDOWN_GRACE_MS);
          const graceSeconds = deployment.spec.template.spec.terminationGracePeriodSeconds;
          assert.ok(graceSeconds * 1000 > drainMs, `${deployment.metadata.name}: ${graceSeconds}s <= ${drainMs}ms`);
        }
      });

      it('mounts a service-account token only into config-api', () => {
        for (const { owner, spec, labels } of podTemplates(objects)) {
          const mounted = spec.automountServiceAccountToken !== false;
          const allowed = labels['app.kubernetes.io/component'] === 'config-api';
          assert.equal(mounted, allowed, `${owner.kind}/${owner.metadata.name}: automountServiceAccountToken`);
        }
      });

      it('gives every service its settings, with secrets only through secretKeyRef', () => {
        for (const deployment of ofKind(objects, 'Deployment')) {
          const env: K8sObject[] = deployment.spec.template.spec.containers[0].env;
          for (const name of ['REDIS_URL', ...(component(deployment) === 'token-introspection' ? [] : ['MONGO_URL'])]) {
            const entry = env.find((e) => e.name === name);
            assert.ok(entry?.valueFrom?.secretKeyRef, `${deployment.metadata.name}: ${name} from a Secret`);
          }
          const settings = ofKind(objects, 'ConfigMap').find((cm) => cm.metadata.name === deployment.metadata.name)!;
          for (const key of ['LOG_LEVEL', 'BIND_HOST', 'HTTP_PORT', 'GRPC_PORT', 'OPS_PORT', 'REDIS_KEY_PREFIX']) {
            assert.ok(settings.data[key], `${deployment.metadata.name}: ${key}`);
          }
          for (const key of [
            'SHUTDOWN_DELAY_MS',
            'SHUTDOWN_GRACE_MS',
            'STARTUP_TIMEOUT_MS',
            'CLIENT_CERT_HEADER_FORMAT',
          ]) {
            assert.ok(settings.data[key], `${deployment.metadata.name}: ${key}`);
          }
          assert.equal('MONGO_DB' in settings.data, component(deployment) !== 'token-introspection');
        }
      });

      it('puts no secret value in any ConfigMap', () => {
        const secretLike = [
          /-----BEGIN [A-Z ]*PRIVATE KEY-----/,
          /"d"\s*:\s*"[A-Za-z0-9_-]{20,}"/, // a private JWK member
          /(mongodb(\+srv)?|rediss?|redis-sentinel|redis-cluster):\/\/[^\s/]*@/, // URL with credentials
        ];
        for (const configMap of ofKind(objects, 'ConfigMap')) {
          for (const [key, value] of Object.entries<string>(configMap.data ?? {})) {
            // Store URLs carry credentials and come only from Secrets; endpoint URLs are public.
            assert.ok(
              !/(PASSWORD|SECRET|TOKEN)$|^(MONGO|REDIS)_URL$/i.test(key),
              `${configMap.metadata.name}: key ${key}`,
            );
            for (const pattern of secretLike) {
              assert.ok(!pattern.test(value), `${configMap.metadata.name}/${key} matches ${pattern}`);
            }
          }
        }
      });

      it('selects every pod with a NetworkPolicy', () => {
        const policies = ofKind(objects, 'NetworkPolicy');
        assert.ok(policies.length > 0, 'no NetworkPolicy rendered');
        for (const { owner, labels } of podTemplates(objects)) {
          const selecting = policies.filter((policy) => selects(policy.spec.podSelector, labels));
          assert.ok(selecting.length > 1, `${owner.kind}/${owner.metadata.name}: only the default deny selects it`);
          assert.ok(
            selecting.some((p) => p.spec.policyTypes.includes('Ingress') && p.spec.policyTypes.includes('Egress')),
            `${owner.kind}/${owner.metadata.name}: no policy restricts both directions`,
          );
        }
      });

      it('admits the edge only to HTTP ports, and lets nothing but Prometheus reach the ops ports', () => {
        for (const policy of ofKind(objects, 'NetworkPolicy')) {
          for (const rule of policy.spec.ingress ?? []) {
            const ports = (rule.ports ?? []).map((p: K8sObject) => p.port);
            assert.ok(ports.length > 0, `${policy.metadata.name}: an ingress rule open on every port`);
            const fromMonitoring = (rule.from ?? []).some(
              (peer: K8sObject) =>
                peer.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'] === 'monitoring',
            );
            if (ports.includes('ops') && !fromMonitoring) {
              const fromHelmTest = rule.from.every(
                (peer: K8sObject) => peer.podSelector?.matchLabels?.['app.kubernetes.io/component'] === 'helm-test',
              );
              assert.ok(fromHelmTest, `${policy.metadata.name}: ops port open to ${JSON.stringify(rule.from)}`);
            }
          }
        }
        const configApi = ofKind(objects, 'NetworkPolicy').find((p) => component(p) === 'config-api')!;
        const edgeRules = configApi.spec.ingress.filter((rule: K8sObject) =>
          (rule.from ?? []).some((peer: K8sObject) => peer.namespaceSelector && peer.podSelector),
        );
        assert.deepEqual(edgeRules, [], 'config-api admits the edge');
      });

      it('renders no replicas for an autoscaled Deployment and a PDB only above one replica', () => {
        const hpas = ofKind(objects, 'HorizontalPodAutoscaler');
        const pdbs = ofKind(objects, 'PodDisruptionBudget');
        for (const deployment of ofKind(objects, 'Deployment')) {
          const hpa = hpas.find((h) => h.spec.scaleTargetRef.name === deployment.metadata.name);
          if (hpa) assert.ok(!('replicas' in deployment.spec), `${deployment.metadata.name}: replicas with an HPA`);
          else assert.equal(typeof deployment.spec.replicas, 'number', `${deployment.metadata.name}: replicas`);
          if (hpa) assert.ok(hpa.spec.minReplicas <= hpa.spec.maxReplicas);
          const floor = hpa ? hpa.spec.minReplicas : deployment.spec.replicas;
          const pdb = pdbs.find((p) => selects(p.spec.selector, deployment.spec.template.metadata.labels));
          assert.equal(Boolean(pdb), floor > 1, `${deployment.metadata.name}: PDB with ${floor} replica(s)`);
        }
      });

      it('limits config-api to named Secrets and its own Lease, but for create', () => {
        const role = ofKind(objects, 'Role').find((r) => component(r) === 'config-api');
        assert.ok(role, 'config-api Role');
        for (const rule of role.rules) {
          const named = Array.isArray(rule.resourceNames) && rule.resourceNames.length > 0;
          // RBAC cannot limit create by name; every other verb is limited.
          if (!named) assert.deepEqual(rule.verbs, ['create'], `${rule.resources}: unnamed ${rule.verbs}`);
          assert.ok(!rule.verbs.includes('*') && !rule.verbs.includes('list') && !rule.verbs.includes('delete'));
        }
        assert.equal(ofKind(objects, 'ClusterRole').length, 0, 'no ClusterRole');
      });
    });
  }

  it('renders the production example of k8s/values with external stores and autoscaling', () => {
    const result = render({
      valuesFiles: ['k8s/values/production.yaml'],
    });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(ofKind(result.objects, 'StatefulSet').length, 0, 'bundled stores in production');
    assert.ok(ofKind(result.objects, 'HorizontalPodAutoscaler').length >= 3);
  });

  it('renders every service of the platform', () => {
    const names = ofKind(renderScenario('minimal'), 'Deployment').map(component).sort();
    assert.deepEqual(names, [...SERVICES].sort());
  });

  it('renders the ServiceMonitor and PrometheusRule only when the cluster serves their API', () => {
    const without = render({ scenarios: ['minimal'] });
    assert.equal(without.status, 0, without.stderr);
    assert.equal(ofKind(without.objects, 'ServiceMonitor').length, 0);
    assert.equal(ofKind(without.objects, 'PrometheusRule').length, 0);
    const withApis = renderScenario('minimal');
    assert.equal(ofKind(withApis, 'ServiceMonitor').length, 1);
    assert.equal(ofKind(withApis, 'PrometheusRule').length, 1);
  });

  it('labels the Grafana dashboard for the sidecar and ships valid JSON that uses a datasource variable', () => {
    const dashboard = ofKind(renderScenario('minimal'), 'ConfigMap').find((cm) => cm.data?.['obip.json']);
    assert.ok(dashboard, 'dashboard ConfigMap');
    assert.equal(dashboard.metadata.labels.grafana_dashboard, '1');
    const json = JSON.parse(dashboard.data['obip.json']);
    for (const panel of json.panels) assert.equal(panel.datasource.uid, '${datasource}', panel.title);
  });

  it('renders the helm test hook Pod checking discovery, JWKS and every service', () => {
    const pod = ofKind(renderScenario('minimal'), 'Pod')[0];
    assert.ok(pod, 'helm test Pod');
    assert.equal(pod.metadata.annotations['helm.sh/hook'], 'test');
    const targets = JSON.parse(pod.spec.containers[0].env.find((e: K8sObject) => e.name === 'OBIP_TEST_TARGETS').value);
    assert.deepEqual(Object.keys(targets.readyz).sort(), [...SERVICES].sort());
  });

  it('renders no Job: config-api generates the signing keys and writes their Secret', () => {
    for (const scenario of SCENARIOS) assert.deepEqual(ofKind(renderScenario(scenario), 'Job'), [], scenario);
  });

  it('labels the bundled stores not for production', () => {
    for (const statefulSet of ofKind(renderScenario('minimal'), 'StatefulSet')) {
      assert.match(statefulSet.metadata.annotations['obip.dev/not-for-production'], /single replica/);
    }
  });
});
