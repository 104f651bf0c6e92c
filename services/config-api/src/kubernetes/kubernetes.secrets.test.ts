import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { startFakeKubernetesApi, type FakeKubernetesApi } from '@obip/testing';
import { createKubernetesApis, type KubernetesLogger, type SecretApi } from './kubernetes.client';
import { KubernetesSyncError } from './kubernetes.errors';
import { createSecretSync, MANAGED_BY, MANAGED_BY_LABEL } from './kubernetes.secrets';

const NAMESPACE = 'obip';
const quiet: KubernetesLogger = { debug() {}, info() {}, warn() {}, error() {} };
const secretPath = (name: string) => `/api/v1/namespaces/${NAMESPACE}/secrets/${name}`;

const ANCHORS = [
  '-----BEGIN CERTIFICATE-----\nMIIBdjCCAR2gAwIBAgIUanchorOne\n-----END CERTIFICATE-----\n',
  '-----BEGIN CERTIFICATE-----\nMIIBdjCCAR2gAwIBAgIUanchorTwo\n-----END CERTIFICATE-----\n',
].join('');

function decoded(secret: Record<string, unknown> | undefined): Record<string, string> {
  const data = (secret?.data ?? {}) as Record<string, string>;
  return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
}

describe('Secret sync against a Kubernetes API server', () => {
  let api: FakeKubernetesApi;
  let core: SecretApi;
  let counter = 0;
  const newName = () => `secret-${++counter}`;
  const requestsTo = (name: string) => api.requests.filter((r) => r.path === secretPath(name));

  before(async () => {
    api = await startFakeKubernetesApi();
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromOptions(api.kubeConfig(NAMESPACE));
    core = createKubernetesApis(kubeConfig).secrets;
  });
  after(() => api.close());

  it('creates a missing Secret as Opaque, labelled as managed by config-api, with base64 data', async () => {
    const name = newName();
    const sync = createSecretSync({ core, namespace: NAMESPACE, logger: quiet });
    assert.equal(await sync.writeSecret(name, { 'ca.crt': ANCHORS }), 'created');
    const secret = api.secrets.get(NAMESPACE, name);
    assert.equal(secret?.type, 'Opaque');
    assert.equal((secret?.metadata?.labels as Record<string, string>)[MANAGED_BY_LABEL], MANAGED_BY);
    assert.equal((secret?.data as Record<string, string>)['ca.crt'], Buffer.from(ANCHORS).toString('base64'));
    assert.deepEqual(decoded(secret), { 'ca.crt': ANCHORS });
  });

  it('leaves a Secret that already holds the data untouched', async () => {
    const name = newName();
    const sync = createSecretSync({ core, namespace: NAMESPACE, logger: quiet });
    await sync.writeSecret(name, { 'ca.crt': ANCHORS });
    const version = api.secrets.get(NAMESPACE, name)?.metadata?.resourceVersion;
    assert.equal(await sync.writeSecret(name, { 'ca.crt': ANCHORS }), 'unchanged');
    assert.equal(api.secrets.get(NAMESPACE, name)?.metadata?.resourceVersion, version);
    assert.equal(requestsTo(name).filter((r) => r.method === 'PUT').length, 0);
  });

  it('replaces a changed Secret with the resourceVersion it read, keeping keys and labels it does not own', async () => {
    const name = newName();
    api.secrets.put(NAMESPACE, {
      metadata: { name, labels: { team: 'edge' } },
      type: 'Opaque',
      data: { 'ca.crt': Buffer.from('old').toString('base64'), 'ca.crl': Buffer.from('crl').toString('base64') },
    });
    const readVersion = api.secrets.get(NAMESPACE, name)?.metadata?.resourceVersion;
    const sync = createSecretSync({ core, namespace: NAMESPACE, logger: quiet });
    assert.equal(await sync.writeSecret(name, { 'ca.crt': ANCHORS }), 'updated');
    const put = requestsTo(name).find((r) => r.method === 'PUT');
    assert.equal((put?.body as { metadata: { resourceVersion: string } }).metadata.resourceVersion, readVersion);
    const secret = api.secrets.get(NAMESPACE, name);
    assert.deepEqual(decoded(secret), { 'ca.crt': ANCHORS, 'ca.crl': 'crl' });
    assert.deepEqual(secret?.metadata?.labels, { team: 'edge', [MANAGED_BY_LABEL]: MANAGED_BY });
  });

  it('retries a replace that meets a concurrent write (409 Conflict) and ends with the anchors', async () => {
    const name = newName();
    const sync = createSecretSync({ core, namespace: NAMESPACE, logger: quiet });
    await sync.writeSecret(name, { 'ca.crt': 'first' });
    // Another writer changes the Secret between our read and our replace.
    api.beforeNext('PUT', secretPath(name), () => {
      const current = api.secrets.get(NAMESPACE, name);
      api.secrets.put(NAMESPACE, { ...current, data: { 'ca.crt': Buffer.from('theirs').toString('base64') } });
    });
    assert.equal(await sync.writeSecret(name, { 'ca.crt': ANCHORS }), 'updated');
    const statuses = requestsTo(name)
      .filter((r) => r.method === 'PUT')
      .map((r) => r.status);
    assert.deepEqual(statuses, [409, 200]);
    assert.deepEqual(decoded(api.secrets.get(NAMESPACE, name)), { 'ca.crt': ANCHORS });
  });

  it('retries an injected 409 on replace', async () => {
    const name = newName();
    const sync = createSecretSync({ core, namespace: NAMESPACE, logger: quiet });
    await sync.writeSecret(name, { 'jwks.json': '{"keys":[]}' });
    api.failNext('PUT', secretPath(name), 409, 2);
    assert.equal(await sync.writeSecret(name, { 'jwks.json': '{"keys":[{"kid":"k1"}]}' }), 'updated');
    assert.deepEqual(decoded(api.secrets.get(NAMESPACE, name)), { 'jwks.json': '{"keys":[{"kid":"k1"}]}' });
  });

  it('retries a create that loses to another writer creating the same Secret', async () => {
    const name = newName();
    api.beforeNext('POST', `/api/v1/namespaces/${NAMESPACE}/secrets`, () => {
      api.secrets.put(NAMESPACE, { metadata: { name }, data: { 'ca.crt': Buffer.from('theirs').toString('base64') } });
    });
    const sync = createSecretSync({ core, namespace: NAMESPACE, logger: quiet });
    assert.equal(await sync.writeSecret(name, { 'ca.crt': ANCHORS }), 'updated');
    assert.ok(
      api.requests.some((r) => r.method === 'POST' && r.status === 409),
      'the create met AlreadyExists',
    );
    assert.deepEqual(decoded(api.secrets.get(NAMESPACE, name)), { 'ca.crt': ANCHORS });
  });

  it('gives up after its attempts when every replace conflicts', async () => {
    const name = newName();
    const sync = createSecretSync({ core, namespace: NAMESPACE, logger: quiet, maxAttempts: 3, initialBackoffMs: 5 });
    await sync.writeSecret(name, { 'ca.crt': 'first' });
    api.failNext('PUT', secretPath(name), 409, 3);
    await assert.rejects(sync.writeSecret(name, { 'ca.crt': ANCHORS }), (error: unknown) => {
      assert.ok(error instanceof KubernetesSyncError);
      assert.equal(error.code, 'secret_write_conflict');
      assert.equal(error.status, 409);
      return true;
    });
  });

  it('fails at once, without retrying, when the API server forbids the write', async () => {
    const name = newName();
    const sync = createSecretSync({ core, namespace: NAMESPACE, logger: quiet, initialBackoffMs: 5 });
    api.failNext('GET', secretPath(name), 403);
    await assert.rejects(sync.writeSecret(name, { 'ca.crt': ANCHORS }), (error: unknown) => {
      assert.ok(error instanceof KubernetesSyncError);
      assert.equal(error.code, 'kubernetes_request_failed');
      assert.equal(error.status, 403);
      return true;
    });
    assert.equal(requestsTo(name).length, 1);
  });
});

describe('Secret sync deadlines', () => {
  it('gives up on an API server that does not answer', async () => {
    const hung = createServer(() => undefined);
    await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
    try {
      const kubeConfig = new KubeConfig();
      kubeConfig.loadFromOptions({
        clusters: [
          { name: 'hung', server: `http://127.0.0.1:${(hung.address() as AddressInfo).port}`, skipTLSVerify: true },
        ],
        users: [{ name: 'u', token: 't' }],
        contexts: [{ name: 'c', cluster: 'hung', user: 'u' }],
        currentContext: 'c',
      });
      const core = createKubernetesApis(kubeConfig, { secretRequestTimeoutMs: 150 }).secrets;
      const sync = createSecretSync({ core, namespace: NAMESPACE, logger: quiet, maxAttempts: 2, initialBackoffMs: 5 });
      const started = Date.now();
      await assert.rejects(sync.writeSecret('any', { 'ca.crt': ANCHORS }), (error: unknown) => {
        assert.ok(error instanceof KubernetesSyncError);
        assert.equal(error.code, 'kubernetes_request_failed');
        assert.equal(error.status, undefined);
        assert.equal((error.cause as Error).name, 'TimeoutError');
        return true;
      });
      const elapsed = Date.now() - started;
      assert.ok(elapsed >= 300 && elapsed < 2_000, `two attempts of 150 ms each, took ${elapsed} ms`);
    } finally {
      hung.closeAllConnections();
      await new Promise((resolve) => hung.close(resolve));
    }
  });
});
