// Renders charts/obip with the workspace's helm, for the chart's tests. helm keeps its state in a
// temporary directory, never in $HOME.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';

export const CHART = resolve(import.meta.dirname, '..');
export const ROOT = resolve(CHART, '../..');
export const SCENARIOS = readdirSync(join(CHART, 'ci'))
  .filter((file) => file.endsWith('.yaml'))
  .map((file) => file.replace(/\.yaml$/, ''))
  .sort();
/** The Prometheus Operator CRDs, as a cluster running kube-prometheus-stack serves them. */
export const MONITORING_APIS = ['monitoring.coreos.com/v1/ServiceMonitor', 'monitoring.coreos.com/v1/PrometheusRule'];

// Rendered objects are read loosely: the schema tests validate their shape.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = any;

/** A rendered Kubernetes object. */
export type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; [k: string]: Loose };
  [k: string]: Loose;
};

const helmBinary = [join(ROOT, '.tools/bin/helm')].find(existsSync) ?? 'helm';
const state = mkdtempSync(join(tmpdir(), 'obip-chart-helm-'));
const helmEnv = {
  ...process.env,
  HELM_CACHE_HOME: join(state, 'cache'),
  HELM_CONFIG_HOME: join(state, 'config'),
  HELM_DATA_HOME: join(state, 'data'),
};

export interface RenderOptions {
  /** ci/ scenario names, applied in order. */
  scenarios?: string[];
  /** Further values files (paths from the repository root), applied after the scenarios. */
  valuesFiles?: string[];
  /** `--set-json` pairs, e.g. `['ingress.hosts.mtls="x"']`. */
  setJson?: string[];
  apiVersions?: string[];
}

export interface RenderResult {
  status: number;
  stderr: string;
  objects: K8sObject[];
}

export function render(options: RenderOptions = {}): RenderResult {
  const args = ['template', 'obip', CHART, '--namespace', 'obip', '--kube-version', '1.30.0'];
  for (const scenario of options.scenarios ?? []) args.push('-f', join(CHART, 'ci', `${scenario}.yaml`));
  for (const file of options.valuesFiles ?? []) args.push('-f', join(ROOT, file));
  for (const pair of options.setJson ?? []) args.push('--set-json', pair);
  for (const api of options.apiVersions ?? []) args.push('--api-versions', api);
  const result = spawnSync(helmBinary, args, { env: helmEnv, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.error) throw result.error;
  const objects =
    result.status === 0
      ? parseAllDocuments(result.stdout)
          .map((doc) => doc.toJSON() as K8sObject | null)
          .filter((doc): doc is K8sObject => doc !== null)
      : [];
  return { status: result.status ?? 1, stderr: result.stderr, objects };
}

const cache = new Map<string, K8sObject[]>();

/** Objects of one ci/ scenario, rendered once per test file, with the monitoring CRDs served. */
export function renderScenario(scenario: string): K8sObject[] {
  let objects = cache.get(scenario);
  if (!objects) {
    const result = render({ scenarios: [scenario], apiVersions: MONITORING_APIS });
    if (result.status !== 0) throw new Error(`helm template -f ci/${scenario}.yaml failed:\n${result.stderr}`);
    objects = result.objects;
    cache.set(scenario, objects);
  }
  return objects;
}

export function ofKind(objects: K8sObject[], kind: string): K8sObject[] {
  return objects.filter((object) => object.kind === kind);
}

/** Workloads and their pod templates (Deployment, StatefulSet, Job, bare Pod). */
export function podTemplates(
  objects: K8sObject[],
): Array<{ owner: K8sObject; labels: Record<string, string>; spec: K8sObject['spec'] }> {
  return objects.flatMap((object) => {
    if (['Deployment', 'StatefulSet', 'Job'].includes(object.kind)) {
      return [{ owner: object, labels: object.spec.template.metadata?.labels ?? {}, spec: object.spec.template.spec }];
    }
    if (object.kind === 'Pod') return [{ owner: object, labels: object.metadata.labels ?? {}, spec: object.spec }];
    return [];
  });
}

/** Kubernetes label selector semantics for matchLabels and matchExpressions. */
export function selects(
  selector: {
    matchLabels?: Record<string, string>;
    matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>;
  },
  labels: Record<string, string>,
): boolean {
  const byLabel = Object.entries(selector.matchLabels ?? {}).every(([key, value]) => labels[key] === value);
  const byExpression = (selector.matchExpressions ?? []).every(({ key, operator, values = [] }) => {
    switch (operator) {
      case 'In':
        return key in labels && values.includes(labels[key]!);
      case 'NotIn':
        return !(key in labels) || !values.includes(labels[key]!);
      case 'Exists':
        return key in labels;
      case 'DoesNotExist':
        return !(key in labels);
      default:
        throw new Error(`unknown selector operator ${operator}`);
    }
  });
  return byLabel && byExpression;
}
