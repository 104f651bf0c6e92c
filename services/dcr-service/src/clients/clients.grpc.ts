import { clientsV1 } from '@obip/contracts';
import { BadRequestError } from '@obip/errors';
import type { ServiceHandlers } from '@obip/grpc';
import { ClientNotFoundError } from './clients.errors';
import type { ClientProfile, ClientRepository, ClientStatus, RegisteredClient } from './clients.repository';
import type { ClientAdministration } from './clients.service';

const DEFAULT_PAGE_SIZE = 20;
const MAX_PAGE_SIZE = 100;

export interface ClientRegistryOptions {
  clients: ClientRepository;
  /** CreateClient and SetClientStatus: onboarding and the lifecycle rules. */
  administration: ClientAdministration;
  /** The client's key set from its jwks_uri, for GetClient; undefined when it cannot be fetched now. */
  resolveJwks(jwksUri: string): Promise<object | undefined>;
}

const STATUS_TO_PROTO: Record<ClientStatus, clientsV1.ClientStatus> = {
  active: clientsV1.ClientStatus.CLIENT_STATUS_ACTIVE,
  suspended: clientsV1.ClientStatus.CLIENT_STATUS_SUSPENDED,
  pending: clientsV1.ClientStatus.CLIENT_STATUS_PENDING,
  rejected: clientsV1.ClientStatus.CLIENT_STATUS_REJECTED,
};

const PROFILE_TO_PROTO: Record<ClientProfile, clientsV1.FapiProfile> = {
  'fapi1-advanced': clientsV1.FapiProfile.FAPI_PROFILE_FAPI1_ADVANCED,
  'fapi2-security': clientsV1.FapiProfile.FAPI_PROFILE_FAPI2_SECURITY,
  'fapi2-message-signing': clientsV1.FapiProfile.FAPI_PROFILE_FAPI2_MESSAGE_SIGNING,
};

function statusFromProto(status: clientsV1.ClientStatus): ClientStatus | undefined {
  switch (status) {
    case clientsV1.ClientStatus.CLIENT_STATUS_ACTIVE:
      return 'active';
    case clientsV1.ClientStatus.CLIENT_STATUS_SUSPENDED:
      return 'suspended';
    case clientsV1.ClientStatus.CLIENT_STATUS_PENDING:
      return 'pending';
    case clientsV1.ClientStatus.CLIENT_STATUS_REJECTED:
      return 'rejected';
    default:
      return undefined;
  }
}

/** UNSPECIFIED is the platform default (undefined); a value this build does not know is refused. */
function profileFromProto(profile: clientsV1.FapiProfile): ClientProfile | undefined {
  if (profile === clientsV1.FapiProfile.FAPI_PROFILE_UNSPECIFIED) return undefined;
  const found = (Object.keys(PROFILE_TO_PROTO) as ClientProfile[]).find((name) => PROFILE_TO_PROTO[name] === profile);
  if (!found) throw new BadRequestError('fapi_profile is not a known FapiProfile', { code: 'invalid_argument' });
  return found;
}

/**
 * The gRPC adapter of `clients.v1.ClientRegistry`: proto in, domain calls, proto out. Errors are
 * domain errors; `@obip/grpc` maps them to statuses in one place (not found → NOT_FOUND,
 * bad argument → INVALID_ARGUMENT, refused status transition → FAILED_PRECONDITION, store down →
 * UNAVAILABLE).
 *
 * @example
 * grpcServer.addService(clientsV1.ClientRegistryService, createClientRegistryHandlers({ clients, administration, resolveJwks }));
 */
export function createClientRegistryHandlers(
  options: ClientRegistryOptions,
): ServiceHandlers<typeof clientsV1.ClientRegistryService> {
  const { clients, administration } = options;

  // `jwks` is the key set resolved from the client's jwks_uri; a client registered by value
  // (an onboarded client's inline `jwks`) carries its own.
  const toProto = (client: RegisteredClient, jwks?: object): clientsV1.Client => {
    const keySet = jwks ?? (isObject(client.metadata.jwks) ? client.metadata.jwks : undefined);
    return {
      clientId: client.clientId,
      status: STATUS_TO_PROTO[client.status],
      softwareId: client.softwareId,
      orgId: client.orgId,
      metadataJson: JSON.stringify({ ...client.metadata, client_id: client.clientId }),
      jwksJson: keySet ? JSON.stringify(keySet) : '',
      tlsClientAuthSubjectDn:
        typeof client.metadata.tls_client_auth_subject_dn === 'string'
          ? client.metadata.tls_client_auth_subject_dn
          : '',
      fapiProfile: client.fapiProfile
        ? PROFILE_TO_PROTO[client.fapiProfile]
        : clientsV1.FapiProfile.FAPI_PROFILE_UNSPECIFIED,
      createdAt: Math.floor(client.createdAt.getTime() / 1000),
      updatedAt: Math.floor(client.updatedAt.getTime() / 1000),
      statusReason: client.statusReason,
      ...(client.firstParty ? { firstParty: true } : {}),
    };
  };

  const required = (value: string, name: string): string => {
    if (value === '') throw new BadRequestError(`${name} is required`, { code: 'invalid_argument' });
    return value;
  };

  return {
    async getClient({ clientId }) {
      const client = await clients.findById(required(clientId, 'client_id'));
      if (!client) throw new ClientNotFoundError();
      const jwksUri = client.metadata.jwks_uri;
      const jwks = typeof jwksUri === 'string' ? await options.resolveJwks(jwksUri) : undefined;
      return { client: toProto(client, jwks) };
    },

    async listClients(request) {
      const pageSize = Math.min(Math.max(request.pageSize, 0) || DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);
      const afterClientId = request.pageToken === '' ? undefined : decodePageToken(request.pageToken);
      const page = await clients.list({
        limit: pageSize + 1,
        afterClientId,
        orgId: request.orgId || undefined,
        softwareId: request.softwareId || undefined,
        status: statusFromProto(request.status),
      });
      const shown = page.slice(0, pageSize);
      const last = shown.at(-1);
      return {
        clients: shown.map((client) => toProto(client)),
        nextPageToken: page.length > pageSize && last ? encodePageToken(last.clientId) : '',
      };
    },

    async setClientStatus({ clientId, status, reason, actor }) {
      const next = statusFromProto(status);
      if (!next) {
        throw new BadRequestError('status must be ACTIVE, SUSPENDED, PENDING or REJECTED', {
          code: 'invalid_argument',
        });
      }
      const updated = await administration.setStatus({
        clientId: required(clientId, 'client_id'),
        status: next,
        reason,
        actor,
      });
      return { client: toProto(updated) };
    },

    async createClient(request) {
      const created = await administration.onboard({
        metadataJson: required(request.metadataJson, 'metadata_json'),
        softwareId: required(request.softwareId, 'software_id'),
        orgId: required(request.orgId, 'org_id'),
        actor: request.actor,
        reason: request.reason,
        fapiProfile: profileFromProto(request.fapiProfile),
        firstParty: request.firstParty === true,
      });
      return { client: toProto(created) };
    },
  };
}

function isObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Page tokens are opaque to callers: the last client id seen, base64url-encoded. */
function encodePageToken(clientId: string): string {
  return Buffer.from(`v1:${clientId}`).toString('base64url');
}

function decodePageToken(token: string): string {
  const text = Buffer.from(token, 'base64url').toString('utf8');
  if (!text.startsWith('v1:') || text.length < 4) {
    throw new BadRequestError('page_token is not valid', { code: 'invalid_argument' });
  }
  return text.slice(3);
}
