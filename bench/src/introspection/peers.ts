// The peers token-introspection calls, as real gRPC servers in the benchmark process:
// dcr-service's clients.v1.ClientRegistry (one client: the gateway, a resource server
// authenticating with tls_client_auth) and consent-service's consents.v1.Consents
// GetConsentStatus (every bench consent Authorised). The service caches both answers
// (CLIENTS_CACHE_MS, CONSENT_STATUS_CACHE_MS), so under load they see a few calls a second.
import { clientsV1, consentsV1 } from '@obip/contracts';
import { NotFoundError } from '@obip/errors';
import { createGrpcServer } from '@obip/grpc';
import { createLogger } from '@obip/observability';
import { addClientRegistry, unimplementedInBench as unimplemented } from '../harness/client-registry';
import { CONSENT_COUNT, consentIdOf, GATEWAY_CLIENT_ID, TPP_CLIENT_ID } from './fixtures';

export interface BenchPeers {
  target: string;
  /** GetClient and GetConsentStatus calls received. */
  calls(): { getClient: number; getConsentStatus: number };
  stop(): Promise<void>;
}

export async function startBenchPeers(gatewaySubjectDn: string): Promise<BenchPeers> {
  const server = createGrpcServer({
    serviceName: 'bench-peers',
    logger: createLogger({ service: 'bench-peers', level: 'silent' }),
  });
  const consents = new Set(Array.from({ length: CONSENT_COUNT }, (_, index) => consentIdOf(index)));
  const gateway: clientsV1.Client = {
    clientId: GATEWAY_CLIENT_ID,
    status: clientsV1.ClientStatus.CLIENT_STATUS_ACTIVE,
    softwareId: 'gateway-bench',
    orgId: 'bench-bank',
    jwksJson: '',
    tlsClientAuthSubjectDn: gatewaySubjectDn,
    fapiProfile: clientsV1.FapiProfile.FAPI_PROFILE_UNSPECIFIED,
    createdAt: 0,
    updatedAt: 0,
    statusReason: '',
    metadataJson: JSON.stringify({
      client_id: GATEWAY_CLIENT_ID,
      token_endpoint_auth_method: 'tls_client_auth',
      tls_client_auth_subject_dn: gatewaySubjectDn,
      obip_resource_server: true,
    }),
  };
  const calls = { getConsentStatus: 0 };
  const getClientCalls = addClientRegistry(server, [gateway]);
  server.addService(consentsV1.ConsentsService, {
    getConsentStatus: async ({ consentId }) => {
      calls.getConsentStatus += 1;
      if (!consents.has(consentId)) throw new NotFoundError('no consent has this id', { code: 'consent_not_found' });
      return { status: consentsV1.ConsentStatus.CONSENT_STATUS_AUTHORISED, clientId: TPP_CLIENT_ID, expiresAt: 0 };
    },
    getConsent: unimplemented,
    authorizeConsent: unimplemented,
    rejectConsent: unimplemented,
    consumeConsent: unimplemented,
    revokeConsent: unimplemented,
    listConsents: unimplemented,
    verifyCustomerCredentials: unimplemented,
    listCustomerAccounts: unimplemented,
    createGenericConsent: unimplemented,
    findCustomer: unimplemented,
    startAuthentication: unimplemented,
    listPendingAuthentications: unimplemented,
    decideAuthentication: unimplemented,
    getVerifiedIdentity: unimplemented,
  });
  const port = await server.listen('127.0.0.1', 0);
  return {
    target: `ipv4:///127.0.0.1:${port}`,
    calls: () => ({ getClient: getClientCalls(), ...calls }),
    stop: () => server.shutdown(0),
  };
}
