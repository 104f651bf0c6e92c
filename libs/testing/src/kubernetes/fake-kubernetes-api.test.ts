import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startFakeKubernetesApi, type FakeKubernetesApi } from './fake-kubernetes-api';

const SECRETS = '/api/v1/namespaces/obip/secrets';
const LEASES = '/apis/coordination.k8s.io/v1/namespaces/obip/leases';

/** The fields these tests read from an answer: an object, a list or a Status. */
interface Answer {
  [field: string]: unknown;
  kind: string;
  type?: string;
  reason?: string;
  code?: number;
  details?: unknown;
  data?: Record<string, string>;
  stringData?: unknown;
  metadata: { name: string; resourceVersion: string; uid: string; labels?: Record<string, string> };
  items: Array<{ metadata: { name: string } }>;
}

describe('fake Kubernetes API server', () => {
  let api: FakeKubernetesApi;
  before(async () => {
    api = await startFakeKubernetesApi();
  });
  after(() => api.close());

  async function call(method: string, path: string, body?: unknown, contentType = 'application/json') {
    const response = await fetch(`${api.url}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': contentType },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Answer };
  }

  it('answers 404 with a NotFound Status for a missing object', async () => {
    const { status, body } = await call('GET', `${SECRETS}/missing`);
    assert.equal(status, 404);
    assert.equal(body.kind, 'Status');
    assert.equal(body.reason, 'NotFound');
    assert.equal(body.code, 404);
    assert.deepEqual(body.details, { name: 'missing', kind: 'secrets' });
  });

  it('creates, reads and lists Secrets, folding stringData into base64 data', async () => {
    const created = await call('POST', SECRETS, { metadata: { name: 'one' }, stringData: { 'ca.crt': 'PEM' } });
    assert.equal(created.status, 201);
    assert.equal(created.body.kind, 'Secret');
    assert.equal(created.body.type, 'Opaque');
    assert.deepEqual(created.body.data, { 'ca.crt': Buffer.from('PEM').toString('base64') });
    assert.equal(created.body.stringData, undefined);
    assert.match(created.body.metadata.resourceVersion, /^\d+$/);

    const read = await call('GET', `${SECRETS}/one`);
    assert.deepEqual(read.body, created.body);
    const list = await call('GET', SECRETS);
    assert.equal(list.body.kind, 'SecretList');
    assert.deepEqual(
      list.body.items.map((item) => item.metadata.name),
      ['one'],
    );
  });

  it('answers 409 AlreadyExists to a create of an existing name', async () => {
    await call('POST', SECRETS, { metadata: { name: 'twice' } });
    const { status, body } = await call('POST', SECRETS, { metadata: { name: 'twice' } });
    assert.equal(status, 409);
    assert.equal(body.reason, 'AlreadyExists');
  });

  it('bumps resourceVersion on replace and answers 409 Conflict to a stale one', async () => {
    const created = await call('POST', LEASES, { metadata: { name: 'lease' }, spec: { holderIdentity: 'a' } });
    const version = created.body.metadata.resourceVersion as string;
    const replaced = await call('PUT', `${LEASES}/lease`, { ...created.body, spec: { holderIdentity: 'b' } });
    assert.equal(replaced.status, 200);
    assert.notEqual(replaced.body.metadata.resourceVersion, version);
    assert.equal(replaced.body.metadata.uid, created.body.metadata.uid);

    const stale = await call('PUT', `${LEASES}/lease`, { ...created.body, spec: { holderIdentity: 'c' } });
    assert.equal(stale.status, 409);
    assert.equal(stale.body.reason, 'Conflict');
    assert.deepEqual(stale.body.details, { name: 'lease', group: 'coordination.k8s.io', kind: 'leases' });
    assert.equal((api.leases.get('obip', 'lease')?.spec as { holderIdentity: string }).holderIdentity, 'b');
  });

  it('applies a JSON merge patch, with a resourceVersion precondition when one is sent', async () => {
    const created = await call('POST', SECRETS, {
      metadata: { name: 'patched', labels: { a: '1', b: '2' } },
      data: { x: 'eA==' },
    });
    const patched = await call(
      'PATCH',
      `${SECRETS}/patched`,
      { metadata: { labels: { b: null, c: '3' } }, data: { y: 'eQ==' } },
      'application/merge-patch+json',
    );
    assert.equal(patched.status, 200);
    assert.deepEqual(patched.body.metadata.labels, { a: '1', c: '3' });
    assert.deepEqual(patched.body.data, { x: 'eA==', y: 'eQ==' });

    const stale = await call(
      'PATCH',
      `${SECRETS}/patched`,
      { metadata: { resourceVersion: created.body.metadata.resourceVersion }, data: { z: 'eg==' } },
      'application/merge-patch+json',
    );
    assert.equal(stale.status, 409);
    const unsupported = await call('PATCH', `${SECRETS}/patched`, [], 'application/json-patch+json');
    assert.equal(unsupported.status, 415);
  });

  it('refuses Secret data that is not base64', async () => {
    const { status, body } = await call('POST', SECRETS, { metadata: { name: 'bad' }, data: { x: 'not base64!' } });
    assert.equal(status, 400);
    assert.equal(body.reason, 'BadRequest');
  });

  it('injects failures and runs hooks on the next matching request only', async () => {
    await call('POST', SECRETS, { metadata: { name: 'flaky' } });
    api.failNext('GET', `${SECRETS}/flaky`, 503, 2);
    let hooked = 0;
    api.beforeNext('GET', `${SECRETS}/flaky`, () => (hooked += 1));
    assert.equal((await call('GET', `${SECRETS}/flaky`)).status, 503);
    assert.equal((await call('GET', `${SECRETS}/flaky`)).body.reason, 'ServiceUnavailable');
    assert.equal((await call('GET', `${SECRETS}/flaky`)).status, 200);
    assert.equal(hooked, 1);
    assert.deepEqual(
      api.requests.slice(-3).map((r) => r.status),
      [503, 503, 200],
    );
  });

  it('stores out-of-band writes with a new resourceVersion, so an older client write conflicts', async () => {
    const created = await call('POST', SECRETS, { metadata: { name: 'raced' }, data: {} });
    api.secrets.put('obip', { ...created.body, data: { theirs: 'eA==' } });
    const stale = await call('PUT', `${SECRETS}/raced`, { ...created.body, data: { ours: 'eQ==' } });
    assert.equal(stale.status, 409);
    assert.deepEqual(api.secrets.get('obip', 'raced')?.data, { theirs: 'eA==' });
  });

  it('gives loadFromOptions a context pointing at itself', () => {
    const options = api.kubeConfig('obip');
    assert.equal(options.clusters[0]?.server, api.url);
    assert.equal(options.contexts[0]?.namespace, 'obip');
  });
});
