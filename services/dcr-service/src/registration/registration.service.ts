/**
 * The registration use cases: register (POST), read (GET), update (PUT) and delete (DELETE) a
 * client, written against ports. The rules are applied in the order of issue 3, with one
 * deliberate exception: the software statement is verified before the request signature,
 * because the request's keys are found through the SSA (`software_jwks_endpoint`) and a URL
 * from an unverified document is never fetched (SSRF, and trust: the SSA is what vouches for
 * the key set).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { decodeJwt } from 'jose';
import type { AuditEvent, ClientRepository, RegisteredClient } from '../clients/clients.repository';
import { RegistrationAccessError, RegistrationError, type RegistrationErrorCode } from './registration.errors';
import {
  checkApplicationType,
  checkCertificateBinding,
  checkCertificateChain,
  checkCibaMetadata,
  checkSenderConstraint,
  checkClientKeys,
  checkClientMayManage,
  checkGrantAndResponseTypes,
  checkMetadataAlgorithms,
  checkOptionalMetadata,
  checkOrganisationStatus,
  checkRedirectUris,
  checkRequestAudience,
  checkRequestHeader,
  checkRequestIssuer,
  checkRequestJti,
  checkRequestLifetime,
  checkScope,
  checkSoftwareIdMatches,
  checkSoftwareStatementClaims,
  checkSubjectDnMatchesCertificate,
  checkTokenEndpointAuth,
  decodeRequestHeader,
  findTrustedDirectory,
  requireClientCertificate,
  requireSoftwareStatement,
  verifyRequestSignature,
  verifySoftwareStatementSignature,
  type Claims,
  type KeyResolver,
  type PresentedCertificate,
  type RegistrationPolicy,
  type RegistrationTrust,
  type SoftwareStatement,
  type TrustedDirectory,
} from './registration.rules';

// ---- ports ----

/** One-time use of identifiers (`jti`), until they could no longer be accepted anyway. */
export interface ReplayCache {
  /** Records `value` in `scope` for `ttlMs`; false when it was already recorded. */
  claim(scope: string, value: string, ttlMs: number): Promise<boolean>;
  seen(scope: string, value: string): Promise<boolean>;
}

/**
 * Access tokens issued by auth-server, read from the shared token store (OBIE DCR: GET, PUT
 * and DELETE may be authorised by a client_credentials token of the same client).
 */
export interface AccessTokens {
  find(
    token: string,
  ): Promise<{ clientId: string; grantType: string; cnf?: { 'x5t#S256'?: string; jkt?: string } } | undefined>;
  revoke(token: string): Promise<boolean>;
}

/** Revokes every token and grant of a client, durably (the revocation outbox). */
export interface ClientTokenRevocation {
  revokeClientTokens(clientId: string, reason: string): Promise<void>;
}

export interface RegistrationLogger {
  warn(bindings: object, message: string): void;
}

export interface RegistrationServiceOptions {
  clients: ClientRepository;
  replay: ReplayCache;
  keys: KeyResolver;
  revocation: ClientTokenRevocation;
  accessTokens: AccessTokens;
  policy: RegistrationPolicy & {
    ssaReplayCheck: boolean;
    useSoftwareIdAsClientName: boolean;
    rotateRegistrationAccessToken: boolean;
  };
  /** The trust in force, read once per request: config-api may replace it while the service runs. */
  trust: () => RegistrationTrust;
  logger: RegistrationLogger;
  now?: () => Date;
}

/** The body of a registration request: a signed JWS (OBIE) or, where allowed, RFC 7591 JSON. */
export type RegistrationBody = { format: 'jws'; jws: string } | { format: 'json'; metadata: Claims };

export interface RegisterCommand {
  body: RegistrationBody;
  certificate: PresentedCertificate | undefined;
}

export interface ManageCommand {
  clientId: string;
  /** The bearer token presented: the RFC 7592 registration access token, or an OBIE client_credentials access token. */
  token: string | undefined;
  certificate: PresentedCertificate | undefined;
}

export interface RegistrationResult {
  client: RegisteredClient;
  /** Present when a token was issued by this call (registration, or rotation on update). */
  registrationAccessToken?: string;
}

export interface RegistrationService {
  register(command: RegisterCommand): Promise<RegistrationResult>;
  read(command: ManageCommand): Promise<RegisteredClient>;
  update(command: ManageCommand & { body: RegistrationBody }): Promise<RegistrationResult>;
  remove(command: ManageCommand): Promise<void>;
}

/** Request claims that describe the request itself, not the client (RFC 7519 §4.1). */
const REQUEST_ONLY_CLAIMS = new Set(['iss', 'aud', 'iat', 'exp', 'nbf', 'jti', 'software_statement', 'client_id']);

/** RFC 7591 §2 metadata kept as presented when a client sends it (after the rules passed). */
const PASSTHROUGH_METADATA = [
  'client_uri',
  'logo_uri',
  'tos_uri',
  'policy_uri',
  'contacts',
  'software_version',
  'id_token_encrypted_response_alg',
  'id_token_encrypted_response_enc',
  'request_object_encryption_alg',
  'request_object_encryption_enc',
  'authorization_signed_response_alg',
  'tls_client_certificate_bound_access_tokens',
  'require_pushed_authorization_requests',
] as const;

interface ValidatedRegistration {
  softwareStatement: string;
  ssa: SoftwareStatement;
  directory: TrustedDirectory;
  metadata: Record<string, unknown>;
  certificate: PresentedCertificate;
  /** Replay reservations to make once every rule has passed. */
  reservations: Array<{ scope: string; value: string; ttlMs: number; rule: string; code: RegistrationErrorCode }>;
}

export function createRegistrationService(options: RegistrationServiceOptions): RegistrationService {
  const { clients, replay, keys, policy, trust, logger } = options;
  const now = options.now ?? (() => new Date());

  async function validate(
    body: RegistrationBody,
    presented: PresentedCertificate | undefined,
    existing?: RegisteredClient,
  ): Promise<ValidatedRegistration> {
    const at = now();
    const { trustedCas, directories } = trust();
    // Rule 1: the transport certificate.
    const certificate = requireClientCertificate(presented);
    checkCertificateChain(certificate, trustedCas, at);

    // Rule 2 (header): before anything in the payload is looked at.
    let unverified: Claims;
    if (body.format === 'jws') {
      checkRequestHeader(decodeRequestHeader(body.jws), policy.signingAlgs);
      unverified = decodeUnverified(body.jws);
    } else {
      unverified = body.metadata;
    }

    // Rule 4 (signature): whose keys the request must be signed with.
    const softwareStatement = requireSoftwareStatement(unverified);
    const directory = findTrustedDirectory(softwareStatement, directories);
    const ssaClaims = await verifySoftwareStatementSignature(softwareStatement, directory, keys, policy.signingAlgs);
    const ssa = checkSoftwareStatementClaims(ssaClaims, at, policy);

    // Rule 1 (binding): the certificate holder is the software the SSA names.
    const bindingWarning = checkCertificateBinding(certificate, ssa, policy.certificateBinding);
    if (bindingWarning)
      logger.warn({ softwareId: ssa.software_id, rule: 'rule 1 certificate binding' }, bindingWarning);

    // Rules 2 (signature) and 3: the request itself.
    const reservations: ValidatedRegistration['reservations'] = [];
    let claims = unverified;
    if (body.format === 'jws') {
      claims = await verifyRequestSignature(body.jws, ssa, keys, policy.signingAlgs);
      checkRequestLifetime(claims, at, policy);
      const jti = checkRequestJti(claims);
      checkRequestIssuer(claims, ssa);
      checkRequestAudience(claims, policy.acceptedAudiences);
      const expiresInMs = ((claims.exp as number) + policy.clockSkewSeconds) * 1000 - at.getTime();
      reservations.push({
        scope: 'request',
        value: `${ssa.software_id}|${jti}`,
        ttlMs: expiresInMs,
        rule: 'rule 3 jti',
        code: 'invalid_client_metadata',
      });
    }

    // Rule 4 (claims).
    checkOrganisationStatus(ssa);
    checkSoftwareIdMatches(claims, ssa);
    const ssaReusedByThisClient = existing !== undefined && existing.softwareStatementClaims.jti === ssa.jti;
    if (policy.ssaReplayCheck && ssa.jti !== undefined && !ssaReusedByThisClient) {
      const value = `${ssa.iss}|${ssa.jti}`;
      if (await replay.seen('ssa', value)) {
        throw new RegistrationError(
          'invalid_software_statement',
          'rule 4 SSA jti',
          'the software statement was already used',
        );
      }
      const ttlMs = (ssa.iat + policy.ssaMaxAgeSeconds + policy.clockSkewSeconds) * 1000 - at.getTime();
      reservations.push({ scope: 'ssa', value, ttlMs, rule: 'rule 4 SSA jti', code: 'invalid_software_statement' });
    }

    // Rules 5 to 9: the client metadata.
    const redirectUris = checkRedirectUris(claims, ssa, policy);
    checkTokenEndpointAuth(claims, policy);
    checkSubjectDnMatchesCertificate(claims, certificate);
    const { grantTypes, responseTypes } = checkGrantAndResponseTypes(claims);
    checkMetadataAlgorithms(claims, policy.signingAlgs);
    const applicationType = checkApplicationType(claims, policy.applicationTypes);
    const scope = checkScope(claims, ssa, policy.scopesByRole);
    checkCibaMetadata(claims, grantTypes, policy.signingAlgs);
    const senderConstraint = checkSenderConstraint(claims);
    const jwksUri = checkClientKeys(claims, ssa);
    checkOptionalMetadata(claims);

    const metadata = storedMetadataOf(claims, {
      client_name: policy.useSoftwareIdAsClientName ? ssa.software_id : (ssa.software_client_name ?? ssa.software_id),
      redirect_uris: redirectUris,
      token_endpoint_auth_method: claims.token_endpoint_auth_method,
      grant_types: grantTypes,
      response_types: responseTypes,
      scope,
      application_type: applicationType,
      id_token_signed_response_alg: claims.id_token_signed_response_alg,
      request_object_signing_alg: claims.request_object_signing_alg,
      ...senderConstraint,
      jwks_uri: jwksUri,
      software_id: ssa.software_id,
    });
    return { softwareStatement, ssa, directory, metadata, certificate, reservations };
  }

  /** Last step before storing: `SET NX` each jti, so a refused request leaves no trace. */
  async function reserve(validated: ValidatedRegistration): Promise<void> {
    for (const reservation of validated.reservations) {
      if (!(await replay.claim(reservation.scope, reservation.value, reservation.ttlMs))) {
        throw new RegistrationError(reservation.code, reservation.rule, 'this jti was already used (replay)');
      }
    }
  }

  /**
   * OBIE DCR 3.3: a client_credentials access token that auth-server issued to this very client,
   * bound to the certificate presented now (RFC 8705 §3: `cnf.x5t#S256`).
   */
  async function holdsClientCredentialsToken(
    client: RegisteredClient,
    token: string,
    certificate: PresentedCertificate,
  ): Promise<boolean> {
    const record = await options.accessTokens.find(token);
    return (
      record !== undefined &&
      record.grantType === 'client_credentials' &&
      record.clientId === client.clientId &&
      record.cnf?.['x5t#S256'] === certificate.thumbprintS256
    );
  }

  async function authenticate(command: ManageCommand): Promise<RegisteredClient> {
    const certificate = requireClientCertificate(command.certificate);
    checkCertificateChain(certificate, trust().trustedCas, now());
    if (!command.token) throw new RegistrationAccessError('a registration access token is required', false);
    const hash = hashToken(command.token);
    const client = await clients.findById(command.clientId);
    const holdsRegistrationToken =
      client?.registrationAccessTokenHash !== undefined && hashesEqual(client.registrationAccessTokenHash, hash);
    if (client && (holdsRegistrationToken || (await holdsClientCredentialsToken(client, command.token, certificate)))) {
      // Rule 1 again: the caller holds a certificate of the registered software.
      const claims = client.softwareStatementClaims as Pick<SoftwareStatement, 'software_id' | 'org_id'>;
      const warning = checkCertificateBinding(certificate, claims, policy.certificateBinding);
      if (warning) logger.warn({ clientId: client.clientId, rule: 'rule 1 certificate binding' }, warning);
      checkClientMayManage(client);
      return client;
    }
    // OBIE DCR 3.3 (GET/PUT/DELETE): a client_credentials token presented for an unknown client
    // or for another client is answered 401 and revoked at once.
    const accessToken = await options.accessTokens.find(command.token);
    if (accessToken) await options.accessTokens.revoke(command.token);
    // RFC 7592 §2.1-2.3 and OBIE DCR: unknown client or a token of another client → 401, and
    // the presented token is revoked.
    const holder = await clients.findByRegistrationTokenHash(hash);
    if (holder) {
      await clients.revokeRegistrationToken(holder.clientId, {
        action: 'revoke_registration_token',
        actor: 'dcr-service',
        fields: ['registration_access_token'],
        note: 'presented for another client id',
      });
    }
    throw new RegistrationAccessError('the token is not valid for this client', true);
  }

  function actorOf(ssa: Pick<SoftwareStatement, 'software_id'>): string {
    return `tpp:${ssa.software_id}`;
  }

  return {
    async register({ body, certificate }) {
      const validated = await validate(body, certificate);
      await reserve(validated);
      const at = now();
      const token = newSecret();
      const client: RegisteredClient = {
        clientId: newClientId(),
        status: 'active',
        statusReason: '',
        softwareId: validated.ssa.software_id,
        orgId: validated.ssa.org_id,
        environment: validated.ssa.software_environment ?? validated.directory.environment,
        directoryIssuer: validated.directory.issuer,
        metadata: validated.metadata,
        softwareStatement: validated.softwareStatement,
        softwareStatementClaims: validated.ssa,
        registrationAccessTokenHash: hashToken(token),
        certificate: {
          subjectDn: validated.certificate.subjectDn,
          thumbprintS256: validated.certificate.thumbprintS256,
        },
        createdAt: at,
        updatedAt: at,
      };
      await clients.create(client, {
        action: 'create',
        actor: actorOf(validated.ssa),
        fields: Object.keys(client.metadata),
      });
      return { client, registrationAccessToken: token };
    },

    read: authenticate,

    async update(command) {
      const existing = await authenticate(command);
      const validated = await validate(command.body, command.certificate, existing);
      // OBIE DCR PUT: the ASPSP may refuse changes to some claims; these identify the software.
      if (validated.ssa.software_id !== existing.softwareId || validated.ssa.org_id !== existing.orgId) {
        throw new RegistrationError(
          'invalid_client_metadata',
          'update immutable claims',
          'software_id and org_id cannot change; register the new software instead',
        );
      }
      if (command.body.format === 'jws') {
        const requested = decodeUnverified(command.body.jws).client_id;
        if (requested !== undefined && requested !== existing.clientId) {
          throw new RegistrationError('invalid_client_metadata', 'update immutable claims', 'client_id cannot change');
        }
      }
      await reserve(validated);
      const token = policy.rotateRegistrationAccessToken ? newSecret() : undefined;
      const audit: AuditEvent = {
        action: 'update',
        actor: actorOf(validated.ssa),
        fields: changedFields(existing.metadata, validated.metadata),
      };
      const updated = await clients.update(
        existing.clientId,
        {
          metadata: validated.metadata,
          softwareStatement: validated.softwareStatement,
          softwareStatementClaims: validated.ssa,
          environment: validated.ssa.software_environment ?? validated.directory.environment,
          directoryIssuer: validated.directory.issuer,
          certificate: {
            subjectDn: validated.certificate.subjectDn,
            thumbprintS256: validated.certificate.thumbprintS256,
          },
          ...(token === undefined ? {} : { registrationAccessTokenHash: hashToken(token) }),
        },
        audit,
      );
      // Deleted while we validated: as for any unknown client.
      if (!updated) throw new RegistrationAccessError('the token is not valid for this client', true);
      return token === undefined ? { client: updated } : { client: updated, registrationAccessToken: token };
    },

    async remove(command) {
      const client = await authenticate(command);
      // Queued before the delete: a crash in between leaves a client whose tokens are revoked
      // (the TPP retries DELETE), never a deleted client with live tokens.
      await options.revocation.revokeClientTokens(client.clientId, 'client_deleted');
      await clients.delete(client.clientId, {
        action: 'delete',
        actor: `tpp:${client.softwareId}`,
        fields: Object.keys(client.metadata),
      });
    },
  };
}

function decodeUnverified(jws: string): Claims {
  try {
    return decodeJwt(jws) as Claims;
  } catch (cause) {
    throw new RegistrationError(
      'invalid_client_metadata',
      'rule 2 request JWS',
      'the payload is not a JSON object',
      cause,
    );
  }
}

/**
 * The metadata stored for a client: the values the rules checked and normalised, then the
 * optional metadata the rules allow, as presented. Anything else the client sent is dropped.
 * Shared with administrator onboarding (`clients.service.ts`), so both store the same shape.
 */
export function storedMetadataOf(claims: Claims, normalised: Record<string, unknown>): Record<string, unknown> {
  const metadata: Record<string, unknown> = { ...normalised };
  for (const name of [
    'token_endpoint_auth_signing_alg',
    'tls_client_auth_subject_dn',
    'backchannel_token_delivery_mode',
    'backchannel_client_notification_endpoint',
    'backchannel_authentication_request_signing_alg',
    'backchannel_user_code_parameter',
    ...PASSTHROUGH_METADATA,
  ]) {
    if (claims[name] !== undefined && !REQUEST_ONLY_CLAIMS.has(name)) metadata[name] = claims[name];
  }
  return metadata;
}

/** 24 random bytes: 32 base64url characters, within OBIE's 36. */
export function newClientId(): string {
  return randomBytes(24).toString('base64url');
}

function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** ARCHITECTURE: token values are never stored, only SHA-256 of them. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

function hashesEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

function changedFields(before: Record<string, unknown>, after: Record<string, unknown>): string[] {
  const names = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...names].filter((name) => JSON.stringify(before[name]) !== JSON.stringify(after[name])).sort();
}
