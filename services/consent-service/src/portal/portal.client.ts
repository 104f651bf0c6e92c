/**
 * The portal as a client of the platform (issue 5: "consent-service is itself a registered,
 * confidential client"): it registers itself at dcr-service through the administrator path
 * (clients.v1 CreateClient, first-party, then SetClientStatus ACTIVE) and remembers the
 * client_id in its own database, so that every replica and every restart uses one registration.
 * Written against two ports; `portal.registry.grpc.ts` and `portal.client.mongo.ts` implement them.
 */
import { createHash } from 'node:crypto';
import type { JWK } from 'jose';
import { DependencyUnavailableError } from '@obip/errors';
import type { PortalKeyAlg } from './portal.keys';

/** The software the portal registers as (clients.v1 software_id / org_id). */
export const PORTAL_SOFTWARE = { softwareId: 'obip-customer-portal', orgId: 'obip-platform' } as const;

export type RegisteredClientStatus = 'active' | 'pending' | 'suspended' | 'rejected';

/** dcr-service's ClientRegistry, as far as the portal's registration needs it. */
export interface PortalClientRegistry {
  /** Onboards a first-party FAPI 2.0 client, stored pending; its new client_id. */
  createFirstPartyClient(request: {
    metadata: Record<string, unknown>;
    softwareId: string;
    orgId: string;
    reason: string;
  }): Promise<string>;
  /** The client's status; undefined when no such client exists. */
  statusOf(clientId: string): Promise<RegisteredClientStatus | undefined>;
  setStatus(clientId: string, status: Exclude<RegisteredClientStatus, 'pending'>, reason: string): Promise<void>;
}

/** Which registration the portal uses, and for which metadata. */
export interface PortalRegistrationRecord {
  clientId: string;
  /** SHA-256 of the registered metadata: a change (new key, new redirect URI) registers again. */
  metadataHash: string;
}

/** Where the portal remembers its registration (its own MongoDB). */
export interface PortalRegistrationStore {
  find(): Promise<PortalRegistrationRecord | undefined>;
  /**
   * Stores `record` if the stored registration is still `previousClientId` (none: if there is
   * none yet), in one conditional write: of replicas registering at once, exactly one wins.
   */
  replace(record: PortalRegistrationRecord, previousClientId: string | undefined): Promise<boolean>;
}

export interface PortalClientMetadataInput {
  clientName: string;
  redirectUri: string;
  signingAlg: PortalKeyAlg;
  publicJwks: { keys: JWK[] };
}

/**
 * The portal's client metadata (RFC 7591 names): FAPI 2.0 authorization code with PAR and
 * PKCE, private_key_jwt (FAPI 2.0 SP 5.3.2.1-5), DPoP-bound tokens (RFC 9449 §5.2), since
 * the portal has no TLS client certificate; OpenID only, no API scope.
 *
 * @example
 * portalClientMetadata({ clientName: 'Connected apps', redirectUri: 'https://bank.example/portal/callback', signingAlg: 'ES256', publicJwks });
 */
export function portalClientMetadata(input: PortalClientMetadataInput): Record<string, unknown> {
  return {
    client_name: input.clientName,
    redirect_uris: [input.redirectUri],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    scope: 'openid',
    token_endpoint_auth_method: 'private_key_jwt',
    token_endpoint_auth_signing_alg: input.signingAlg,
    id_token_signed_response_alg: 'PS256',
    // Required by the registration rules (OBIE DCR); the portal sends no request object.
    request_object_signing_alg: input.signingAlg,
    dpop_bound_access_tokens: true,
    jwks: input.publicJwks,
  };
}

/** SHA-256 of the metadata as registered (key order is the builder's, so stable). */
export function metadataHashOf(metadata: Record<string, unknown>): string {
  return createHash('sha256').update(JSON.stringify(metadata)).digest('base64url');
}

/**
 * The portal's registration is suspended or rejected at dcr-service: an administrator decided
 * so, and the portal does not register around that decision. Sign-in answers 503 until it is
 * reinstated.
 */
export class PortalClientUnavailableError extends DependencyUnavailableError {
  constructor(status: RegisteredClientStatus) {
    super(`the portal's registration is ${status}; an administrator must reinstate it`, {
      code: 'portal_client_unavailable',
    });
  }
}

export interface PortalClientOptions {
  registry: PortalClientRegistry;
  store: PortalRegistrationStore;
  metadata: Record<string, unknown>;
  /** Told when an older registration was replaced (new key or redirect URI) and retired. */
  onReplaced?: (retired: string, current: string) => void;
}

export interface PortalClient {
  /** The portal's client_id, registering or activating it first when needed. */
  clientId(): Promise<string>;
  /** Forgets the resolved client_id (auth-server refused it), so the next call checks again. */
  forget(): void;
}

/** Lost races in a row before giving up: each loss means another replica made progress. */
const MAX_ATTEMPTS = 3;
const REASON = 'consent-service customer portal (issue 5)';

/**
 * Resolves the portal's client_id once per process (again after a failure or `forget`):
 *
 * 1. the stored registration, if its metadata is the current one: active is used; pending (a
 *    start interrupted between create and approve) is approved; suspended or rejected stops
 *    sign-in ({@link PortalClientUnavailableError}); gone (deleted) is registered again;
 * 2. otherwise a new first-party client is created and claimed with a conditional write; the
 *    winner approves it and retires the registration it replaces, a loser rejects its own and
 *    uses the winner's.
 *
 * @example
 * const portalClient = createPortalClient({ registry, store, metadata });
 * const clientId = await portalClient.clientId();
 */
export function createPortalClient(options: PortalClientOptions): PortalClient {
  const { registry, store, metadata } = options;
  const metadataHash = metadataHashOf(metadata);
  let resolved: Promise<string> | undefined;

  async function resolve(): Promise<string> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt += 1) {
      const stored = await store.find();
      if (stored?.metadataHash === metadataHash) {
        const status = await registry.statusOf(stored.clientId);
        if (status === 'active') return stored.clientId;
        if (status === 'pending') {
          await registry.setStatus(stored.clientId, 'active', REASON);
          return stored.clientId;
        }
        if (status !== undefined) throw new PortalClientUnavailableError(status);
      }
      const clientId = await registry.createFirstPartyClient({ metadata, ...PORTAL_SOFTWARE, reason: REASON });
      if (await store.replace({ clientId, metadataHash }, stored?.clientId)) {
        await registry.setStatus(clientId, 'active', REASON);
        if (stored) await retire(stored.clientId, clientId);
        return clientId;
      }
      // Another replica registered first: withdraw ours and use theirs.
      await registry.setStatus(clientId, 'rejected', 'another replica registered the portal first').catch(() => {});
    }
    throw new DependencyUnavailableError('the portal could not settle its registration', {
      code: 'portal_client_unavailable',
    });
  }

  /** Suspends a replaced registration (best effort: it already no longer serves sign-in). */
  async function retire(previous: string, current: string): Promise<void> {
    const status = await registry.statusOf(previous).catch(() => undefined);
    if (status === 'active') {
      await registry.setStatus(previous, 'suspended', 'replaced by a new portal registration').catch(() => {});
    }
    options.onReplaced?.(previous, current);
  }

  return {
    clientId() {
      resolved ??= resolve().catch((error: unknown) => {
        resolved = undefined;
        throw error;
      });
      return resolved;
    },
    forget() {
      resolved = undefined;
    },
  };
}
