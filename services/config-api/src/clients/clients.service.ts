import { z } from 'zod';
import { clientsV1 } from '@obip/contracts';
import { ConflictError, DomainError } from '@obip/errors';
import type { AdminPrincipal } from '../access/access.tokens';
import type { AuditTrail } from '../audit/audit.service';
import { parseBody } from '../http/validation';

/** The two peers manual onboarding works through (ports; gRPC adapters in clients.grpc.ts). */
export interface ClientRegistryPort {
  create(request: clientsV1.CreateClientRequest): Promise<clientsV1.Client>;
  get(clientId: string): Promise<clientsV1.Client>;
  list(request: clientsV1.ListClientsRequest): Promise<clientsV1.ListClientsResponse>;
  setStatus(request: clientsV1.SetClientStatusRequest): Promise<clientsV1.Client>;
}

export interface TokenRevokerPort {
  /** Revokes every token and grant of the client; resolves with how many. */
  revokeByClient(clientId: string, reason: string): Promise<number>;
}

const STATUS_NAMES: Record<number, ClientStatusName> = {
  [clientsV1.ClientStatus.CLIENT_STATUS_ACTIVE]: 'active',
  [clientsV1.ClientStatus.CLIENT_STATUS_SUSPENDED]: 'suspended',
  [clientsV1.ClientStatus.CLIENT_STATUS_PENDING]: 'pending',
  [clientsV1.ClientStatus.CLIENT_STATUS_REJECTED]: 'rejected',
};
export type ClientStatusName = 'active' | 'suspended' | 'pending' | 'rejected';
const STATUS_VALUES: Record<ClientStatusName, clientsV1.ClientStatus> = {
  active: clientsV1.ClientStatus.CLIENT_STATUS_ACTIVE,
  suspended: clientsV1.ClientStatus.CLIENT_STATUS_SUSPENDED,
  pending: clientsV1.ClientStatus.CLIENT_STATUS_PENDING,
  rejected: clientsV1.ClientStatus.CLIENT_STATUS_REJECTED,
};

const PROFILES = {
  'fapi1-advanced': clientsV1.FapiProfile.FAPI_PROFILE_FAPI1_ADVANCED,
  'fapi2-security': clientsV1.FapiProfile.FAPI_PROFILE_FAPI2_SECURITY,
  'fapi2-message-signing': clientsV1.FapiProfile.FAPI_PROFILE_FAPI2_MESSAGE_SIGNING,
} as const;
const PROFILE_NAMES = Object.fromEntries(Object.entries(PROFILES).map(([name, value]) => [value, name])) as Record<
  number,
  keyof typeof PROFILES
>;

export const clientInputSchema = z
  .object({
    metadata: z
      .record(z.string(), z.unknown())
      .describe('RFC 7591 client metadata; dcr-service applies the registration rules'),
    softwareId: z.string().min(1).max(200),
    orgId: z.string().min(1).max(200),
    fapiProfile: z.enum(['fapi1-advanced', 'fapi2-security', 'fapi2-message-signing']).optional(),
    reason: z.string().max(500).optional(),
  })
  .strict();

export const statusChangeSchema = z.object({ reason: z.string().min(1).max(500) }).strict();

export const clientListQuerySchema = z
  .object({
    status: z.enum(['active', 'suspended', 'pending', 'rejected']).optional(),
    orgId: z.string().max(200).optional(),
    softwareId: z.string().max(200).optional(),
    pageSize: z.coerce.number().int().min(1).max(100).default(20),
    pageToken: z.string().max(500).optional(),
  })
  .strict();

/** The admin actions on a client and the status each asks for. */
export const CLIENT_ACTIONS = {
  approve: 'active',
  reject: 'rejected',
  suspend: 'suspended',
  reactivate: 'active',
} as const satisfies Record<string, ClientStatusName>;
export type ClientAction = keyof typeof CLIENT_ACTIONS;

/** The client as the admin API shows it. */
export function clientView(client: clientsV1.Client) {
  return {
    clientId: client.clientId,
    status: STATUS_NAMES[client.status] ?? 'unknown',
    statusReason: client.statusReason,
    softwareId: client.softwareId,
    orgId: client.orgId,
    fapiProfile: PROFILE_NAMES[client.fapiProfile] ?? null,
    metadata: JSON.parse(client.metadataJson || '{}') as Record<string, unknown>,
    createdAt: new Date(client.createdAt * 1000).toISOString(),
    updatedAt: new Date(client.updatedAt * 1000).toISOString(),
  };
}

function actorOf(principal: AdminPrincipal): string {
  return principal.clientId ? `${principal.subject} (via ${principal.clientId})` : principal.subject;
}

/**
 * Manual onboarding of TPP clients that do not use DCR, through dcr-service's ClientRegistry:
 * create (pending), approve or reject, suspend or reactivate. Suspending also revokes every
 * token of the client at auth-server; if that call fails the client stays suspended (it cannot
 * authenticate) and the admin is told to retry, which is safe: suspending again changes nothing
 * and revokes again.
 *
 * @example
 * const created = await clients.create(principal, { metadata, softwareId, orgId });
 * await clients.act(principal, created.clientId, 'approve', { reason: 'contract signed' });
 */
export function createClientOnboarding(options: {
  registry: ClientRegistryPort;
  tokens: TokenRevokerPort;
  audit: AuditTrail;
}) {
  const { registry, tokens, audit } = options;

  return {
    async create(actor: AdminPrincipal, body: unknown) {
      const input = parseBody(clientInputSchema, body, 'the client is not valid');
      const client = await registry.create({
        metadataJson: JSON.stringify(input.metadata),
        softwareId: input.softwareId,
        orgId: input.orgId,
        actor: actorOf(actor),
        reason: input.reason ?? 'onboarded through config-api',
        fapiProfile: input.fapiProfile ? PROFILES[input.fapiProfile] : clientsV1.FapiProfile.FAPI_PROFILE_UNSPECIFIED,
      });
      const view = clientView(client);
      await audit.record({
        actor,
        action: 'client.create',
        resource: 'client',
        resourceId: view.clientId,
        before: undefined,
        after: view,
      });
      return view;
    },

    async get(clientId: string) {
      return clientView(await registry.get(clientId));
    },

    async list(query: unknown) {
      const input = parseBody(clientListQuerySchema, query, 'the client query is not valid');
      const page = await registry.list({
        pageSize: input.pageSize,
        pageToken: input.pageToken ?? '',
        orgId: input.orgId ?? '',
        softwareId: input.softwareId ?? '',
        status: input.status ? STATUS_VALUES[input.status] : clientsV1.ClientStatus.CLIENT_STATUS_UNSPECIFIED,
      });
      return { clients: page.clients.map(clientView), nextPageToken: page.nextPageToken || null };
    },

    async act(actor: AdminPrincipal, clientId: string, action: ClientAction, body: unknown) {
      const { reason } = parseBody(statusChangeSchema, body, 'the status change is not valid');
      const before = clientView(await registry.get(clientId));
      let after;
      try {
        after = clientView(
          await registry.setStatus({
            clientId,
            status: STATUS_VALUES[CLIENT_ACTIONS[action]],
            reason,
            actor: actorOf(actor),
          }),
        );
      } catch (error) {
        // dcr-service refuses a transition its rules forbid (e.g. approving a rejected client):
        // in REST terms a conflict with the resource's state.
        if (error instanceof DomainError && error.code === 'invalid_status_transition') {
          throw new ConflictError(error.description, { code: 'invalid_status_transition', cause: error });
        }
        throw error;
      }
      await audit.record({
        actor,
        action: `client.${action}`,
        resource: 'client',
        resourceId: clientId,
        before,
        after,
      });
      const revokedTokens =
        action === 'suspend' ? await tokens.revokeByClient(clientId, `suspended: ${reason}`) : undefined;
      return { ...after, ...(revokedTokens === undefined ? {} : { revokedTokens }) };
    },
  };
}

export type ClientOnboarding = ReturnType<typeof createClientOnboarding>;
