import { randomInt, randomUUID } from 'node:crypto';
import { generateSigningKey, type SigningAlg, type SigningKey } from '../pki/signing-keys';
import type { IssuedCertificate, TestPki } from '../pki/test-pki';
import { signCompactJws, type JwsHeader, type TestJwsAlg } from './compact-jws';
import { startJwksServer, type JwksServer } from './jwks.server';

/** `sandbox` or `production`: which of a directory's environments issued an SSA. */
export type DirectoryEnvironment = 'sandbox' | 'production';

/** The OB Directory software statement claim set (OB Directory SSA definition, v2.1). */
export interface SoftwareStatementClaims {
  iss: string;
  iat: number;
  jti: string;
  software_id: string;
  software_client_id: string;
  software_client_name: string;
  software_client_description: string;
  software_client_uri: string;
  software_version: string;
  software_environment: string;
  software_mode: 'Test' | 'Live';
  software_jwks_endpoint: string;
  software_jwks_revoked_endpoint: string;
  software_logo_uri: string;
  software_policy_uri: string;
  software_tos_uri: string;
  software_on_behalf_of_org: string;
  software_redirect_uris: string[];
  software_roles: string[];
  org_id: string;
  org_name: string;
  org_status: 'Active' | 'Revoked' | 'Withdrawn';
  org_contacts: Array<Record<string, string>>;
  org_jwks_endpoint: string;
  org_jwks_revoked_endpoint: string;
  organisation_competent_authority_claims: Record<string, unknown>;
  [claim: string]: unknown;
}

export interface RegisterSoftwareOptions {
  /** Base62, 22 characters by default (OBIE DCR 3.2). */
  softwareId?: string;
  /** Base62, 18 characters by default (OB organisation ids). */
  orgId?: string;
  orgName?: string;
  clientName?: string;
  /** PSD2 roles. Default `['AISP', 'PISP']`. */
  roles?: string[];
  /** Default `['https://tpp.example.com/callback']`. */
  redirectUris?: string[];
  /** Algorithm of the TPP's signing key (request objects, DCR requests). Default PS256. */
  alg?: SigningAlg;
  /** Also issue a transport certificate from the directory's PKI. Default true when it has one. */
  transportCertificate?: boolean;
}

/** A piece of TPP software known to the directory, with its keys and (optionally) certificate. */
export interface TestSoftware {
  softwareId: string;
  orgId: string;
  orgName: string;
  clientName: string;
  roles: string[];
  redirectUris: string[];
  /** The `software_jwks_endpoint`: a loopback URL serving `{ keys: [signingKey.publicJwk] }`. */
  jwksUri: string;
  /** The TPP's current signing key; `rotateKey` replaces it. */
  signingKey: SigningKey;
  /** The transport certificate (CN = softwareId, OU = orgId), when the directory has a PKI. */
  transport: IssuedCertificate | undefined;
}

export interface IssueSsaOptions {
  /** Claims to override or add; a claim set to `undefined` is removed. */
  claims?: Partial<Record<keyof SoftwareStatementClaims | (string & {}), unknown>>;
  /** Extra or replacement header parameters. */
  header?: JwsHeader;
  /** Signing algorithm. Default the directory's. */
  alg?: TestJwsAlg;
  /** Sign with this key instead of the directory's (e.g. a foreign directory's). */
  key?: SigningKey;
}

export interface MintRequestOptions {
  /** The software statement to embed; omit with `claims: { software_statement: undefined }`. */
  ssa: string;
  /** `aud`: the bank's identifier (OB organisation id or issuer URL). */
  aud: string | string[];
  /** Claims to override or add; a claim set to `undefined` is removed. */
  claims?: Record<string, unknown>;
  /** `iat`, unix seconds. Default now. */
  iat?: number;
  /** Lifetime in seconds (`exp = iat + lifetime`). Default 300. */
  lifetimeSeconds?: number;
  header?: JwsHeader;
  /** Default the software key's algorithm. */
  alg?: TestJwsAlg;
  /** Sign with this key instead of the software's (e.g. another TPP's). */
  key?: SigningKey;
}

export interface TestDirectory {
  /** The SSA `iss`, e.g. `OpenBanking Ltd (obip test)`. */
  readonly issuer: string;
  /** Where the directory publishes its own signing keys. */
  readonly jwksUri: string;
  readonly environment: DirectoryEnvironment;
  readonly signingKey: SigningKey;
  /** The HTTP server behind `jwksUri` and every software JWKS. */
  readonly keyServer: JwksServer;
  /**
   * The entry a relying service puts in its trusted-directory settings:
   * `{ issuer, jwksUri, environment }`.
   */
  readonly trustEntry: { issuer: string; jwksUri: string; environment: DirectoryEnvironment };
  /** Registers a software with a fresh key published at its JWKS endpoint. */
  registerSoftware(options?: RegisterSoftwareOptions): Promise<TestSoftware>;
  /** The SSA claims this directory would sign for `software` (fresh `iat` and `jti`). */
  ssaClaims(software: TestSoftware): SoftwareStatementClaims;
  /** Signs a software statement for `software`. */
  issueSsa(software: TestSoftware, options?: IssueSsaOptions): string;
  /**
   * Mints an OBIE DCR registration request (OBClientRegistrationRequest1) signed with the
   * software's key: `iss` = software id, `aud`, `iat`, `exp`, `jti`, and the metadata the OBIE
   * conformance tool sends (authorization_code + client_credentials, `accounts openid`, web,
   * PS256 everywhere, `private_key_jwt`).
   */
  mintRegistrationRequest(software: TestSoftware, options: MintRequestOptions): string;
  /** Generates a new key for `software` and publishes it (the old one is withdrawn). */
  rotateSoftwareKey(software: TestSoftware, alg?: SigningAlg): Promise<SigningKey>;
  stop(): Promise<void>;
}

export interface CreateTestDirectoryOptions {
  /** Default `OpenBanking Ltd (obip test)`. */
  issuer?: string;
  /** The directory's signing algorithm. Default PS256. */
  alg?: SigningAlg;
  environment?: DirectoryEnvironment;
  /** Issues transport certificates for registered software. */
  pki?: TestPki;
  /**
   * Serve the directory's and every software's JWKS over https (a server certificate for
   * 127.0.0.1 from `pki`), for a consumer that accepts https key set URLs only. Default false.
   */
  https?: boolean;
  /** The directory's SSA signing key; a new one by default. A sandbox that keeps its data passes the old one. */
  signingKey?: SigningKey;
  /** Port of the key server (JWKS URLs); any free one by default. */
  keyServerPort?: number;
}

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** A random Base62 string, the alphabet of OB directory identifiers. */
export function randomBase62(length: number): string {
  let text = '';
  for (let i = 0; i < length; i += 1) text += BASE62[randomInt(BASE62.length)];
  return text;
}

/**
 * Starts a mock OB-style directory: it signs software statements with its own key (PS256 by
 * default), serves its JWKS and every registered software's JWKS over a real HTTP server on
 * 127.0.0.1 (port 0), issues transport certificates from a test PKI, and mints TPP
 * registration requests signed with the software's key.
 *
 * Its URLs are loopback addresses: a service under test must be told to allow them (the DCR
 * SSRF rule refuses private and loopback addresses by default).
 *
 * @example
 * const directory = await createTestDirectory({ pki });
 * const software = await directory.registerSoftware({ alg: 'ES256' });
 * const ssa = directory.issueSsa(software);
 * const body = directory.mintRegistrationRequest(software, { ssa, aud: 'obip-bank' });
 * after(() => directory.stop());
 */
export async function createTestDirectory(options: CreateTestDirectoryOptions = {}): Promise<TestDirectory> {
  const issuer = options.issuer ?? 'OpenBanking Ltd (obip test)';
  const alg = options.alg ?? 'PS256';
  const environment = options.environment ?? 'sandbox';
  const signingKey = options.signingKey ?? (await generateSigningKey(alg));
  if (options.https && !options.pki) throw new TypeError('createTestDirectory: https needs a pki');
  const keyServer = await startJwksServer({
    ...(options.https && options.pki ? { tls: await httpsCertificate(options.pki) } : {}),
    ...(options.keyServerPort === undefined ? {} : { port: options.keyServerPort }),
  });
  const jwksUri = keyServer.publish('/directory/jwks', { keys: [{ ...signingKey.publicJwk }] });

  const ssaClaims = (software: TestSoftware): SoftwareStatementClaims => ({
    iss: issuer,
    iat: Math.floor(Date.now() / 1000),
    jti: randomUUID(),
    software_id: software.softwareId,
    software_client_id: software.softwareId,
    software_client_name: software.clientName,
    software_client_description: `${software.clientName} (test software)`,
    software_client_uri: 'https://tpp.example.com',
    software_version: '1.0',
    software_environment: environment,
    software_mode: environment === 'production' ? 'Live' : 'Test',
    software_jwks_endpoint: software.jwksUri,
    software_jwks_revoked_endpoint: `${keyServer.url}/software/${software.softwareId}/revoked`,
    software_logo_uri: 'https://tpp.example.com/logo.png',
    software_policy_uri: 'https://tpp.example.com/policy',
    software_tos_uri: 'https://tpp.example.com/tos',
    software_on_behalf_of_org: '',
    software_redirect_uris: [...software.redirectUris],
    software_roles: [...software.roles],
    org_id: software.orgId,
    org_name: software.orgName,
    org_status: 'Active',
    org_contacts: [{ name: 'Technical', email: 'tech@tpp.example.com', phone: '+440000000000', type: 'Technical' }],
    org_jwks_endpoint: `${keyServer.url}/org/${software.orgId}/jwks`,
    org_jwks_revoked_endpoint: `${keyServer.url}/org/${software.orgId}/revoked`,
    organisation_competent_authority_claims: {
      authority_id: 'FCAGBR',
      registration_id: String(randomInt(100_000, 999_999)),
      status: 'Active',
      authorisations: software.roles.map((role) => ({ member_state: 'GB', roles: [role] })),
    },
  });

  return {
    issuer,
    jwksUri,
    environment,
    signingKey,
    keyServer,
    trustEntry: { issuer, jwksUri, environment },

    async registerSoftware(software = {}) {
      const softwareId = software.softwareId ?? randomBase62(22);
      const orgId = software.orgId ?? randomBase62(18);
      const key = await generateSigningKey(software.alg ?? 'PS256');
      const wantsCertificate = software.transportCertificate ?? options.pki !== undefined;
      if (wantsCertificate && !options.pki) throw new TypeError('registerSoftware: the directory has no PKI');
      return {
        softwareId,
        orgId,
        orgName: software.orgName ?? 'obip Test TPP Ltd',
        clientName: software.clientName ?? 'obip test TPP',
        roles: software.roles ?? ['AISP', 'PISP'],
        redirectUris: software.redirectUris ?? ['https://tpp.example.com/callback'],
        jwksUri: keyServer.publish(`/software/${softwareId}/jwks`, { keys: [{ ...key.publicJwk }] }),
        signingKey: key,
        transport:
          wantsCertificate && options.pki ? await options.pki.issueTppCertificate({ orgId, softwareId }) : undefined,
      };
    },

    ssaClaims,

    issueSsa(software, ssa = {}) {
      const key = ssa.key ?? signingKey;
      const claims = applyOverrides({ ...ssaClaims(software) }, ssa.claims);
      return signCompactJws({ typ: 'JWT', kid: key.kid, ...ssa.header }, claims, key.privateJwk, ssa.alg ?? key.alg);
    },

    mintRegistrationRequest(software, request) {
      const key = request.key ?? software.signingKey;
      const iat = request.iat ?? Math.floor(Date.now() / 1000);
      const claims = applyOverrides(
        {
          iss: software.softwareId,
          aud: request.aud,
          iat,
          exp: iat + (request.lifetimeSeconds ?? 300),
          jti: randomUUID(),
          software_id: software.softwareId,
          redirect_uris: [...software.redirectUris],
          token_endpoint_auth_method: 'private_key_jwt',
          token_endpoint_auth_signing_alg: 'PS256',
          grant_types: ['authorization_code', 'client_credentials', 'refresh_token'],
          response_types: ['code id_token'],
          scope: 'accounts openid',
          application_type: 'web',
          id_token_signed_response_alg: 'PS256',
          request_object_signing_alg: 'PS256',
          software_statement: request.ssa,
        },
        request.claims,
      );
      return signCompactJws(
        { typ: 'JWT', kid: key.kid, ...request.header },
        claims,
        key.privateJwk,
        request.alg ?? key.alg,
      );
    },

    async rotateSoftwareKey(software, newAlg) {
      const key = await generateSigningKey(newAlg ?? software.signingKey.alg);
      software.signingKey = key;
      keyServer.publish(`/software/${software.softwareId}/jwks`, { keys: [{ ...key.publicJwk }] });
      return key;
    },

    stop: () => keyServer.stop(),
  };
}

function applyOverrides<T extends Record<string, unknown>>(claims: T, overrides: Record<string, unknown> = {}): T {
  const result: Record<string, unknown> = { ...claims };
  for (const [name, value] of Object.entries(overrides)) {
    if (value === undefined) delete result[name];
    else result[name] = value;
  }
  return result as T;
}

/** The key server's TLS certificate: presented with its issuing CA, as a TLS server does. */
async function httpsCertificate(pki: TestPki): Promise<{ certPem: string; keyPem: string }> {
  const issued = await pki.issueServerCertificate({ hostnames: ['127.0.0.1', 'localhost'] });
  return { certPem: issued.chainPem, keyPem: issued.keyPem };
}
