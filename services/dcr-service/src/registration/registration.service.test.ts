import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { DomainError } from '@obip/errors';
import {
  attachServerLogsOnFailure,
  createTestDirectory,
  createTestPki,
  generateSigningKey,
  type TestSoftware,
} from '@obip/testing';
import { BANK_AUDIENCE, startDcrHarness, type DcrHarness } from '../testing/dcr.harness';
import { RegistrationError } from './registration.errors';
import type { PresentedCertificate } from './registration.rules';

let h: DcrHarness;

async function register(jws: string, certificate: PresentedCertificate | undefined) {
  return h.dcr.registration.register({ body: { format: 'jws', jws }, certificate });
}

/** Registers `software` with a fresh request built from `claims`, expecting refusal with `code` at `rule`. */
async function assertRefused(promise: Promise<unknown>, code: string, rule?: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof DomainError, `expected a DomainError, got ${String(error)}`);
    assert.equal(error.code, code);
    if (rule !== undefined) {
      assert.ok(error instanceof RegistrationError);
      assert.equal(error.rule, rule);
    }
    return true;
  });
}

async function countClients(): Promise<number> {
  return h.mongo.collection('clients').countDocuments();
}

describe('registration rules, applied by the registration service', () => {
  let software: TestSoftware;

  before(async () => {
    h = await startDcrHarness({ name: 'rules' });
    software = await h.newSoftware();
  });
  after(() => h.stop());
  attachServerLogsOnFailure();

  const ok = (overrides: Record<string, unknown> = {}, ssaClaims?: Record<string, unknown>) =>
    register(h.request(software, { claims: overrides, ssaClaims }), h.presented(software));

  describe('rule 1: client certificate', () => {
    test('registers a TPP whose directory-issued certificate names the software', async () => {
      const { client, registrationAccessToken } = await ok();
      assert.equal(client.softwareId, software.softwareId);
      assert.equal(client.orgId, software.orgId);
      assert.ok(registrationAccessToken);
    });

    test('refuses a registration without a client certificate with 401 invalid_client', async () => {
      await assert.rejects(register(h.request(software), undefined), (error: DomainError) => {
        assert.equal(error.code, 'invalid_client');
        assert.equal(error.kind, 'unauthorized');
        return true;
      });
    });

    test('refuses a certificate that no trusted CA issued', async () => {
      const foreign = await (
        await createTestPki({ name: 'Foreign' })
      ).issueTppCertificate({
        orgId: software.orgId,
        softwareId: software.softwareId,
      });
      const certificate = {
        ...h.presented(software),
        certificate: new (await import('node:crypto')).X509Certificate(foreign.certPem),
      };
      await assertRefused(register(h.request(software), certificate), 'invalid_client');
    });

    test('refuses a certificate that names another software than the SSA', async () => {
      const other = await h.newSoftware();
      await assertRefused(
        register(h.request(software), h.presented(other)),
        'invalid_software_statement',
        'rule 1 certificate binding',
      );
    });
  });

  describe('rule 2: request JWS', () => {
    test('accepts a request signed with ES256 by the key at the SSA software_jwks_endpoint', async () => {
      const es = await h.newSoftware({ alg: 'ES256' });
      const { client } = await register(h.request(es), h.presented(es));
      assert.equal(client.metadata.jwks_uri, es.jwksUri);
    });

    test('refuses RS256 and none request signatures', async () => {
      const ssa = h.directory.issueSsa(software);
      for (const alg of ['RS256', 'none'] as const) {
        const jws = h.directory.mintRegistrationRequest(software, { ssa, aud: BANK_AUDIENCE, alg });
        await assertRefused(register(jws, h.presented(software)), 'invalid_client_metadata', 'rule 2 request JWS');
      }
    });

    test('refuses keys embedded in the JWS header', async () => {
      for (const header of [
        { jwk: software.signingKey.publicJwk },
        { jku: software.jwksUri },
        { x5u: software.jwksUri },
      ]) {
        const jws = h.directory.mintRegistrationRequest(software, {
          ssa: h.directory.issueSsa(software),
          aud: BANK_AUDIENCE,
          header,
        });
        await assertRefused(register(jws, h.presented(software)), 'invalid_client_metadata', 'rule 2 request JWS');
      }
    });

    test('refuses a request signed by a key not in the software JWKS', async () => {
      const stranger = await generateSigningKey('PS256');
      const jws = h.directory.mintRegistrationRequest(software, {
        ssa: h.directory.issueSsa(software),
        aud: BANK_AUDIENCE,
        key: { ...stranger, kid: software.signingKey.kid },
      });
      await assertRefused(register(jws, h.presented(software)), 'invalid_client_metadata', 'rule 2 request signature');
    });

    test('fetches the software JWKS again when the request names an unknown kid (key rotation)', async () => {
      const rotating = await h.newSoftware();
      await register(h.request(rotating), h.presented(rotating));
      await h.directory.rotateSoftwareKey(rotating);
      const { client } = await register(h.request(rotating), h.presented(rotating));
      assert.equal(client.softwareId, rotating.softwareId);
    });
  });

  describe('rule 3: request claims', () => {
    const now = () => Math.floor(Date.now() / 1000);

    test('refuses an expired request (OBIE DCR-004)', async () => {
      await assertRefused(ok({ iat: now() - 600, exp: now() - 300 }), 'invalid_client_metadata', 'rule 3 exp/iat');
    });

    test('refuses a request without exp, issued in the future, or older than the policy window', async () => {
      await assertRefused(ok({ exp: undefined }), 'invalid_client_metadata', 'rule 3 exp/iat');
      await assertRefused(ok({ iat: now() + 600, exp: now() + 900 }), 'invalid_client_metadata', 'rule 3 exp/iat');
      await assertRefused(ok({ iat: now() - 3600, exp: now() + 300 }), 'invalid_client_metadata', 'rule 3 exp/iat');
    });

    test('refuses a request without jti, and a replayed one', async () => {
      await assertRefused(ok({ jti: undefined }), 'invalid_client_metadata', 'rule 3 jti');
      const jti = randomUUID();
      await ok({ jti });
      await assertRefused(ok({ jti }), 'invalid_client_metadata', 'rule 3 jti');
    });

    test('refuses an empty, foreign or over-long iss (OBIE DCR-004)', async () => {
      for (const iss of ['', 'someone-else', 'x'.repeat(30)]) {
        await assertRefused(ok({ iss }), 'invalid_client_metadata', 'rule 3 iss');
      }
    });

    test('refuses an aud that does not identify this bank', async () => {
      await assertRefused(ok({ aud: 'another-bank' }), 'invalid_client_metadata', 'rule 3 aud');
      await assertRefused(ok({ aud: undefined }), 'invalid_client_metadata', 'rule 3 aud');
    });

    test('accepts aud as an array containing this bank', async () => {
      const { client } = await ok({ aud: ['another-bank', BANK_AUDIENCE] });
      assert.ok(client.clientId);
    });
  });

  describe('rule 4: software statement', () => {
    test('refuses a request without software_statement', async () => {
      await assertRefused(
        ok({ software_statement: undefined }),
        'invalid_software_statement',
        'rule 4 software_statement',
      );
    });

    test('refuses an SSA from an untrusted directory with unapproved_software_statement', async () => {
      const foreign = await createTestDirectory({ issuer: 'Untrusted Directory' });
      try {
        const ssa = foreign.issueSsa(software);
        const jws = h.directory.mintRegistrationRequest(software, { ssa, aud: BANK_AUDIENCE });
        await assertRefused(register(jws, h.presented(software)), 'unapproved_software_statement', 'rule 4 issuer');
      } finally {
        await foreign.stop();
      }
    });

    test('refuses an SSA not signed by the directory key, or signed with RS256', async () => {
      const forger = await generateSigningKey('PS256');
      const forged = h.directory.issueSsa(software, { key: { ...forger, kid: h.directory.signingKey.kid } });
      const jws = h.directory.mintRegistrationRequest(software, { ssa: forged, aud: BANK_AUDIENCE });
      await assertRefused(register(jws, h.presented(software)), 'invalid_software_statement', 'rule 4 SSA signature');
      const rs256 = h.directory.issueSsa(software, { alg: 'RS256' });
      const jws2 = h.directory.mintRegistrationRequest(software, { ssa: rs256, aud: BANK_AUDIENCE });
      await assertRefused(register(jws2, h.presented(software)), 'invalid_software_statement', 'rule 4 SSA signature');
    });

    test('refuses an SSA issued before the acceptance window', async () => {
      await assertRefused(
        ok({}, { iat: Math.floor(Date.now() / 1000) - 7200 }),
        'invalid_software_statement',
        'rule 4 SSA iat',
      );
    });

    test('refuses an SSA of an organisation that is not Active', async () => {
      await assertRefused(ok({}, { org_status: 'Revoked' }), 'unapproved_software_statement', 'rule 4 org_status');
    });

    test('refuses a request software_id that differs from the SSA', async () => {
      await assertRefused(ok({ software_id: 'AnotherSoftware' }), 'invalid_software_statement', 'rule 4 software_id');
    });

    test('refuses an SSA used for a second registration (jti replay)', async () => {
      const ssa = h.directory.issueSsa(software);
      const first = h.directory.mintRegistrationRequest(software, { ssa, aud: BANK_AUDIENCE });
      const second = h.directory.mintRegistrationRequest(software, { ssa, aud: BANK_AUDIENCE });
      await register(first, h.presented(software));
      await assertRefused(register(second, h.presented(software)), 'invalid_software_statement', 'rule 4 SSA jti');
    });
  });

  describe('rule 5: redirect_uris', () => {
    test('accepts redirect URIs that are a subset of software_redirect_uris', async () => {
      const many = await h.newSoftware({ redirectUris: ['https://tpp.example.com/a', 'https://tpp.example.com/b'] });
      const { client } = await register(
        h.request(many, { claims: { redirect_uris: ['https://tpp.example.com/b'] } }),
        h.presented(many),
      );
      assert.deepEqual(client.metadata.redirect_uris, ['https://tpp.example.com/b']);
    });

    test('refuses empty, non-https, localhost, over-long and unlisted redirect URIs', async () => {
      const long = `https://tpp.example.com/${'a'.repeat(250)}`;
      for (const [uris, ssaUris] of [
        [[], undefined],
        [['http://tpp.example.com/callback'], ['http://tpp.example.com/callback']],
        [['https://localhost/callback'], ['https://localhost/callback']],
        [[long], [long]],
        [['https://evil.example.com/callback'], undefined],
      ] as const) {
        await assertRefused(
          ok({ redirect_uris: uris }, ssaUris ? { software_redirect_uris: ssaUris } : undefined),
          'invalid_redirect_uri',
          'rule 5 redirect_uris',
        );
      }
    });
  });

  describe('rule 6: token endpoint authentication', () => {
    test('accepts tls_client_auth with the certificate subject DN in another order and spacing', async () => {
      const dn = `C=GB, O=OpenBanking, OU=${software.orgId}, CN=${software.softwareId}`;
      const { client } = await ok({
        token_endpoint_auth_method: 'tls_client_auth',
        token_endpoint_auth_signing_alg: undefined,
        tls_client_auth_subject_dn: dn,
      });
      assert.equal(client.metadata.tls_client_auth_subject_dn, dn);
    });

    test('refuses a tls_client_auth_subject_dn that is not the certificate subject, or missing', async () => {
      const base = { token_endpoint_auth_method: 'tls_client_auth', token_endpoint_auth_signing_alg: undefined };
      await assertRefused(
        ok({ ...base, tls_client_auth_subject_dn: 'CN=someone,O=OpenBanking,C=GB' }),
        'invalid_client_metadata',
        'rule 6 tls_client_auth_subject_dn',
      );
      await assertRefused(ok(base), 'invalid_client_metadata', 'rule 6 tls_client_auth_subject_dn');
    });

    test('refuses client secrets, a missing JWT signing alg, and RS256 (OBIE DCR-004)', async () => {
      await assertRefused(
        ok({ token_endpoint_auth_method: 'client_secret_basic' }),
        'invalid_client_metadata',
        'rule 6 token_endpoint_auth_method',
      );
      await assertRefused(
        ok({ token_endpoint_auth_signing_alg: undefined }),
        'invalid_client_metadata',
        'rule 6 token_endpoint_auth_signing_alg',
      );
      await assertRefused(
        ok({ token_endpoint_auth_signing_alg: 'RS256' }),
        'invalid_client_metadata',
        'rule 6 token_endpoint_auth_signing_alg',
      );
    });
  });

  describe('rule 7: grants, response types, algorithms, application type, scope', () => {
    test('accepts a client_credentials-only client without response types', async () => {
      const { client } = await ok({ grant_types: ['client_credentials'], response_types: undefined });
      assert.deepEqual(client.metadata.response_types, []);
    });

    test('refuses response_types ["id_token", "token"] (OBIE DCR-011) and unknown grants', async () => {
      await assertRefused(
        ok({ response_types: ['id_token', 'token'] }),
        'invalid_client_metadata',
        'rule 7 response_types',
      );
      await assertRefused(ok({ grant_types: ['password'] }), 'invalid_client_metadata', 'rule 7 grant_types');
    });

    test('refuses ID token and request object algorithms outside PS256/ES256, and other application types', async () => {
      await assertRefused(
        ok({ id_token_signed_response_alg: 'RS256' }),
        'invalid_client_metadata',
        'rule 7 id_token_signed_response_alg',
      );
      await assertRefused(
        ok({ request_object_signing_alg: 'none' }),
        'invalid_client_metadata',
        'rule 7 request_object_signing_alg',
      );
      await assertRefused(ok({ application_type: 'native' }), 'invalid_client_metadata', 'rule 7 application_type');
    });

    test('keeps dpop_bound_access_tokens (FAPI 2.0 DPoP); refuses a non-boolean and DPoP together with certificate binding', async () => {
      const { client } = await ok({ dpop_bound_access_tokens: true, response_types: ['code'] });
      assert.equal(client.metadata.dpop_bound_access_tokens, true);
      assert.equal(client.metadata.tls_client_certificate_bound_access_tokens, undefined);
      const before = await countClients();
      await assertRefused(
        ok({ dpop_bound_access_tokens: 'yes' }),
        'invalid_client_metadata',
        'rule 7 dpop_bound_access_tokens',
      );
      await assertRefused(
        ok({ dpop_bound_access_tokens: true, tls_client_certificate_bound_access_tokens: true }),
        'invalid_client_metadata',
        'rule 7 dpop_bound_access_tokens',
      );
      assert.equal(await countClients(), before, 'nothing stored for a refused registration');
    });

    test('refuses a scope the software roles do not permit with unapproved_software_statement', async () => {
      const aisp = await h.newSoftware({ roles: ['AISP'] });
      await assertRefused(
        register(h.request(aisp, { claims: { scope: 'openid accounts payments' } }), h.presented(aisp)),
        'unapproved_software_statement',
        'rule 7 scope',
      );
    });
  });

  describe('rule 7e: admin API scopes are never registered dynamically', () => {
    test('refuses obip:* scopes from a software statement, even when a software role is mapped to them', async () => {
      const lenient = await startDcrHarness({
        name: 'rules-admin-scope',
        env: { DCR_SCOPES_BY_ROLE: JSON.stringify({ AISP: ['accounts', 'obip:config:write'] }) },
      });
      try {
        const aisp = await lenient.newSoftware({ roles: ['AISP'] });
        const request = lenient.request(aisp, {
          claims: { scope: 'obip:config:write', grant_types: ['client_credentials'], response_types: undefined },
        });
        const clientsBefore = await lenient.mongo.collection('clients').countDocuments();
        await assertRefused(
          lenient.dcr.registration.register({
            body: { format: 'jws', jws: request },
            certificate: lenient.presented(aisp),
          }),
          'invalid_client_metadata',
          'rule 7 scope',
        );
        assert.equal(await lenient.mongo.collection('clients').countDocuments(), clientsBefore);
      } finally {
        await lenient.stop();
      }
    });
  });

  describe('rule 8: CIBA metadata', () => {
    const ciba = {
      grant_types: ['urn:openid:params:grant-type:ciba', 'client_credentials'],
      response_types: undefined,
      backchannel_token_delivery_mode: 'poll',
      backchannel_authentication_request_signing_alg: 'PS256',
      backchannel_user_code_parameter: false,
    };

    test('accepts a CIBA poll client', async () => {
      const { client } = await ok(ciba);
      assert.equal(client.metadata.backchannel_token_delivery_mode, 'poll');
    });

    test('refuses push mode, ping without an https endpoint, and a user code', async () => {
      await assertRefused(
        ok({ ...ciba, backchannel_token_delivery_mode: 'push' }),
        'invalid_client_metadata',
        'rule 8 CIBA',
      );
      await assertRefused(
        ok({ ...ciba, backchannel_token_delivery_mode: 'ping' }),
        'invalid_client_metadata',
        'rule 8 CIBA',
      );
      await assertRefused(
        ok({ ...ciba, backchannel_user_code_parameter: true }),
        'invalid_client_metadata',
        'rule 8 CIBA',
      );
    });
  });

  describe('rule 9: client keys', () => {
    test('accepts a jwks_uri equal to the SSA software_jwks_endpoint', async () => {
      const { client } = await ok({ jwks_uri: software.jwksUri });
      assert.equal(client.metadata.jwks_uri, software.jwksUri);
    });

    test('refuses inline jwks and a different jwks_uri', async () => {
      await assertRefused(
        ok({ jwks: { keys: [software.signingKey.publicJwk] } }),
        'invalid_client_metadata',
        'rule 9 jwks',
      );
      await assertRefused(
        ok({ jwks_uri: 'https://elsewhere.example/jwks' }),
        'invalid_client_metadata',
        'rule 9 jwks_uri',
      );
    });
  });

  test('a refused registration stores nothing', async () => {
    const before = await countClients();
    await assertRefused(ok({ redirect_uris: ['https://evil.example.com/'] }), 'invalid_redirect_uri');
    assert.equal(await countClients(), before);
  });

  test('stores the SSA with the client and the registration access token only as a SHA-256 hash', async () => {
    const { client, registrationAccessToken } = await ok();
    const stored = await h.mongo.collection('clients').findOne({ _id: client.clientId as never });
    assert.ok(stored);
    assert.equal(typeof stored.softwareStatement, 'string');
    assert.ok(!JSON.stringify(stored).includes(registrationAccessToken!));
    const { createHash } = await import('node:crypto');
    assert.equal(
      stored.registrationAccessTokenHash,
      createHash('sha256').update(registrationAccessToken!).digest('base64url'),
    );
    const audit = await h.mongo.collection('client_audit').find({ clientId: client.clientId }).toArray();
    assert.deepEqual(
      audit.map((entry) => entry.action),
      ['create'],
    );
    assert.ok(!JSON.stringify(audit).includes(registrationAccessToken!));
  });
});
