import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { compactVerify, createLocalJWKSet, importJWK, SignJWT, type JSONWebKeySet } from 'jose';
import { createTestPki, freePort, type TestPki } from '@obip/testing';
import { parseTppRequest, startDirectoryApp, type DirectoryApp } from './directory-app';

let pki: TestPki;
let app: DirectoryApp;

before(async () => {
  pki = await createTestPki({ name: 'obip Sandbox' });
  app = await startDirectoryApp({ pki });
});
after(() => app?.stop());

const tpp = {
  software_client_name: 'Financroo',
  software_redirect_uris: ['https://tpp.sandbox.example/callback'],
  software_roles: ['AISP', 'PISP'],
};

function post(body: unknown, contentType = 'application/json') {
  return fetch(`${app.url}/tpps`, {
    method: 'POST',
    headers: { 'content-type': contentType },
    body: JSON.stringify(body),
  });
}

describe('the sandbox directory', () => {
  test('issues a software statement it signs, a transport certificate from the sandbox CA and a signing key it publishes', async () => {
    const response = await post(tpp);
    assert.equal(response.status, 201);
    const issued = (await response.json()) as {
      org_id: string;
      software_id: string;
      ssa: string;
      transport: { cert: string; key: string };
      signing: { kid: string; private_jwk: Record<string, unknown> };
      jwks_uri: string;
    };

    const directoryKeys = (await (await fetch(`${app.url}/jwks`)).json()) as JSONWebKeySet;
    const { payload } = await compactVerify(issued.ssa, createLocalJWKSet(directoryKeys));
    const ssa = JSON.parse(new TextDecoder().decode(payload)) as Record<string, unknown>;
    assert.equal(ssa.software_id, issued.software_id);
    assert.equal(ssa.org_id, issued.org_id);
    assert.equal(ssa.software_client_name, 'Financroo');
    assert.deepEqual(ssa.software_redirect_uris, tpp.software_redirect_uris);
    assert.deepEqual(ssa.software_roles, tpp.software_roles);
    assert.equal(ssa.software_jwks_endpoint, issued.jwks_uri);

    const [leaf, issuing] = issued.transport.cert.match(
      /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g,
    )!;
    const certificate = new X509Certificate(leaf!);
    assert.ok(certificate.verify(new X509Certificate(issuing!).publicKey), 'issued by the sandbox issuing CA');
    assert.match(certificate.subject, new RegExp(`OU=${issued.org_id}`));
    assert.match(certificate.subject, new RegExp(`CN=${issued.software_id}`));

    // What the TPP signs with the private JWK verifies with the key published at jwks_uri.
    const published = (await (await fetch(issued.jwks_uri)).json()) as JSONWebKeySet;
    const jwt = await new SignJWT({ probe: true })
      .setProtectedHeader({ alg: 'PS256', kid: issued.signing.kid })
      .sign(await importJWK(issued.signing.private_jwk, 'PS256'));
    await compactVerify(jwt, createLocalJWKSet(published));
  });

  test('refuses malformed requests with the reason and issues nothing', async () => {
    assert.equal((await post({ ...tpp, software_redirect_uris: ['http://insecure.example/cb'] })).status, 400);
    assert.equal((await post({ ...tpp, software_roles: ['ADMIN'] })).status, 400);
    assert.equal((await post({ software_redirect_uris: tpp.software_redirect_uris })).status, 400);
    assert.equal((await post(tpp, 'text/plain')).status, 415);
    assert.equal((await fetch(`${app.url}/tpps`)).status, 405);
    assert.equal((await fetch(`${app.url}/nothing`)).status, 404);
  });

  test('the request rules name what is wrong', () => {
    assert.ok('request' in parseTppRequest(tpp));
    assert.ok('error' in parseTppRequest([]));
    assert.ok('error' in parseTppRequest({ ...tpp, software_client_name: ' ' }));
    assert.ok('error' in parseTppRequest({ ...tpp, software_redirect_uris: [] }));
  });
});

describe('the sandbox directory with a state file (data kept between sandbox runs)', () => {
  test('after a restart it signs with the same key and still serves the key sets of software issued before', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'obip-directory-state-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const stateFile = join(dir, 'directory.json');
    const keyServerPort = await freePort();

    const first = await startDirectoryApp({ pki, stateFile, keyServerPort });
    const issued = (await (
      await fetch(`${first.url}/tpps`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(tpp),
      })
    ).json()) as { jwks_uri: string; signing: { kid: string } };
    const directoryKid = ((await (await fetch(`${first.url}/jwks`)).json()) as JSONWebKeySet).keys[0]!.kid;
    await first.stop();
    assert.equal(statSync(stateFile).mode & 0o777, 0o600, 'the state holds private keys: owner only');

    const second = await startDirectoryApp({ pki, stateFile, keyServerPort });
    t.after(() => second.stop());
    const afterRestart = (await (await fetch(`${second.url}/jwks`)).json()) as JSONWebKeySet;
    assert.equal(afterRestart.keys[0]!.kid, directoryKid);
    const softwareKeys = (await (await fetch(issued.jwks_uri)).json()) as JSONWebKeySet;
    assert.deepEqual(
      softwareKeys.keys.map((key) => key.kid),
      [issued.signing.kid],
    );
  });

  test('a state file that is not one is refused with a way out', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'obip-directory-state-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const stateFile = join(dir, 'directory.json');
    writeFileSync(stateFile, '{"keySets":{}}');
    await assert.rejects(startDirectoryApp({ pki, stateFile }), /not a sandbox directory state.*--fresh/);
  });
});
