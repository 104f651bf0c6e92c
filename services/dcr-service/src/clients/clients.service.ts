/**
 * Client administration (issue 8, behind config-api's `/v1/clients`): onboard a TPP that does
 * not use dynamic registration, and move clients through their lifecycle. Written against the
 * ClientRepository port; `clients.grpc.ts` is its only caller.
 *
 * Onboarding applies the client metadata rules of DCR registration (`registration.rules.ts`,
 * rules 5 to 9) in the order registration applies them. What a software statement would vouch
 * for there (the redirect URIs and roles it lists, the key set at its `software_jwks_endpoint`,
 * the certificate the DN must match) the administrator vouches for here, and approves the client
 * afterwards: it is stored pending.
 */
import { BadRequestError } from '@obip/errors';
import { RegistrationError } from '../registration/registration.errors';
import {
  CIBA_GRANT,
  checkApplicationType,
  checkCibaMetadata,
  checkGrantAndResponseTypes,
  checkMetadataAlgorithms,
  checkOnboardedClientKeys,
  checkOptionalMetadata,
  checkRedirectUris,
  checkScope,
  checkSenderConstraint,
  checkTokenEndpointAuth,
  type Claims,
  type RegistrationPolicy,
} from '../registration/registration.rules';
import { newClientId, storedMetadataOf } from '../registration/registration.service';
import { ClientNotFoundError, ConcurrentStatusChangeError } from './clients.errors';
import type { AuditEvent, ClientProfile, ClientRepository, ClientStatus, RegisteredClient } from './clients.repository';
import { checkStatusTransition } from './clients.rules';

/** As OBIE DCR limits a registration request: client metadata is at most 64 KiB. */
const MAX_METADATA_BYTES = 64 * 1024;
/** A status change that loses the compare-and-set is decided again this many times at most. */
const MAX_STATUS_ATTEMPTS = 3;

export interface ClientAdministrationOptions {
  clients: ClientRepository;
  /** The registration policy (settings), of which the client metadata rules use these parts. */
  policy: Pick<
    RegistrationPolicy,
    'signingAlgs' | 'authMethods' | 'applicationTypes' | 'scopesByRole' | 'allowLoopbackRedirectUris'
  >;
  now?: () => Date;
}

export interface OnboardCommand {
  /** RFC 7591 client metadata, as a JSON object. */
  metadataJson: string;
  softwareId: string;
  orgId: string;
  /** Who onboards the client (admin subject or service name), for the audit trail. */
  actor: string;
  /** Why, for the audit trail and as the client's status reason. */
  reason: string;
  /** Undefined for the platform default. */
  fapiProfile?: ClientProfile;
  /** The bank's own application: auth-server shows it no consent page (see RegisteredClient). */
  firstParty?: boolean;
}

export interface SetStatusCommand {
  clientId: string;
  status: ClientStatus;
  reason: string;
  actor: string;
}

export interface ClientAdministration {
  /** Validates the metadata, issues a client_id and stores the client pending. */
  onboard(command: OnboardCommand): Promise<RegisteredClient>;
  /**
   * Applies one lifecycle transition (`clients.rules.ts`) atomically; the client's own status is
   * a no-op. ClientNotFoundError, StatusTransitionError or ConcurrentStatusChangeError otherwise.
   */
  setStatus(command: SetStatusCommand): Promise<RegisteredClient>;
}

/**
 * @example
 * const administration = createClientAdministration({ clients, policy: policyFromSettings(settings) });
 * const client = await administration.onboard({ metadataJson, softwareId, orgId, actor: 'admin:alice', reason: 'contract 42' });
 */
export function createClientAdministration(options: ClientAdministrationOptions): ClientAdministration {
  const { clients, policy } = options;
  const now = options.now ?? (() => new Date());

  /** Rules 5 to 9 on administrator-supplied metadata; returns the metadata to store. */
  function validateMetadata(claims: Claims, softwareId: string): Record<string, unknown> {
    const { grantTypes, responseTypes } = checkGrantAndResponseTypes(claims);
    // A client that only uses client_credentials (e.g. an administrator client) acts for no
    // customer: it never redirects, gets no ID token and sends no request object.
    const actsForCustomers = grantTypes.some((grant) => grant === 'authorization_code' || grant === CIBA_GRANT);
    const redirectUris =
      actsForCustomers || claims.redirect_uris !== undefined ? checkRedirectUris(claims, undefined, policy) : [];
    checkTokenEndpointAuth(claims, policy);
    if (
      actsForCustomers ||
      claims.id_token_signed_response_alg !== undefined ||
      claims.request_object_signing_alg !== undefined
    ) {
      checkMetadataAlgorithms(claims, policy.signingAlgs);
    }
    const applicationType = checkApplicationType(claims, policy.applicationTypes);
    const scope = checkScope(claims, undefined, policy.scopesByRole, grantTypes);
    checkCibaMetadata(claims, grantTypes, policy.signingAlgs);
    const keys = checkOnboardedClientKeys(claims);
    checkOptionalMetadata(claims);
    return storedMetadataOf(claims, {
      client_name: checkClientName(claims) ?? softwareId,
      redirect_uris: redirectUris,
      token_endpoint_auth_method: claims.token_endpoint_auth_method,
      grant_types: grantTypes,
      response_types: responseTypes,
      scope,
      application_type: applicationType,
      id_token_signed_response_alg: claims.id_token_signed_response_alg,
      request_object_signing_alg: claims.request_object_signing_alg,
      // An onboarded client without a TLS client certificate (the bank's own portal) asks for DPoP.
      ...checkSenderConstraint(claims),
      ...keys,
      software_id: softwareId,
    });
  }

  return {
    async onboard(command) {
      const softwareId = requireArgument(command.softwareId, 'software_id');
      const orgId = requireArgument(command.orgId, 'org_id');
      const claims = parseMetadata(command.metadataJson);
      checkMetadataSoftwareId(claims, softwareId);
      const metadata = validateMetadata(claims, softwareId);
      const at = now();
      const client: RegisteredClient = {
        clientId: newClientId(),
        status: 'pending',
        statusReason: command.reason,
        softwareId,
        orgId,
        environment: '',
        directoryIssuer: '',
        metadata,
        softwareStatement: '',
        softwareStatementClaims: {},
        registrationAccessTokenHash: undefined,
        certificate: { subjectDn: '', thumbprintS256: '' },
        ...(command.fapiProfile ? { fapiProfile: command.fapiProfile } : {}),
        ...(command.firstParty === true ? { firstParty: true } : {}),
        createdAt: at,
        updatedAt: at,
      };
      await clients.create(client, {
        action: 'create',
        actor: command.actor || 'unknown',
        fields: Object.keys(metadata),
        note: command.reason,
      });
      return client;
    },

    async setStatus({ clientId, status, reason, actor }) {
      const audit: AuditEvent = { action: 'set_status', actor: actor || 'unknown', fields: ['status'], note: reason };
      for (let attempt = 0; attempt < MAX_STATUS_ATTEMPTS; attempt += 1) {
        const current = await clients.findById(requireArgument(clientId, 'client_id'));
        if (!current) throw new ClientNotFoundError();
        if (current.status === status) return current;
        checkStatusTransition(current.status, status);
        const updated = await clients.setStatus(clientId, { from: current.status, to: status, reason }, audit);
        if (updated) return updated;
        // Changed or deleted since it was read: decide again from what is stored now.
      }
      throw new ConcurrentStatusChangeError();
    },
  };
}

function requireArgument(value: string, name: string): string {
  if (value === '') throw new BadRequestError(`${name} is required`, { code: 'invalid_argument' });
  return value;
}

function parseMetadata(json: string): Claims {
  const fail = (detail: string, cause?: unknown) =>
    new RegistrationError('invalid_client_metadata', 'metadata_json', detail, cause);
  if (Buffer.byteLength(json, 'utf8') > MAX_METADATA_BYTES) throw fail('larger than 64 KiB');
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (cause) {
    throw fail('not valid JSON', cause);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw fail('must be a JSON object');
  }
  return value as Claims;
}

/** As rule 4f for a DCR request: a `software_id` in the metadata is the one being onboarded. */
function checkMetadataSoftwareId(claims: Claims, softwareId: string): void {
  if (claims.software_id !== undefined && claims.software_id !== softwareId) {
    throw new RegistrationError(
      'invalid_client_metadata',
      'software_id',
      'metadata_json names another software_id than the request',
    );
  }
}

/** RFC 7591 §2 `client_name`: a string meant for people; at most 256 characters here. */
function checkClientName(claims: Claims): string | undefined {
  const name = claims.client_name;
  if (name === undefined) return undefined;
  if (typeof name !== 'string' || name.trim() === '' || name.length > 256) {
    throw new RegistrationError(
      'invalid_client_metadata',
      'client_name',
      'must be a non-empty string of at most 256 characters',
    );
  }
  return name;
}
