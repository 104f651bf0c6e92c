// auth-server's session keys (services/auth-server/src/config.ts): the cookie keys (COOKIE_KEYS_FILE)
// and the DPoP nonce secret (DPOP_NONCE_SECRET) come from one Secret that every replica reads, so a
// cookie or a DPoP nonce one replica issued is accepted by the others.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SCENARIOS, ofKind, render, renderScenario, type K8sObject } from './render';

const SERVICES = ['auth-server', 'dcr-service', 'consent-service', 'token-introspection', 'config-api'];
const component = (object: K8sObject): string => object.metadata.labels?.['app.kubernetes.io/component'];
const deploymentOf = (objects: K8sObject[], name: string) =>
  ofKind(objects, 'Deployment').find((d) => component(d) === name)!;
const settingsOf = (objects: K8sObject[], name: string): Record<string, string> =>
  ofKind(objects, 'ConfigMap').find((c) => component(c) === name && c.data?.HTTP_PORT)!.data;

/** Where auth-server's pods get their session keys from. */
function sessionKeysOf(objects: K8sObject[]) {
  const spec = deploymentOf(objects, 'auth-server').spec.template.spec;
  const [container] = spec.containers;
  const mount = container.volumeMounts.find((m: K8sObject) => m.name === 'session-keys');
  const volume = spec.volumes.find((v: K8sObject) => v.name === 'session-keys');
  const dpop = container.env.find((e: K8sObject) => e.name === 'DPOP_NONCE_SECRET');
  return { mount, volume, dpop, settings: settingsOf(objects, 'auth-server') };
}

describe("auth-server's session keys", () => {
  it('gives auth-server COOKIE_KEYS_FILE in the mounted Secret and DPOP_NONCE_SECRET from it', () => {
    const objects = renderScenario('minimal');
    const { mount, volume, dpop, settings } = sessionKeysOf(objects);
    assert.ok(mount, 'session-keys mount');
    assert.equal(mount.readOnly, true);
    // No subPath: the kubelet's updates of the Secret reach the file, and auth-server re-reads it.
    assert.equal(mount.subPath, undefined);
    assert.equal(settings.COOKIE_KEYS_FILE, `${mount.mountPath}/cookie-keys`);
    assert.ok(Number(settings.SIGNING_KEYS_RELOAD_MS) > 0, 'the file is re-read');
    assert.equal(volume.secret.secretName, 'obip-auth-server-session');
    // The cookie keys only: the DPoP nonce secret is not written to the pod's filesystem.
    assert.deepEqual(volume.secret.items, [{ key: 'cookie-keys', path: 'cookie-keys' }]);
    assert.deepEqual(dpop, {
      name: 'DPOP_NONCE_SECRET',
      valueFrom: { secretKeyRef: { name: 'obip-auth-server-session', key: 'dpop-nonce-secret' } },
    });
  });

  it('gives every replica of every scenario the same keys, from a Secret the chart renders or you name', () => {
    for (const scenario of SCENARIOS) {
      const objects = renderScenario(scenario);
      const deployment = deploymentOf(objects, 'auth-server');
      const { mount, volume, dpop, settings } = sessionKeysOf(objects);
      // Every replica is made from this one pod template, so all read the same Secret and none
      // falls back to its own development keys (DEV_KEYS_DIR).
      assert.ok(mount && volume && dpop, `${scenario}: session keys`);
      assert.equal(settings.COOKIE_KEYS_FILE, `${mount.mountPath}/cookie-keys`, scenario);
      const name = volume.secret.secretName;
      assert.equal(dpop.valueFrom.secretKeyRef.name, name, `${scenario}: one Secret for both keys`);
      const generated = ofKind(objects, 'Secret').find((s) => s.metadata.name === name);
      // Either the chart renders it (evaluation) or it is the operator's authServer.sessionKeys.existingSecret.
      if (!generated) assert.notEqual(name, 'obip-auth-server-session', `${scenario}: ${name} is not rendered`);
      if (scenario === 'production') assert.equal(deployment.spec.replicas, 3, 'production runs several replicas');
    }
  });

  it('mounts and passes them to auth-server only', () => {
    const objects = renderScenario('minimal');
    for (const name of SERVICES.filter((s) => s !== 'auth-server')) {
      const spec = deploymentOf(objects, name).spec.template.spec;
      const [container] = spec.containers;
      assert.ok(!(container.volumeMounts ?? []).some((m: K8sObject) => m.name === 'session-keys'), `${name}: mount`);
      assert.ok(
        !(spec.volumes ?? []).some((v: K8sObject) => v.secret?.secretName === 'obip-auth-server-session'),
        `${name}: volume`,
      );
      assert.ok(!(container.env ?? []).some((e: K8sObject) => e.name === 'DPOP_NONCE_SECRET'), `${name}: env`);
      const settings = settingsOf(objects, name);
      for (const key of ['COOKIE_KEYS_FILE', 'COOKIE_KEYS', 'DPOP_NONCE_SECRET']) {
        assert.equal(settings[key], undefined, `${name}: ${key}`);
      }
    }
  });

  it('generates them for evaluation, kept on uninstall, in the formats auth-server accepts', () => {
    const objects = renderScenario('minimal');
    const secret = ofKind(objects, 'Secret').find((s) => s.metadata.name === 'obip-auth-server-session');
    assert.ok(secret, 'Secret obip-auth-server-session');
    assert.equal(secret.metadata.annotations['helm.sh/resource-policy'], 'keep');
    assert.match(secret.metadata.annotations['obip.dev/not-for-production'], /authServer\.sessionKeys\.existingSecret/);
    assert.equal(component(secret), 'auth-server');
    assert.deepEqual(Object.keys(secret.data).sort(), ['cookie-keys', 'dpop-nonce-secret']);
    const decoded = (key: string) => Buffer.from(secret.data[key], 'base64').toString('utf8');
    // COOKIE_KEYS_FILE: comma- or line-separated keys, each at least 32 characters.
    const cookieKeys = decoded('cookie-keys')
      .split(/[,\r\n]+/)
      .filter(Boolean);
    assert.equal(cookieKeys.length, 1);
    assert.match(cookieKeys[0]!, /^[A-Za-z0-9_-]{43}$/);
    // DPOP_NONCE_SECRET: 32 bytes, base64url without padding.
    const nonceSecret = decoded('dpop-nonce-secret');
    assert.match(nonceSecret, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(Buffer.from(nonceSecret, 'base64url').length, 32);
    assert.notEqual(nonceSecret, cookieKeys[0], 'two independent values');
  });

  it('reads them from authServer.sessionKeys.existingSecret, and then generates none', () => {
    const production = renderScenario('production');
    const { volume, dpop } = sessionKeysOf(production);
    assert.equal(volume.secret.secretName, 'obip-auth-session');
    assert.deepEqual(dpop.valueFrom.secretKeyRef, { name: 'obip-auth-session', key: 'dpop-nonce-secret' });
    assert.equal(ofKind(production, 'Secret').length, 0, 'the chart holds no production secret');

    const evaluation = render({
      scenarios: ['minimal'],
      setJson: ['authServer.sessionKeys.existingSecret="my-session"'],
    });
    assert.equal(evaluation.status, 0, evaluation.stderr);
    const ours = sessionKeysOf(evaluation.objects);
    assert.equal(ours.volume.secret.secretName, 'my-session');
    assert.equal(ours.dpop.valueFrom.secretKeyRef.name, 'my-session');
    assert.ok(!ofKind(evaluation.objects, 'Secret').some((s) => s.metadata.name === 'obip-auth-server-session'));
  });
});
