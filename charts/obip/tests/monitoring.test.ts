// The expiry alerts read the gauges config-api exports, by the labels it gives them.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ROOT, ofKind, renderScenario, type K8sObject } from './render';

const rules: K8sObject[] = ofKind(renderScenario('minimal'), 'PrometheusRule')[0]!.spec.groups.flatMap(
  (group: K8sObject) => group.rules,
);
const alert = (name: string): K8sObject => rules.find((r) => r.alert === name)!;

/** Label names of a prom-client metric registered in config-api's sources (tests excluded). */
function configApiLabelNames(metric: string): string[] {
  const dir = join(ROOT, 'services/config-api/src');
  const sources = readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.test.ts'))
    .map((file) => readFileSync(join(dir, file), 'utf8'));
  for (const source of sources) {
    const match = new RegExp(`name: '${metric}',[^}]*?labelNames: \\[([^\\]]*)\\]`).exec(source);
    if (match) return [...match[1]!.matchAll(/'([^']+)'/g)].map((m) => m[1]!);
  }
  throw new Error(`config-api registers no metric ${metric}`);
}

describe('expiry alerts', () => {
  it('names the trust anchor by subject, a label config-api exports', () => {
    const { expr, annotations } = alert('ObipTrustAnchorExpiry');
    assert.match(expr, /^max by \(subject\) \(obip_trust_anchor_expiry_timestamp_seconds\{/);
    assert.ok(configApiLabelNames('obip_trust_anchor_expiry_timestamp_seconds').includes('subject'));
    assert.match(annotations.summary, /\{\{ \$labels\.subject \}\}/);
  });

  it('names the signing key by kid and alg, labels config-api exports', () => {
    const { expr, annotations } = alert('ObipSigningKeyExpiry');
    assert.match(expr, /^min by \(kid, alg\) \(obip_signing_key_expiry_timestamp_seconds\{/);
    assert.deepEqual(configApiLabelNames('obip_signing_key_expiry_timestamp_seconds').sort(), ['alg', 'kid']);
    assert.match(annotations.summary, /\{\{ \$labels\.kid \}\}/);
  });

  it('links every alert to its runbook entry', () => {
    const runbook = readFileSync(join(ROOT, 'k8s/RUNBOOK.md'), 'utf8');
    for (const rule of rules) {
      const anchor = rule.annotations.runbook_url.split('#')[1];
      assert.equal(anchor, rule.alert.toLowerCase());
      assert.ok(runbook.includes(`### ${rule.alert}\n`), `k8s/RUNBOOK.md has no entry for ${rule.alert}`);
    }
  });
});
