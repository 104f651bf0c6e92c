// Signing key rotation without a restart (issue 4): SIGNING_KEYS_FILE rewritten while auth-server
// serves through the ingress twin; /jwks, ID tokens and JARM responses follow it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeProtectedHeader, type JWK } from 'jose';
import * as oidc from 'openid-client';
import { Agent, fetch } from 'undici';
import { clientsV1 } from '@obip/contracts';
import { createLogger } from '@obip/observability';
import { attachServerLogsOnFailure } from '@obip/testing';
import { REDIRECT_URI, loginAndConsent, startHarness, type Harness } from '../testing/auth-server.harness';
import { generateSigningJwk } from './keys.signing';

const RELOAD_MS = 100;

async function waitFor(what: string, predicate: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > until) assert.fail(`timed out waiting until ${what}`);
    await sleep(25);
  }
}

describe('signing keys reloaded from SIGNING_KEYS_FILE', () => {
  let harness: Harness;
  const dir = mkdtempSync(join(tmpdir(), 'obip-auth-rotation-'));
  const file = join(dir, 'signing-keys.json');
  const logs: Array<Record<string, unknown>> = [];
  let first: JWK[];
  let publicAgent: Agent;
  attachServerLogsOnFailure({ sources: [{ name: 'ingress twin', logs: () => harness?.twin.logs() ?? '' }] });

  /** Replaces the file in one step, as a Kubernetes Secret volume swaps its `..data` link. */
  function writeKeys(content: unknown): void {
    const temporary = `${file}.tmp`;
    writeFileSync(temporary, typeof content === 'string' ? content : JSON.stringify(content));
    renameSync(temporary, file);
  }

  /** A plain GET of the public /jwks, as a TPP reads it (no registration, no keys to generate per poll). */
  async function publishedKids(): Promise<string[]> {
    const response = await fetch(`${harness.issuer}/jwks`, { dispatcher: publicAgent });
    assert.equal(response.status, 200);
    const jwks = (await response.json()) as { keys: Array<{ kid: string; d?: string }> };
    assert.ok(
      jwks.keys.every((key) => key.d === undefined),
      'no private parts',
    );
    return jwks.keys.map((key) => key.kid);
  }

  before(async () => {
    first = [await generateSigningJwk('PS256'), await generateSigningJwk('ES256')];
    writeKeys({ keys: first });
    harness = await startHarness({
      env: { SIGNING_KEYS_FILE: file, SIGNING_KEYS_RELOAD_MS: String(RELOAD_MS) },
      logger: createLogger(
        { service: 'auth-server-test', level: 'warn' },
        { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) },
      ),
    });
    publicAgent = new Agent({ connect: { ca: harness.pki.caBundlePem } });
  });
  after(async () => {
    await publicAgent?.close();
    await harness?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a new key set is published at /jwks, and new ID tokens and JARM responses are signed by its first PS256 key', async () => {
    assert.deepEqual(
      await publishedKids(),
      first.map((key) => key.kid),
    );
    // Rotation as config-api writes it: the new keys first; the old PS256 key stays published, to verify.
    const next = [await generateSigningJwk('PS256'), await generateSigningJwk('ES256'), first[0]!];
    writeKeys({ keys: next });
    const nextKids = next.map((key) => key.kid);
    await waitFor('/jwks serves the new set', async () => (await publishedKids()).join() === nextKids.join());

    // FAPI 2.0: PAR, login, consent, code → ID token.
    const fapi2 = await harness.registerTpp({ profile: clientsV1.FapiProfile.FAPI_PROFILE_FAPI2_SECURITY });
    const config = await harness.relyingParty(fapi2);
    const verifier = oidc.randomPKCECodeVerifier();
    const callback = await loginAndConsent(
      harness.browser(),
      await oidc.buildAuthorizationUrlWithPAR(config, {
        redirect_uri: REDIRECT_URI,
        scope: 'openid accounts',
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state: 'rotated',
      }),
    );
    const tokens = await oidc.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: verifier,
      expectedState: 'rotated',
    });
    assert.equal(decodeProtectedHeader(tokens.id_token!).kid, next[0]!.kid);

    // FAPI 1.0 Advanced with JARM: the authorization response itself is a signed JWT.
    const fapi1 = await harness.registerTpp({
      profile: clientsV1.FapiProfile.FAPI_PROFILE_FAPI1_ADVANCED,
      metadata: { request_object_signing_alg: 'PS256', authorization_signed_response_alg: 'PS256' },
    });
    const fapi1Config = await harness.relyingParty(fapi1);
    oidc.useJwtResponseMode(fapi1Config);
    const requestKey = await crypto.subtle.importKey(
      'jwk',
      fapi1.signingKey.privateJwk,
      { name: 'RSA-PSS', hash: 'SHA-256' },
      false,
      ['sign'],
    );
    const jarmCallback = await loginAndConsent(
      harness.browser(),
      await oidc.buildAuthorizationUrlWithJAR(
        fapi1Config,
        {
          redirect_uri: REDIRECT_URI,
          scope: 'openid accounts',
          nonce: oidc.randomNonce(),
          state: 'jarm',
          response_mode: 'jwt',
          code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
          code_challenge_method: 'S256',
        },
        { key: requestKey, kid: fapi1.signingKey.kid } as unknown as oidc.PrivateKey,
      ),
    );
    const response = jarmCallback.searchParams.get('response');
    assert.ok(response, 'a JARM response');
    assert.equal(decodeProtectedHeader(response).kid, next[0]!.kid);
  });

  test('an invalid rewrite is logged and the keys in force stay; the next valid one is taken', async () => {
    const inForce = await publishedKids();
    const [ps256] = [await generateSigningJwk('PS256')];
    writeKeys({ keys: [ps256] }); // no ES256 key
    await waitFor('the refusal is logged', async () =>
      logs.some((line) => line.level === 'warn' && /ES256 key is required/.test(String(line.msg))),
    );
    writeKeys('{"keys": [');
    await waitFor('the second refusal is logged', async () =>
      logs.some((line) => line.level === 'warn' && /is not JSON/.test(String(line.msg))),
    );
    await sleep(RELOAD_MS * 3);
    assert.deepEqual(await publishedKids(), inForce);

    const valid = [ps256, await generateSigningJwk('ES256')];
    writeKeys({ keys: valid });
    await waitFor('the valid set is published', async () => (await publishedKids())[0] === ps256.kid);
  });
});
