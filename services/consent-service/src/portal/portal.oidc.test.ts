// The ID token checks of the portal's sign-in (OIDC Core 3.1.3.7), with real keys and
// signatures; the whole sign-in runs against the real auth-server in e2e/src/flows/portal.test.ts.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SignJWT, createLocalJWKSet, exportJWK, generateKeyPair, type JWTPayload } from 'jose';
import { DomainError } from '@obip/errors';
import { SIGN_IN_ERROR_CODES, pkceChallengeOf, verifyIdToken } from './portal.oidc';

const ISSUER = 'https://as.bank.example';
const CLIENT = 'portal-client';
const NONCE = 'nonce-1';

describe('the portal’s ID token checks', async () => {
  const signer = await generateKeyPair('PS256');
  const jwks = createLocalJWKSet({ keys: [{ ...(await exportJWK(signer.publicKey)), kid: 'k1', alg: 'PS256' }] });
  const other = await generateKeyPair('PS256');

  const idToken = (claims: JWTPayload = {}, key = signer.privateKey, alg = 'PS256') => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ iss: ISSUER, aud: CLIENT, sub: 'cust-1', nonce: NONCE, iat: now, exp: now + 300, ...claims })
      .setProtectedHeader({ alg, kid: 'k1' })
      .sign(key);
  };

  const refused = async (token: Promise<string>) => {
    await assert.rejects(verifyIdToken(await token, jwks, { nonce: NONCE, clientId: CLIENT }, ISSUER), (error) => {
      assert.ok(error instanceof DomainError);
      assert.equal(error.code, SIGN_IN_ERROR_CODES.failed);
      assert.equal(error.kind, 'bad_request');
      return true;
    });
  };

  test('accepts a token of the issuer for this client and sign-in, and returns the customer', async () => {
    assert.deepEqual(await verifyIdToken(await idToken(), jwks, { nonce: NONCE, clientId: CLIENT }, ISSUER), {
      subject: 'cust-1',
    });
  });

  test('carries the token’s acr and amr, and ignores malformed ones', async () => {
    assert.deepEqual(
      await verifyIdToken(
        await idToken({ acr: 'urn:openbanking:psd2:sca', amr: ['pwd'] }),
        jwks,
        { nonce: NONCE, clientId: CLIENT },
        ISSUER,
      ),
      { subject: 'cust-1', acr: 'urn:openbanking:psd2:sca', amr: ['pwd'] },
    );
    assert.deepEqual(
      await verifyIdToken(await idToken({ acr: 42, amr: 'pwd' }), jwks, { nonce: NONCE, clientId: CLIENT }, ISSUER),
      { subject: 'cust-1' },
    );
  });

  test('refuses another nonce, audience, issuer, an expired token or another signer', async () => {
    await refused(idToken({ nonce: 'replayed' }));
    await refused(idToken({ aud: 'another-client' }));
    await refused(idToken({ iss: 'https://evil.example' }));
    await refused(idToken({ exp: Math.floor(Date.now() / 1000) - 60 }));
    await refused(idToken({}, other.privateKey));
  });

  test('refuses a token with several audiences that names another authorised party', async () => {
    await refused(idToken({ aud: [CLIENT, 'other'], azp: 'other' }));
    assert.deepEqual(
      await verifyIdToken(
        await idToken({ aud: [CLIENT, 'other'], azp: CLIENT }),
        jwks,
        { nonce: NONCE, clientId: CLIENT },
        ISSUER,
      ),
      { subject: 'cust-1' },
    );
  });

  test('refuses algorithms FAPI does not allow (HS256, none)', async () => {
    await refused(idToken({}, new TextEncoder().encode('x'.repeat(32)) as never, 'HS256'));
    const unsigned = `${Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url')}.${Buffer.from(
      JSON.stringify({ iss: ISSUER, aud: CLIENT, sub: 'cust-1', nonce: NONCE, iat: 1, exp: 9_999_999_999 }),
    ).toString('base64url')}.`;
    await refused(Promise.resolve(unsigned));
  });

  test('PKCE S256 is base64url(SHA-256(verifier)) (RFC 7636 Appendix B)', () => {
    assert.equal(
      pkceChallengeOf('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk'),
      'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    );
  });
});
