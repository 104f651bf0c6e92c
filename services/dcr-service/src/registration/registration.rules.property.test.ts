// Property-based tests of the registration rules (OBIE DCR 3.3, RFC 7591, FAPI): generated valid
// registrations pass every synchronous rule; each single violation is refused by the rule it
// breaks, with that rule's RFC 7591 error code, and never with another kind of error.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import fc from 'fast-check';
import { mintSelfSignedCertificate } from '@obip/testing';
import { RegistrationError, type RegistrationErrorCode } from './registration.errors';
import {
  type Claims,
  type PresentedCertificate,
  type RegistrationPolicy,
  type TrustedDirectory,
  CIBA_GRANT,
  checkApplicationType,
  checkCertificateBinding,
  checkCibaMetadata,
  checkClientKeys,
  checkGrantAndResponseTypes,
  checkMetadataAlgorithms,
  checkOrganisationStatus,
  checkRedirectUris,
  checkRequestAudience,
  checkRequestHeader,
  checkRequestIssuer,
  checkRequestJti,
  checkRequestLifetime,
  checkScope,
  checkSenderConstraint,
  checkSoftwareIdMatches,
  checkSoftwareStatementClaims,
  checkSubjectDnMatchesCertificate,
  checkTokenEndpointAuth,
  findTrustedDirectory,
  requireSoftwareStatement,
} from './registration.rules';

const POLICY: RegistrationPolicy = {
  signingAlgs: ['PS256', 'ES256'],
  acceptedAudiences: ['https://as.bank.example', '0015800001HQQrZAAX'],
  clockSkewSeconds: 30,
  requestMaxAgeSeconds: 300,
  ssaMaxAgeSeconds: 86_400,
  authMethods: ['private_key_jwt', 'tls_client_auth', 'self_signed_tls_client_auth'],
  applicationTypes: ['web'],
  scopesByRole: { AISP: ['accounts'], PISP: ['payments'], CBPII: ['fundsconfirmations'] },
  allowLoopbackRedirectUris: false,
  certificateBinding: 'require',
};
const DIRECTORY: TrustedDirectory = {
  issuer: 'OpenBanking Ltd',
  jwksUri: 'https://keystore.directory.example/keystore/openbanking.jwks',
  environment: 'sandbox',
};
const ROLES = Object.keys(POLICY.scopesByRole);

// ---- generated valid registrations ----

interface Registration {
  now: Date;
  ssa: Claims;
  claims: Claims;
  presented: PresentedCertificate;
}

const identifier = fc.stringMatching(/^[0-9A-Za-z]{1,22}$/);
const https = (path = '') =>
  fc
    .webUrl({ validSchemes: ['https'], withQueryParameters: true, withFragments: false })
    .map((url) => `${url}${path}`)
    .filter((url) => url.length <= 256 && !url.includes('*') && !/localhost/i.test(new URL(url).hostname));

function compactJwt(payload: Claims): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'PS256', kid: 'directory-key' })}.${part(payload)}.c2lnbmF0dXJl`;
}

let certificate: PresentedCertificate['certificate'];

const registrationArbitrary: fc.Arbitrary<Registration> = fc
  .record({
    seconds: fc.integer({ min: 1_600_000_000, max: 2_100_000_000 }),
    millis: fc.nat({ max: 999 }),
    softwareId: identifier,
    orgId: identifier,
    ssaAge: fc.integer({ min: -POLICY.clockSkewSeconds, max: POLICY.ssaMaxAgeSeconds + POLICY.clockSkewSeconds }),
    requestAge: fc.integer({
      min: -POLICY.clockSkewSeconds,
      max: POLICY.requestMaxAgeSeconds + POLICY.clockSkewSeconds,
    }),
    expiresIn: fc.integer({ min: -POLICY.clockSkewSeconds + 1, max: 3_600 }),
    ssaJti: fc.option(fc.uuid(), { nil: undefined }),
    jti: fc.oneof(fc.uuid(), fc.string({ minLength: 1, maxLength: 256 })),
    jwksEndpoint: https('/jwks.json'),
    redirectUris: fc.uniqueArray(https(), { minLength: 1, maxLength: 4 }),
    registeredCount: fc.integer({ min: 1, max: 4 }),
    roles: fc.subarray(ROLES, { minLength: 1 }),
    scopeCount: fc.nat({ max: 4 }),
    audience: fc.oneof(
      fc.constantFrom(...POLICY.acceptedAudiences),
      fc.constantFrom(...POLICY.acceptedAudiences).map((aud) => ['https://other.example', aud]),
    ),
    authMethod: fc.constantFrom(...POLICY.authMethods),
    alg: fc.constantFrom(...POLICY.signingAlgs),
    grants: fc.constantFrom<string[]>(
      ['authorization_code'],
      ['authorization_code', 'refresh_token'],
      ['client_credentials'],
      ['authorization_code', 'client_credentials', 'refresh_token'],
      [CIBA_GRANT],
      [CIBA_GRANT, 'refresh_token', 'client_credentials'],
    ),
    responseTypes: fc.option(
      fc.constantFrom(['code id_token'], ['code'], ['id_token code'], ['code', 'code id_token']),
      {
        nil: undefined,
      },
    ),
    cibaMode: fc.constantFrom('poll', 'ping'),
    withApplicationType: fc.boolean(),
    withSoftwareId: fc.boolean(),
    withJwksUri: fc.boolean(),
    dpop: fc.option(fc.boolean(), { nil: undefined }),
  })
  .map((g) => {
    const now = new Date(g.seconds * 1000 + g.millis);
    const ssa: Claims = {
      iss: DIRECTORY.issuer,
      iat: g.seconds - g.ssaAge,
      ...(g.ssaJti === undefined ? {} : { jti: g.ssaJti }),
      software_id: g.softwareId,
      org_id: g.orgId,
      org_status: 'Active',
      software_jwks_endpoint: g.jwksEndpoint,
      software_redirect_uris: g.redirectUris,
      software_roles: g.roles,
      software_client_name: 'Property TPP',
    };
    const permitted = ['openid', ...g.roles.flatMap((role) => POLICY.scopesByRole[role] ?? [])];
    const scope = ['openid', ...Array.from({ length: g.scopeCount }, (_, i) => permitted[i % permitted.length]!)];
    const usesCode = g.grants.includes('authorization_code');
    const subjectDn = `CN=${g.softwareId},OU=${g.orgId},O=OpenBanking,C=GB`;
    const claims: Claims = {
      iss: g.softwareId,
      aud: g.audience,
      iat: g.seconds - g.requestAge,
      exp: g.seconds + g.expiresIn,
      jti: g.jti,
      software_statement: compactJwt(ssa),
      ...(g.withSoftwareId ? { software_id: g.softwareId } : {}),
      redirect_uris: g.redirectUris.slice(0, g.registeredCount),
      token_endpoint_auth_method: g.authMethod,
      ...(g.authMethod === 'private_key_jwt' ? { token_endpoint_auth_signing_alg: g.alg } : {}),
      // RFC 8705 §2.1.2: the registered DN may be spelled in ASN.1 order and another case.
      ...(g.authMethod === 'tls_client_auth'
        ? { tls_client_auth_subject_dn: `c=GB, o=OpenBanking, ou=${g.orgId}, cn=${g.softwareId}` }
        : {}),
      grant_types: g.grants,
      ...(usesCode && g.responseTypes ? { response_types: g.responseTypes } : {}),
      id_token_signed_response_alg: g.alg,
      request_object_signing_alg: g.alg,
      ...(g.withApplicationType ? { application_type: 'web' } : {}),
      scope: scope.join(' '),
      ...(g.grants.includes(CIBA_GRANT)
        ? {
            backchannel_token_delivery_mode: g.cibaMode,
            ...(g.cibaMode === 'ping' ? { backchannel_client_notification_endpoint: `${g.jwksEndpoint}/ping` } : {}),
            backchannel_authentication_request_signing_alg: g.alg,
          }
        : {}),
      ...(g.dpop === undefined ? {} : { dpop_bound_access_tokens: g.dpop }),
      ...(g.withJwksUri ? { jwks_uri: g.jwksEndpoint } : {}),
    };
    return { now, ssa, claims, presented: { certificate, subjectDn, thumbprintS256: 'unused-by-these-rules' } };
  });

/** Every synchronous rule, in the order registration.service.ts applies them (signatures aside). */
function applyRules({ now, ssa: ssaClaims, claims, presented }: Registration): void {
  const softwareStatement = requireSoftwareStatement(claims);
  findTrustedDirectory(softwareStatement, [DIRECTORY]);
  const ssa = checkSoftwareStatementClaims(ssaClaims, now, POLICY);
  checkCertificateBinding(presented, ssa, POLICY.certificateBinding);
  checkRequestLifetime(claims, now, POLICY);
  checkRequestJti(claims);
  checkRequestIssuer(claims, ssa);
  checkRequestAudience(claims, POLICY.acceptedAudiences);
  checkOrganisationStatus(ssa);
  checkSoftwareIdMatches(claims, ssa);
  checkRedirectUris(claims, ssa, POLICY);
  checkTokenEndpointAuth(claims, POLICY);
  checkSubjectDnMatchesCertificate(claims, presented);
  const { grantTypes } = checkGrantAndResponseTypes(claims);
  checkMetadataAlgorithms(claims, POLICY.signingAlgs);
  checkApplicationType(claims, POLICY.applicationTypes);
  checkScope(claims, ssa, POLICY.scopesByRole);
  checkCibaMetadata(claims, grantTypes, POLICY.signingAlgs);
  checkSenderConstraint(claims);
  checkClientKeys(claims, ssa);
}

/** The rule's refusal, asserted to be a RegistrationError; a pass or any other error fails. */
function refusalOf(registration: Registration): RegistrationError {
  try {
    applyRules(registration);
  } catch (error) {
    assert.ok(error instanceof RegistrationError, `threw ${(error as Error)?.constructor?.name}: ${String(error)}`);
    assert.equal(error.kind, 'bad_request');
    return error;
  }
  assert.fail('the registration was accepted');
}

before(async () => {
  ({ certificate } = await mintSelfSignedCertificate([{ CN: ['unused'] }]));
});

describe('registration rules: generated valid registrations', () => {
  it('pass every rule', () => {
    fc.assert(
      fc.property(registrationArbitrary, (registration) => {
        applyRules(registration);
      }),
      { numRuns: 500 },
    );
  });
});

// ---- single violations ----

/** One rule broken on purpose: how, and the code and rule the refusal must name. */
interface Violation {
  name: string;
  code: RegistrationErrorCode;
  rule: string;
  /** Changes a valid registration so it breaks exactly this rule; undefined when not applicable. */
  apply(registration: Registration, pick: number): Registration | undefined;
}

const withClaims = (r: Registration, change: Claims): Registration => ({ ...r, claims: { ...r.claims, ...change } });
const withoutClaim = (r: Registration, name: string): Registration => {
  const claims = { ...r.claims };
  delete claims[name];
  return { ...r, claims };
};
const withSsa = (r: Registration, change: Claims): Registration => {
  const ssa = { ...r.ssa, ...change };
  for (const [name, value] of Object.entries(change)) if (value === undefined) delete ssa[name];
  // The request carries the SSA it was given: the changed claims are what the directory signed.
  return { ...r, ssa, claims: { ...r.claims, software_statement: compactJwt(ssa) } };
};
const secondsOf = (r: Registration) => Math.floor(r.now.getTime() / 1000);
const { clockSkewSeconds: skew, requestMaxAgeSeconds: maxAge, ssaMaxAgeSeconds: ssaMaxAge } = POLICY;
const notANumericDate = ['1700000000', null, -1, Number.NaN, true, {}];
const notAString = [42, null, true, [], {}];
const at = <T>(values: readonly T[], pick: number): T => values[pick % values.length]!;
/** How far past a limit: often exactly at it, where an off-by-one would show. */
const beyond = (pick: number): number => at([0, 1, pick % 100_000], pick >> 3);

const metadata = (name: string, rule: string, apply: Violation['apply']): Violation => ({
  name,
  code: 'invalid_client_metadata',
  rule,
  apply,
});
const ssaRule = (name: string, rule: string, apply: Violation['apply']): Violation => ({
  name,
  code: 'invalid_software_statement',
  rule,
  apply,
});
const redirect = (name: string, apply: Violation['apply']): Violation => ({
  name,
  code: 'invalid_redirect_uri',
  rule: 'rule 5 redirect_uris',
  apply,
});

const VIOLATIONS: Violation[] = [
  // Rule 3: the request JWT's claims (RFC 7519 §4.1, OBIE DCR).
  metadata('exp missing', 'rule 3 exp/iat', (r) => withoutClaim(r, 'exp')),
  metadata('exp not a NumericDate', 'rule 3 exp/iat', (r, k) => withClaims(r, { exp: at(notANumericDate, k) })),
  metadata('exp in the past beyond the skew', 'rule 3 exp/iat', (r, k) =>
    withClaims(r, { exp: secondsOf(r) - skew - beyond(k) }),
  ),
  metadata('iat missing', 'rule 3 exp/iat', (r) => withoutClaim(r, 'iat')),
  metadata('iat not a NumericDate', 'rule 3 exp/iat', (r, k) => withClaims(r, { iat: at(notANumericDate, k) })),
  metadata('iat in the future beyond the skew', 'rule 3 exp/iat', (r, k) =>
    withClaims(r, { iat: secondsOf(r) + skew + 1 + beyond(k) }),
  ),
  metadata('iat older than the window', 'rule 3 exp/iat', (r, k) =>
    withClaims(r, { iat: secondsOf(r) - maxAge - skew - 1 - beyond(k) }),
  ),
  metadata('jti missing', 'rule 3 jti', (r) => withoutClaim(r, 'jti')),
  metadata('jti empty, too long or not a string', 'rule 3 jti', (r, k) =>
    withClaims(r, { jti: at(['', 'j'.repeat(257), ...notAString], k) }),
  ),
  metadata('iss missing', 'rule 3 iss', (r) => withoutClaim(r, 'iss')),
  metadata('iss not the software_id', 'rule 3 iss', (r, k) =>
    withClaims(r, {
      iss: at(['', `${String(r.ssa.software_id)}x`, String(r.ssa.software_id).toLowerCase() + '-', ...notAString], k),
    }),
  ),
  metadata('aud missing', 'rule 3 aud', (r) => withoutClaim(r, 'aud')),
  metadata('aud names another bank', 'rule 3 aud', (r, k) =>
    withClaims(r, {
      aud: at(['https://other.example', [], ['https://other.example'], 42, 'HTTPS://AS.BANK.EXAMPLE'], k),
    }),
  ),
  // Rule 4: the software statement.
  ssaRule('software_statement missing or empty', 'rule 4 software_statement', (r, k) =>
    k % 2 === 0
      ? withoutClaim(r, 'software_statement')
      : withClaims(r, { software_statement: at(['', ...notAString], k) }),
  ),
  ssaRule('software_statement not a JWT', 'rule 4 software_statement', (r, k) =>
    withClaims(r, { software_statement: at(['not-a-jwt', 'a.b.c', 'e30.e30', '..'], k) }),
  ),
  {
    name: 'SSA from an untrusted issuer',
    code: 'unapproved_software_statement',
    rule: 'rule 4 issuer',
    apply: (r, k) => withSsa(r, { iss: at(['Someone Else', 'openbanking ltd', 42], k) }),
  },
  ...['software_id', 'org_id', 'software_jwks_endpoint', 'org_status'].map((name) =>
    ssaRule(`SSA ${name} missing or not a string`, 'rule 4 SSA claims', (r, k) =>
      withSsa(r, { [name]: at([undefined, '', ...notAString], k) }),
    ),
  ),
  ssaRule('SSA software_redirect_uris or software_roles not an array of strings', 'rule 4 SSA claims', (r, k) =>
    withSsa(r, {
      [k % 2 === 0 ? 'software_redirect_uris' : 'software_roles']: at(['https://tpp.example/cb', [42], null], k),
    }),
  ),
  ssaRule('SSA jti not a string', 'rule 4 SSA claims', (r, k) => withSsa(r, { jti: at(['', ...notAString], k) })),
  ssaRule('SSA iat missing, in the future or too old', 'rule 4 SSA iat', (r, k) =>
    withSsa(r, {
      iat: at(
        [undefined, '1700000000', secondsOf(r) + skew + 1 + beyond(k), secondsOf(r) - ssaMaxAge - skew - 1 - beyond(k)],
        k,
      ),
    }),
  ),
  {
    name: 'organisation not Active',
    code: 'unapproved_software_statement',
    rule: 'rule 4 org_status',
    apply: (r, k) => withSsa(r, { org_status: at(['Revoked', 'Withdrawn', 'active', 'ACTIVE', 'Active '], k) }),
  },
  ssaRule('request software_id differs from the SSA', 'rule 4 software_id', (r, k) =>
    withClaims(r, { software_id: at([`${String(r.ssa.software_id)}x`, '', 42, null], k) }),
  ),
  // Rule 5: redirect URIs.
  redirect('redirect_uris missing, empty or not strings', (r, k) =>
    k % 4 === 0
      ? withoutClaim(r, 'redirect_uris')
      : withClaims(r, { redirect_uris: at([[], 'https://tpp.example/cb', [42]], k) }),
  ),
  // Rule 6: token endpoint authentication.
  metadata('token_endpoint_auth_method not allowed', 'rule 6 token_endpoint_auth_method', (r, k) =>
    withClaims(r, { token_endpoint_auth_method: at(['client_secret_basic', 'client_secret_jwt', 'none', '', 42], k) }),
  ),
  metadata('private_key_jwt without a FAPI signing alg', 'rule 6 token_endpoint_auth_signing_alg', (r, k) =>
    withClaims(r, {
      token_endpoint_auth_method: 'private_key_jwt',
      tls_client_auth_subject_dn: undefined,
      token_endpoint_auth_signing_alg: at([undefined, 'RS256', 'HS256', 'none', 'ps256'], k),
    }),
  ),
  metadata('signing alg with an mTLS method', 'rule 6 token_endpoint_auth_signing_alg', (r) =>
    withClaims(r, {
      token_endpoint_auth_method: 'self_signed_tls_client_auth',
      tls_client_auth_subject_dn: undefined,
      token_endpoint_auth_signing_alg: 'PS256',
    }),
  ),
  metadata('tls_client_auth without a valid subject DN', 'rule 6 tls_client_auth_subject_dn', (r, k) =>
    withClaims(r, {
      token_endpoint_auth_method: 'tls_client_auth',
      token_endpoint_auth_signing_alg: undefined,
      tls_client_auth_subject_dn: at([undefined, '', 'CN', 'CN=a,XX=b', 'CN=a\\', 42], k),
    }),
  ),
  metadata('tls_client_auth subject DN not the certificate’s', 'rule 6 tls_client_auth_subject_dn', (r, k) =>
    withClaims(r, {
      token_endpoint_auth_method: 'tls_client_auth',
      token_endpoint_auth_signing_alg: undefined,
      tls_client_auth_subject_dn: at(
        [
          `CN=${String(r.ssa.software_id)}x,OU=${String(r.ssa.org_id)},O=OpenBanking,C=GB`,
          `CN=${String(r.ssa.software_id)},OU=${String(r.ssa.org_id)},O=OpenBanking`,
          `CN=${String(r.ssa.software_id)},OU=${String(r.ssa.org_id)},O=OpenBanking,C=FR`,
        ],
        k,
      ),
    }),
  ),
  metadata('subject DN with another method', 'rule 6 tls_client_auth_subject_dn', (r) =>
    withClaims(r, {
      token_endpoint_auth_method: 'self_signed_tls_client_auth',
      token_endpoint_auth_signing_alg: undefined,
      tls_client_auth_subject_dn: 'CN=x',
    }),
  ),
  // Rule 7: grants, response types, algorithms, application type, scope.
  metadata('grant_types unknown, empty or not an array', 'rule 7 grant_types', (r, k) =>
    withClaims(r, {
      grant_types: at([['implicit'], ['password'], [], 'authorization_code', ['refresh_token'], [42]], k),
    }),
  ),
  metadata('response_types not allowed', 'rule 7 response_types', (r, k) =>
    withClaims(r, {
      grant_types: ['authorization_code'],
      response_types: at([['token'], ['id_token'], ['code token'], 'code', [], [42]], k),
    }),
  ),
  metadata('response_types without authorization_code', 'rule 7 response_types', (r) =>
    withClaims(r, { grant_types: ['client_credentials'], response_types: ['code'] }),
  ),
  ...['id_token_signed_response_alg', 'request_object_signing_alg'].map((name) =>
    metadata(`${name} not a FAPI alg`, `rule 7 ${name}`, (r, k) =>
      withClaims(r, { [name]: at([undefined, 'RS256', 'none', 'HS256', '', 42], k) }),
    ),
  ),
  metadata('application_type not allowed', 'rule 7 application_type', (r, k) =>
    withClaims(r, { application_type: at(['native', '', 'WEB', 42, []], k) }),
  ),
  metadata('scope missing, empty or too long', 'rule 7 scope', (r, k) =>
    withClaims(r, { scope: at([undefined, '', 'openid '.repeat(40), 42], k) }),
  ),
  {
    name: 'scope the software roles do not permit',
    code: 'unapproved_software_statement',
    rule: 'rule 7 scope',
    apply: (r, k) => {
      const roles = r.ssa.software_roles as string[];
      const refused = [
        'profile',
        'email',
        'Accounts',
        ...ROLES.filter((role) => !roles.includes(role)).flatMap((role) => POLICY.scopesByRole[role]!),
      ];
      return withClaims(r, { scope: `${String(r.claims.scope)} ${at(refused, k)}` });
    },
  },
  metadata('admin API scope through a software statement', 'rule 7 scope', (r) =>
    withClaims(r, { scope: `${String(r.claims.scope)} obip:config:read` }),
  ),
  metadata(
    'dpop_bound_access_tokens not a boolean, or with certificate binding',
    'rule 7 dpop_bound_access_tokens',
    (r, k) =>
      k % 2 === 0
        ? withClaims(r, { dpop_bound_access_tokens: at(['true', 1, null], k) })
        : withClaims(r, { dpop_bound_access_tokens: true, tls_client_certificate_bound_access_tokens: true }),
  ),
  // Rule 8: CIBA.
  metadata('CIBA metadata without the CIBA grant', 'rule 8 CIBA', (r, k) => {
    const grants = r.claims.grant_types as string[];
    if (grants.includes(CIBA_GRANT)) return undefined;
    return withClaims(r, { [at(['backchannel_token_delivery_mode', 'backchannel_user_code_parameter'], k)]: 'poll' });
  }),
  metadata('CIBA push mode, ping without https endpoint, bad alg or user code', 'rule 8 CIBA', (r, k) => {
    if (!(r.claims.grant_types as string[]).includes(CIBA_GRANT)) return undefined;
    return withClaims(
      r,
      at<Claims>(
        [
          { backchannel_token_delivery_mode: 'push' },
          {
            backchannel_token_delivery_mode: 'ping',
            backchannel_client_notification_endpoint: 'http://tpp.example/ping',
          },
          { backchannel_token_delivery_mode: 'ping', backchannel_client_notification_endpoint: undefined },
          { backchannel_authentication_request_signing_alg: 'RS256' },
          { backchannel_user_code_parameter: true },
        ],
        k,
      ),
    );
  }),
  // Rule 9: keys.
  metadata('inline jwks', 'rule 9 jwks', (r) => withClaims(r, { jwks: { keys: [] } })),
  metadata('jwks_uri other than the SSA’s', 'rule 9 jwks_uri', (r, k) =>
    withClaims(r, {
      jwks_uri: at([`${String(r.ssa.software_jwks_endpoint)}?x=1`, 'https://attacker.example/jwks', 42], k),
    }),
  ),
];

describe('registration rules: single violations', () => {
  it('are refused by the rule they break, with its RFC 7591 error code, never another error', () => {
    fc.assert(
      fc.property(registrationArbitrary, fc.constantFrom(...VIOLATIONS), fc.nat(), (registration, violation, pick) => {
        const broken = violation.apply(registration, pick);
        fc.pre(broken !== undefined);
        const refusal = refusalOf(broken!);
        assert.equal(refusal.rule, violation.rule, `${violation.name}: ${refusal.description}`);
        assert.equal(refusal.code, violation.code, violation.name);
      }),
      { numRuns: 2_000 },
    );
  });

  it('cover every violation listed (each is applicable to some registration)', () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(registrationArbitrary, fc.nat(), (registration, pick) => {
        for (const violation of VIOLATIONS) if (violation.apply(registration, pick)) seen.add(violation.name);
      }),
      { numRuns: 200 },
    );
    assert.deepEqual(
      VIOLATIONS.map((violation) => violation.name).filter((name) => !seen.has(name)),
      [],
    );
  });
});

describe('registration rules: request header (rule 2)', () => {
  it('refuses any alg outside the FAPI list and any embedded key, with invalid_client_metadata', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.constantFrom('none', 'RS256', 'HS256', 'ps256', 'ES256K', 'EdDSA', ''), fc.string()),
        fc.constantFrom(...POLICY.signingAlgs),
        fc.subarray(['jwk', 'x5c', 'x5u', 'jku'], { minLength: 1 }),
        (badAlg, goodAlg, embedded) => {
          fc.pre(!POLICY.signingAlgs.includes(badAlg));
          for (const header of [
            { alg: badAlg },
            { alg: goodAlg, ...Object.fromEntries(embedded.map((name) => [name, 'x'])) },
          ]) {
            assert.throws(
              () => checkRequestHeader(header, POLICY.signingAlgs),
              (error: unknown) =>
                error instanceof RegistrationError &&
                error.code === 'invalid_client_metadata' &&
                error.rule === 'rule 2 request JWS',
            );
          }
          checkRequestHeader({ alg: goodAlg, kid: 'k1', typ: 'JWT' }, POLICY.signingAlgs);
        },
      ),
      { numRuns: 300 },
    );
  });
});

// ---- redirect URIs (rule 5) ----

/** One change to a registered URI; every one names a different redirect target or a different string. */
const uriMutation = fc.oneof(
  fc.constantFrom(
    (uri: URL) => uri.href.replace(/^https:\/\/([^/]*)/, (_, host: string) => `https://${host.toUpperCase()}`),
    (uri: URL) => (uri.href.endsWith('/') ? uri.href.slice(0, -1) : `${uri.href}/`),
    (uri: URL) => `${uri.href}${uri.search ? '&' : '?'}x=1`,
    (uri: URL) => `${uri.href}#fragment`,
    (uri: URL) => `${uri.href}#`,
    (uri: URL) => uri.href.replace(uri.host, `${uri.host}:443`),
    (uri: URL) => uri.href.replace(uri.host, `${uri.hostname}:8443`),
    (uri: URL) => uri.href.replace('https://', 'https://user@'),
    (uri: URL) => uri.href.replace('https://', 'https://user:pass@'),
    (uri: URL) => uri.href.replace('https://', 'http://'),
    (uri: URL) => uri.href.replace('https://', 'HTTPS://'),
    (uri: URL) => uri.href.replace(uri.host, `${uri.hostname}.`),
    (uri: URL) => withPath(uri, `${uri.pathname}/.`),
    (uri: URL) => withPath(uri, `/x/..${uri.pathname}`),
    (uri: URL) => ` ${uri.href}`,
    (uri: URL) => `${uri.href} `,
  ),
  // Percent-encode one unreserved character of the path, or change one letter's case.
  fc.nat().map((k) => (uri: URL) => {
    const letters = [...uri.pathname.matchAll(/[A-Za-z0-9]/g)];
    if (letters.length === 0) return `${uri.href}%2F`;
    const { index, 0: ch } = letters[k % letters.length]!;
    const replacement =
      k % 2 === 0
        ? `%${ch.charCodeAt(0).toString(16).toUpperCase()}`
        : ch === ch.toUpperCase()
          ? ch.toLowerCase()
          : ch.toUpperCase();
    if (replacement === ch) return `${uri.href}%2F`;
    return withPath(uri, uri.pathname.slice(0, index) + replacement + uri.pathname.slice(index + 1));
  }),
);

/** The URI with its path replaced, the rest (query included) as written. */
function withPath(uri: URL, path: string): string {
  const prefix = `${uri.protocol}//${uri.host}`;
  return `${prefix}${path}${uri.href.slice(prefix.length + uri.pathname.length)}`;
}

function assertRedirectRefused(claims: Claims, ssa: { software_redirect_uris: string[] } | undefined): void {
  assert.throws(
    () => checkRedirectUris(claims, ssa, POLICY),
    (error: unknown) =>
      error instanceof RegistrationError &&
      error.code === 'invalid_redirect_uri' &&
      error.rule === 'rule 5 redirect_uris',
  );
}

describe('registration rules: redirect URIs', () => {
  it('match the software statement exactly: any single change of a registered URI is refused', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(https(), { minLength: 1, maxLength: 3 }),
        fc.nat(),
        uriMutation,
        (registered, k, mutate) => {
          const original = registered[k % registered.length]!;
          const mutated = mutate(new URL(original));
          fc.pre(!registered.includes(mutated));
          assert.deepEqual(
            checkRedirectUris({ redirect_uris: [original] }, { software_redirect_uris: registered }, POLICY),
            [original],
          );
          assertRedirectRefused({ redirect_uris: [original, mutated] }, { software_redirect_uris: registered });
        },
      ),
      { numRuns: 600 },
    );
  });

  const refusedEvenWhenListed = fc.oneof(
    https().map((uri) => uri.replace('https://', 'http://')),
    https().map((uri) => `${uri}#frag`),
    https().map((uri) => uri.replace('https://', 'https://*.')),
    https().map((uri) => withPath(new URL(uri), new URL(uri).pathname.replace(/\/?$/, '/*'))),
    fc.constantFrom(
      'https://localhost/cb',
      'https://LOCALHOST:8443/cb',
      'https://localhost./cb',
      'https://app.localhost/cb',
      'https://app.localhost./cb',
      'https://127.0.0.1/cb',
      'https://127.1/cb',
      'https://2130706433/cb',
      'https://0x7f000001/cb',
      'https://[::1]/cb',
      'https://[0:0:0:0:0:0:0:1]/cb',
      'https://[::ffff:127.0.0.1]/cb',
      'https://0.0.0.0/cb',
      'https://[::]/cb',
      'ftp://tpp.example/cb',
      'javascript:alert(1)',
      'data:text/html,hi',
      '/relative/cb',
      'tpp.example/cb',
      `https://tpp.example/${'x'.repeat(250)}`,
    ),
  );

  it('refuses non-https, fragments, wildcards, loopback hosts and non-URIs even when the SSA lists them', () => {
    fc.assert(
      fc.property(refusedEvenWhenListed, (uri) => {
        assertRedirectRefused({ redirect_uris: [uri] }, { software_redirect_uris: [uri] });
        // An administrator's onboarding (no SSA) applies the same rules.
        assertRedirectRefused({ redirect_uris: [uri] }, undefined);
      }),
      {
        numRuns: 400,
        // Found by this property: a wildcard host, and loopback hosts spelled with a trailing dot or as IPv6.
        examples: [
          ['https://*.tpp.example/cb'],
          ['https://localhost./cb'],
          ['https://[::ffff:127.0.0.1]/cb'],
          ['https://[::]/cb'],
        ],
      },
    );
  });

  it('refuses arbitrary redirect_uris values with invalid_redirect_uri, never another error', () => {
    fc.assert(
      fc.property(fc.anything(), fc.array(fc.string({ unit: 'binary' })), (value, strings) => {
        for (const uris of [value, strings]) {
          try {
            checkRedirectUris({ redirect_uris: uris }, { software_redirect_uris: strings }, POLICY);
          } catch (error) {
            assert.ok(error instanceof RegistrationError && error.code === 'invalid_redirect_uri', String(error));
          }
        }
      }),
      { numRuns: 500 },
    );
  });
});
