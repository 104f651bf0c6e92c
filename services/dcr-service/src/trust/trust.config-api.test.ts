import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { DomainError } from '@obip/errors';
import type { TrustAnchor, TrustedDirectory } from '@obip/platform-config';
import {
  attachServerLogsOnFailure,
  createTestPki,
  startConfigApiDouble,
  type ConfigApiDouble,
  type TestSoftware,
} from '@obip/testing';
import { startDcrHarness, type DcrHarness } from '../testing/dcr.harness';

async function waitFor(what: string, predicate: () => boolean, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > until) assert.fail(`timed out waiting until ${what}`);
    await sleep(10);
  }
}

async function assertRefused(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof DomainError, `expected a DomainError, got ${String(error)}`);
    assert.equal(error.code, code);
    return true;
  });
}

function trustAnchor(pem: string): TrustAnchor {
  const certificate = new X509Certificate(pem);
  return {
    fingerprint: certificate.fingerprint256.replace(/:/g, '').toLowerCase(),
    subject: certificate.subject.replace(/\n/g, ', '),
    notAfter: new Date(certificate.validTo).toISOString(),
    pem: certificate.toString(),
  };
}

/** Issue 8: the directories and trust anchors an admin edits on config-api apply without a restart. */
describe('trust published by config-api', () => {
  let configApi: ConfigApiDouble;
  let h: DcrHarness | undefined;
  attachServerLogsOnFailure();

  const harness = () => {
    assert.ok(h, 'the harness runs');
    return h;
  };

  before(async () => {
    configApi = await startConfigApiDouble();
    configApi.publish({ directories: [], trustAnchors: [] });
    h = await startDcrHarness({
      name: 'live_trust',
      httpsDirectory: true,
      env: {
        CONFIG_GRPC_TARGET: configApi.target,
        // The environment trusts nothing: whatever is trusted below, config-api published.
        DCR_TRUSTED_DIRECTORIES: '[]',
        DCR_TRUSTED_CA_FILE: '',
      },
    });
    await waitFor('the first snapshot is applied', () => harness().dcr.trust.version() === 1);
  });
  after(async () => {
    await h?.stop();
    await configApi?.stop();
  });

  /** Publishes `change` and waits until dcr-service runs under it. */
  async function publish(change: Parameters<ConfigApiDouble['publish']>[0]): Promise<void> {
    const version = configApi.publish(change);
    await waitFor(`version ${version} is in force`, () => harness().dcr.trust.version() === version);
  }

  const directory = (status: TrustedDirectory['status']): TrustedDirectory => ({
    id: 'obip-test-directory',
    name: 'obip test directory',
    issuer: harness().directory.issuer,
    jwksUri: harness().directory.jwksUri,
    environment: 'sandbox',
    status,
  });

  const register = (software: TestSoftware) =>
    harness().dcr.registration.register({
      body: { format: 'jws', jws: harness().request(software) },
      certificate: harness().presented(software),
    });

  test('with no directory published, a registration is refused with unapproved_software_statement', async () => {
    const software = await harness().newSoftware();
    const response = await fetch(`${harness().url}/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/jose', ...harness().certificateHeaders(software) },
      body: harness().request(software),
    });
    assert.equal(response.status, 400);
    assert.equal(((await response.json()) as { error?: string }).error, 'unapproved_software_statement');
  });

  test('a directory the admin just added is trusted by the next registration', async () => {
    await publish({ directories: [directory('active')] });
    const software = await harness().newSoftware();
    const { client } = await register(software);
    assert.equal(client.softwareId, software.softwareId);
  });

  test('a directory just disabled is refused with unapproved_software_statement', async () => {
    await publish({ directories: [directory('disabled')] });
    await assertRefused(register(await harness().newSoftware()), 'unapproved_software_statement');
  });

  test('a directory enabled again has its key set fetched afresh, not the one cached while it was trusted', async () => {
    const fetches = () => harness().directory.keyServer.hits('/directory/jwks');
    const before = fetches();
    await publish({ directories: [directory('active')] });
    await register(await harness().newSoftware());
    assert.equal(fetches(), before + 1, 'one fetch, although the cached set was younger than DCR_JWKS_CACHE_TTL_MS');
  });

  test('a directory removed from the published list is refused with unapproved_software_statement', async () => {
    await publish({ directories: [] });
    await assertRefused(register(await harness().newSoftware()), 'unapproved_software_statement');
  });

  test('published trust anchors verify the transport certificate while DCR_TRUSTED_CA_FILE is unset', async () => {
    const foreign = await createTestPki({ name: 'Foreign' });
    await publish({ directories: [directory('active')], trustAnchors: [trustAnchor(foreign.issuing.certPem)] });
    await assertRefused(register(await harness().newSoftware()), 'invalid_client');

    await publish({ trustAnchors: [trustAnchor(harness().pki.issuing.certPem)] });
    const software = await harness().newSoftware();
    assert.equal((await register(software)).client.softwareId, software.softwareId);
  });

  test('stopping dcr-service ends its watch on config-api', async () => {
    assert.equal(configApi.watchers(), 1);
    await harness().stop();
    h = undefined;
    await waitFor('the watch is closed', () => configApi.watchers() === 0);
  });
});
