import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SignJWT } from 'jose';
import { ADMIN_API_SCOPES } from '@obip/testing';
import { ADMIN_SCOPES } from './access.tokens';
import {
  startConfigApiHarness,
  TEST_AUDIENCE,
  TEST_ISSUER,
  type ConfigApiHarness,
} from '../testing/config-api.harness';

let harness: ConfigApiHarness;
before(async () => {
  harness = await startConfigApiHarness({ name: 'config-access' });
});
after(() => harness.stop());

async function getSettings(authorization?: string) {
  const response = await fetch(`${harness.url}/v1/settings`, {
    headers: authorization === undefined ? {} : { authorization },
  });
  return {
    status: response.status,
    challenge: response.headers.get('www-authenticate'),
    contentType: response.headers.get('content-type'),
    body: (await response.json()) as { code?: string },
  };
}

describe('admin access tokens', () => {
  it('knows the same admin scopes as the test issuer grants by default', () => {
    assert.deepEqual([...ADMIN_API_SCOPES], [...ADMIN_SCOPES]);
  });

  it('admits a token from a trusted issuer with the scope the route needs', async () => {
    const response = await getSettings(`Bearer ${await harness.token({ scopes: ['obip:config:read'] })}`);
    assert.equal(response.status, 200);
  });

  it('answers 401 with a bare Bearer challenge when no token is sent (RFC 6750 §3.1)', async () => {
    const response = await getSettings();
    assert.equal(response.status, 401);
    assert.equal(response.challenge, 'Bearer realm="obip-config-api"');
    assert.match(response.contentType ?? '', /^application\/problem\+json/);
  });

  it('answers 400 invalid_request to an Authorization header that is not Bearer', async () => {
    const response = await getSettings('Basic YWRtaW46YWRtaW4=');
    assert.equal(response.status, 400);
    assert.equal(response.body.code, 'invalid_request');
    assert.match(response.challenge ?? '', /error="invalid_request"/);
  });

  const refusedTokens: Array<[string, () => Promise<string>]> = [
    ['is not a JWT', async () => 'not-a-jwt'],
    ['has expired', () => harness.token({ expiresInSeconds: -120 })],
    ['is for another audience', () => harness.token({ audience: 'https://someone-else.example' })],
    ['comes from an untrusted issuer', () => harness.token({ issuer: 'https://evil.example' })],
    ['is signed with a key the issuer does not publish', () => harness.token({ foreignKey: true })],
    ['is not an access token (typ JWT, RFC 9068 §4)', () => harness.token({ typ: 'JWT' })],
    [
      'is signed with HS256 under the issuer name',
      () =>
        new SignJWT({ scope: 'obip:config:read' })
          .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' })
          .setIssuer(TEST_ISSUER)
          .setAudience(TEST_AUDIENCE)
          .setSubject('admin')
          .setExpirationTime('5m')
          .sign(new TextEncoder().encode('a shared secret nobody should accept')),
    ],
    [
      'is unsigned (alg none)',
      async () => {
        const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
        return `${encode({ alg: 'none', typ: 'at+jwt' })}.${encode({ iss: TEST_ISSUER, aud: TEST_AUDIENCE, sub: 'x', exp: 9_999_999_999, scope: 'obip:config:read' })}.`;
      },
    ],
  ];
  for (const [why, mint] of refusedTokens) {
    it(`answers 401 invalid_token to a token that ${why}`, async () => {
      const response = await getSettings(`Bearer ${await mint()}`);
      assert.equal(response.status, 401);
      assert.equal(response.body.code, 'invalid_token');
      assert.match(response.challenge ?? '', /^Bearer realm="obip-config-api", error="invalid_token"$/);
    });
  }

  it('answers 403 insufficient_scope naming the scope a route needs', async () => {
    const token = await harness.token({ scopes: ['obip:config:read'] });
    const response = await fetch(`${harness.url}/v1/keys/rotate`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(response.status, 403);
    assert.equal(((await response.json()) as { code: string }).code, 'insufficient_scope');
    assert.equal(
      response.headers.get('www-authenticate'),
      'Bearer realm="obip-config-api", error="insufficient_scope", scope="obip:keys:rotate"',
    );
  });

  it('does not let a write scope stand in for the read scope', async () => {
    const response = await getSettings(`Bearer ${await harness.token({ scopes: ['obip:config:write'] })}`);
    assert.equal(response.status, 403);
  });
});
