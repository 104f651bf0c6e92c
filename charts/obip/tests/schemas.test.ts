// Every object of every ci/ scenario validates against the Kubernetes (and Prometheus Operator)
// schemas offline, through kubernetes-models' precompiled validators.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SCENARIOS, renderScenario, type K8sObject } from './render';

type Model = new (data: unknown) => { validate(): void };

/** Kinds without a models package here; HTTPRoute is checked structurally in routes.test.ts. */
const WITHOUT_MODELS = new Set(['gateway.networking.k8s.io/v1/HTTPRoute']);

function modulePath(apiVersion: string, kind: string): string {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  if (group === 'monitoring.coreos.com') return `@kubernetes-models/prometheus-operator/${group}/${version}/${kind}`;
  return group ? `kubernetes-models/${group}/${version}/${kind}` : `kubernetes-models/${version}/${kind}`;
}

async function validate(object: K8sObject): Promise<'valid' | 'no-model'> {
  const key = `${object.apiVersion}/${object.kind}`;
  if (WITHOUT_MODELS.has(key)) return 'no-model';
  const module = (await import(modulePath(object.apiVersion, object.kind))) as Record<string, Model>;
  const Ctor = module[object.kind];
  assert.ok(Ctor, `no model class for ${key}`);
  const { apiVersion: _apiVersion, kind: _kind, ...rest } = object;
  new Ctor(rest).validate();
  return 'valid';
}

describe('chart objects against the Kubernetes schemas', () => {
  for (const scenario of SCENARIOS) {
    it(`validates every object rendered for ci/${scenario}.yaml`, async () => {
      const objects = renderScenario(scenario);
      assert.ok(objects.length > 20, `ci/${scenario}.yaml rendered only ${objects.length} objects`);
      for (const object of objects) {
        await assert.doesNotReject(validate(object), `${object.kind}/${object.metadata.name} (ci/${scenario}.yaml)`);
      }
    });
  }

  it('catches an invalid object (the validator is live)', async () => {
    const [deployment] = renderScenario('minimal').filter((o) => o.kind === 'Deployment');
    const broken = structuredClone(deployment!);
    broken.spec.replicas = 'two';
    await assert.rejects(validate(broken), /replicas/);
  });
});
