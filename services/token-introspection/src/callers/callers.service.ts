// Caller authentication for POST /introspect: RFC 7662 §2.1 requires it, issue 6 admits only
// resource servers, with the FAPI client authentication methods (private_key_jwt, tls_client_auth,
// self_signed_tls_client_auth). Written against ports: the client registry, key sets behind a
// jwks_uri, and the jti replay cache.
import { DomainError, UnauthorizedError } from '@obip/errors';
import { FAPI_SIGNING_ALGS } from '@obip/fapi';
import {
  createLocalJWKSet,
  decodeJwt,
  errors as joseErrors,
  jwtVerify,
  type JSONWebKeySet,
  type JWTVerifyGetKey,
} from 'jose';
import {
  attemptedAuthMethod,
  hasRegisteredSubjectDn,
  isCertificateInKeySet,
  isResourceServer,
  JWT_BEARER_ASSERTION_TYPE,
  registeredAuthMethod,
  type CallerAuthMethod,
  type CallerCredentials,
  type PresentedCertificate,
  type RegisteredCaller,
} from './callers.rules';

/** dcr-service's registrations. Undefined for an unknown client; a 503-class DomainError when the registry cannot answer. */
export interface CallerRegistry {
  find(clientId: string): Promise<RegisteredCaller | undefined>;
}

/** Key sets behind jwks_uris. Rejects when the set cannot be fetched. */
export interface CallerKeySets {
  /** `refresh`: fetch again (the cached set lacks the `kid` asked for); the adapter may rate-limit refreshes. */
  keySet(uri: string, options?: { refresh?: boolean }): Promise<JSONWebKeySet>;
}

/** RFC 7523 §3 item 7: a client assertion's jti is accepted once. */
export interface AssertionReplayCache {
  /** True the first time (client, jti) is claimed within `ttlMs`; false when it was already used. */
  claim(clientId: string, jti: string, ttlMs: number): Promise<boolean>;
}

export interface CallerPolicy {
  /** RESOURCE_SERVER_CLIENT_IDS. */
  resourceServerClientIds: readonly string[];
  /** Accepted client assertion audiences: this endpoint's URL and the issuer. */
  audiences: readonly string[];
  clockSkewSeconds: number;
  /** Furthest ahead a client assertion's exp may lie. */
  maxLifetimeSeconds: number;
}

/** An authenticated resource server. */
export interface Caller {
  clientId: string;
  method: CallerAuthMethod;
  metadata: Readonly<Record<string, unknown>>;
}

export interface CallerAuthenticator {
  /** The authenticated resource server; rejects with 401 `invalid_client` for anyone else. */
  authenticate(credentials: CallerCredentials): Promise<Caller>;
}

export interface CallerAuthenticatorOptions {
  registry: CallerRegistry;
  keySets: CallerKeySets;
  replay: AssertionReplayCache;
  policy: CallerPolicy;
  /** Clock in unix seconds, for tests. */
  now?: () => number;
}

/** Distinct (registered DN, presented DN) verdicts remembered; the memory is dropped whole when full. */
const MAX_DN_VERDICTS = 1_000;

/** Client assertions are small JWTs; anything longer is refused before it is parsed. */
const MAX_ASSERTION_LENGTH = 8_192;

/**
 * RFC 6749 §5.2: invalid_client is a 401. No client of this endpoint uses the Authorization
 * header, so the challenge only names the realm.
 */
export const INVALID_CLIENT_CHALLENGE = 'Bearer realm="token-introspection", error="invalid_client"';

export function refuseCaller(description: string): DomainError {
  return new UnauthorizedError(description, {
    code: 'invalid_client',
    headers: { 'WWW-Authenticate': INVALID_CLIENT_CHALLENGE },
  });
}

/**
 * Builds the caller authenticator. Each method is a short list of named checks; any failure is
 * the same 401 `invalid_client` (with a description naming the rule), while a registry or
 * Redis outage stays a 503.
 *
 * @example
 * const callers = createCallerAuthenticator({ registry, keySets, replay, policy });
 * const caller = await callers.authenticate({ clientId: 'gateway', certificate });
 */
export function createCallerAuthenticator(options: CallerAuthenticatorOptions): CallerAuthenticator {
  const { registry, keySets, replay, policy } = options;
  const now = options.now ?? (() => Math.floor(Date.now() / 1000));
  const resourceServers = new Set(policy.resourceServerClientIds);
  const resolvers = new WeakMap<JSONWebKeySet, JWTVerifyGetKey>();

  const resolverFor = (jwks: JSONWebKeySet): JWTVerifyGetKey => {
    let resolver = resolvers.get(jwks);
    if (!resolver) {
      resolver = createLocalJWKSet(jwks);
      resolvers.set(jwks, resolver);
    }
    return resolver;
  };

  // RFC 4514 parsing and matching of both DNs cost about 7 % of a request's CPU (bench/README.md);
  // a gateway presents the same certificate on every call, so the verdict is remembered per
  // (registered DN, presented DN) pair. A pure function of the two strings: nothing else changes.
  const dnVerdicts = new Map<string, boolean>();
  const subjectDnMatches = (caller: RegisteredCaller, certificate: PresentedCertificate): boolean => {
    const key = `${caller.tlsClientAuthSubjectDn ?? ''}\n${certificate.subjectDn}`;
    let verdict = dnVerdicts.get(key);
    if (verdict === undefined) {
      verdict = hasRegisteredSubjectDn(caller, certificate);
      if (dnVerdicts.size >= MAX_DN_VERDICTS) dnVerdicts.clear();
      dnVerdicts.set(key, verdict);
    }
    return verdict;
  };

  async function registeredCaller(clientId: string): Promise<RegisteredCaller> {
    const caller = await registry.find(clientId);
    if (!caller) throw refuseCaller('the client is not registered');
    if (!caller.active) throw refuseCaller('the client is not active');
    return caller;
  }

  async function keySetOf(caller: RegisteredCaller, refresh: boolean): Promise<JSONWebKeySet | undefined> {
    if (caller.jwks && !refresh) return caller.jwks;
    if (!caller.jwksUri) return caller.jwks;
    try {
      return await keySets.keySet(caller.jwksUri, { refresh });
    } catch (error) {
      throw new UnauthorizedError('the client key set could not be fetched', {
        code: 'invalid_client',
        headers: { 'WWW-Authenticate': INVALID_CLIENT_CHALLENGE },
        cause: error,
      });
    }
  }

  // ---- private_key_jwt (RFC 7523 §2.2, §3; FAPI 2.0 SP 5.3.2.1) ----

  function assertionIssuer(credentials: CallerCredentials): string {
    if (credentials.clientAssertionType !== JWT_BEARER_ASSERTION_TYPE)
      throw refuseCaller(`client_assertion_type must be ${JWT_BEARER_ASSERTION_TYPE}`);
    const assertion = credentials.clientAssertion;
    if (!assertion) throw refuseCaller('client_assertion is required');
    if (assertion.length > MAX_ASSERTION_LENGTH) throw refuseCaller('client_assertion is too long');
    let issuer: unknown;
    try {
      issuer = decodeJwt(assertion).iss;
    } catch {
      throw refuseCaller('client_assertion is not a JWT');
    }
    if (typeof issuer !== 'string' || issuer === '') throw refuseCaller('client_assertion has no iss');
    // RFC 7523 §3 item 1 with RFC 6749 §2.3: a client_id sent beside the assertion names the same client.
    if (credentials.clientId !== undefined && credentials.clientId !== issuer)
      throw refuseCaller('client_id does not match the client_assertion iss');
    return issuer;
  }

  async function verifyAssertion(caller: RegisteredCaller, assertion: string): Promise<{ jti: string; exp: number }> {
    const getKey: JWTVerifyGetKey = async (header, token) => {
      const jwks = await keySetOf(caller, false);
      if (!jwks) throw refuseCaller('the client has no registered keys');
      try {
        return await resolverFor(jwks)(header, token);
      } catch (error) {
        // The client rotated its keys: fetch its jwks_uri again, once.
        if (!(error instanceof joseErrors.JWKSNoMatchingKey) || !caller.jwksUri) throw error;
        const refreshed = await keySetOf(caller, true);
        if (!refreshed) throw error;
        return resolverFor(refreshed)(header, token);
      }
    };
    let payload;
    try {
      ({ payload } = await jwtVerify(assertion, getKey, {
        algorithms: [...FAPI_SIGNING_ALGS],
        issuer: caller.clientId,
        subject: caller.clientId,
        audience: [...policy.audiences],
        requiredClaims: ['exp', 'jti'],
        clockTolerance: policy.clockSkewSeconds,
        currentDate: new Date(now() * 1000),
      }));
    } catch (error) {
      if (error instanceof DomainError) throw error;
      throw new UnauthorizedError('the client assertion could not be verified', {
        code: 'invalid_client',
        headers: { 'WWW-Authenticate': INVALID_CLIENT_CHALLENGE },
        cause: error,
      });
    }
    const { jti, exp } = payload as { jti: unknown; exp: number };
    if (typeof jti !== 'string' || jti === '') throw refuseCaller('client_assertion jti must be a non-empty string');
    if (exp - now() > policy.maxLifetimeSeconds + policy.clockSkewSeconds)
      throw refuseCaller('client_assertion expires too far in the future');
    return { jti, exp };
  }

  async function claimJti(clientId: string, jti: string, exp: number): Promise<void> {
    // Remembered until the assertion could no longer be accepted anyway.
    const ttlMs = (exp - now() + policy.clockSkewSeconds) * 1000;
    if (!(await replay.claim(clientId, jti, Math.max(ttlMs, 1_000))))
      throw refuseCaller('client_assertion was already used (jti replay)');
  }

  async function authenticateWithAssertion(credentials: CallerCredentials): Promise<RegisteredCaller> {
    const caller = await registeredCaller(assertionIssuer(credentials));
    if (registeredAuthMethod(caller) !== 'private_key_jwt')
      throw refuseCaller('the client did not register private_key_jwt');
    const { jti, exp } = await verifyAssertion(caller, credentials.clientAssertion!);
    await claimJti(caller.clientId, jti, exp);
    return caller;
  }

  // ---- mutual TLS (RFC 8705 §2) ----

  async function authenticateWithCertificate(
    clientId: string,
    certificate: PresentedCertificate | undefined,
  ): Promise<RegisteredCaller> {
    if (!certificate) throw refuseCaller('a client certificate is required');
    const caller = await registeredCaller(clientId);
    const method = registeredAuthMethod(caller);
    if (method === 'tls_client_auth') {
      if (!subjectDnMatches(caller, certificate))
        throw refuseCaller('the certificate subject does not match tls_client_auth_subject_dn');
      return caller;
    }
    if (method === 'self_signed_tls_client_auth') {
      if (!isCertificateInKeySet(await keySetOf(caller, false), certificate))
        throw refuseCaller('the certificate is not in the client key set');
      return caller;
    }
    throw refuseCaller('the client did not register a mutual-TLS authentication method');
  }

  return {
    async authenticate(credentials) {
      const attempted = attemptedAuthMethod(credentials);
      if (!attempted) throw refuseCaller('client authentication is required');
      const caller =
        attempted === 'private_key_jwt'
          ? await authenticateWithAssertion(credentials)
          : await authenticateWithCertificate(credentials.clientId!, credentials.certificate);
      if (!isResourceServer(caller, resourceServers))
        throw refuseCaller('the client is not registered as a resource server');
      return { clientId: caller.clientId, method: registeredAuthMethod(caller)!, metadata: caller.metadata };
    },
  };
}
