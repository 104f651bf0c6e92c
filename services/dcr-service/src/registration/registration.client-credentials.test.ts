import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { DomainError } from '@obip/errors';
import type { TestSoftware } from '@obip/testing';
import { createTokenStore, type TokenRecord, type TokenStore } from '@obip/token-store';
import { startDcrHarness, type DcrHarness } from '../testing/dcr.harness';

// OBIE DCR 3.3: GET, PUT and DELETE /register/{ClientId} may be authorised by a client_credentials
// access token that auth-server issued to that client. auth-server writes such tokens to the
// shared token store; these tests write them the same way.
let h: DcrHarness;
let tokens: TokenStore;

before(async () => {
  h = await startDcrHarness({ name: 'obie_cc' });
  tokens = createTokenStore(h.redis, { revocationMemorySeconds: 600 });
});
after(() => h?.stop());

async function registered(): Promise<{ software: TestSoftware; clientId: string }> {
  const software = await h.newSoftware();
  const { client } = await h.dcr.registration.register({
    body: { format: 'jws', jws: h.request(software) },
    certificate: h.presented(software),
  });
  return { software, clientId: client.clientId };
}

async function issueToken(overrides: Partial<TokenRecord> & { clientId: string }): Promise<string> {
  const token = randomBytes(32).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  await tokens.save(token, {
    v: 1,
    tokenType: 'access_token',
    grantType: 'client_credentials',
    scope: 'accounts',
    issuer: 'https://as.example',
    audience: ['https://as.example'],
    issuedAt: now,
    expiresAt: now + 300,
    ...overrides,
  });
  return token;
}

const refusedWith401 = (error: DomainError) => error.kind === 'unauthorized' && error.code === 'invalid_token';

describe('management with an OBIE client_credentials access token', () => {
  test('reads the client with a token issued to it and bound to the presented certificate', async () => {
    const { software, clientId } = await registered();
    const certificate = h.presented(software);
    const token = await issueToken({ clientId, cnf: { 'x5t#S256': certificate.thumbprintS256 } });
    const client = await h.dcr.registration.read({ clientId, token, certificate });
    assert.equal(client.clientId, clientId);
  });

  test('refuses a token of the same client bound to another certificate', async () => {
    const { software, clientId } = await registered();
    const token = await issueToken({ clientId, cnf: { 'x5t#S256': 'another-thumbprint' } });
    await assert.rejects(
      h.dcr.registration.read({ clientId, token, certificate: h.presented(software) }),
      refusedWith401,
    );
  });

  test('refuses a token of another grant type, such as an authorization_code token', async () => {
    const { software, clientId } = await registered();
    const certificate = h.presented(software);
    const token = await issueToken({
      clientId,
      grantType: 'authorization_code',
      subject: 'customer-1',
      cnf: { 'x5t#S256': certificate.thumbprintS256 },
    });
    await assert.rejects(h.dcr.registration.read({ clientId, token, certificate }), refusedWith401);
  });

  test('answers 401 to a token of another client and revokes that token at once', async () => {
    const first = await registered();
    const second = await registered();
    const certificate = h.presented(first.software);
    const token = await issueToken({ clientId: first.clientId, cnf: { 'x5t#S256': certificate.thumbprintS256 } });
    await assert.rejects(h.dcr.registration.read({ clientId: second.clientId, token, certificate }), refusedWith401);
    assert.equal(await tokens.find(token), undefined, 'the presented token was revoked');
  });

  test('answers 401 to a token presented for an unknown client id and revokes it', async () => {
    const { software, clientId } = await registered();
    const certificate = h.presented(software);
    const token = await issueToken({ clientId, cnf: { 'x5t#S256': certificate.thumbprintS256 } });
    await assert.rejects(h.dcr.registration.read({ clientId: 'no-such-client', token, certificate }), refusedWith401);
    assert.equal(await tokens.find(token), undefined);
  });

  test('deletes the client with its client_credentials token', async () => {
    const { software, clientId } = await registered();
    const certificate = h.presented(software);
    const token = await issueToken({ clientId, cnf: { 'x5t#S256': certificate.thumbprintS256 } });
    await h.dcr.registration.remove({ clientId, token, certificate });
    await assert.rejects(h.dcr.registration.read({ clientId, token, certificate }), refusedWith401);
  });
});
