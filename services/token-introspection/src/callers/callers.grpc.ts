// dcr-service's clients.v1 ClientRegistry as the CallerRegistry port, with a short cache so that
// a resource server calling many times a second costs dcr-service one read per CLIENTS_CACHE_MS.
import { clientsV1 } from '@obip/contracts';
import { DependencyUnavailableError, DomainError } from '@obip/errors';
import { createGrpcClient, type GrpcClient } from '@obip/grpc';
import type { JSONWebKeySet } from 'jose';
import type { RegisteredCaller } from './callers.rules';
import type { CallerRegistry } from './callers.service';

export interface GrpcCallerRegistryOptions {
  /** gRPC target of dcr-service, e.g. `dns:///dcr-service-headless:50052`. */
  target: string;
  deadlineMs: number;
  /** How long a registration (or its absence) is reused. 0 disables the cache. */
  cacheMs: number;
  /** Most clients held; the oldest go first. Default 10 000. */
  maxEntries?: number;
  /** Clock in ms, for tests. */
  now?: () => number;
}

interface Entry {
  caller: RegisteredCaller | undefined;
  readAt: number;
}

/**
 * Creates the CallerRegistry adapter over gRPC; the channel connects on first use.
 *
 * @example
 * const registry = createGrpcCallerRegistry({ target: 'dns:///dcr-service:50052', deadlineMs: 1000, cacheMs: 10_000 });
 * await registry.find('gateway'); // RegisteredCaller | undefined
 */
export function createGrpcCallerRegistry(options: GrpcCallerRegistryOptions): CallerRegistry & { close(): void } {
  const now = options.now ?? Date.now;
  const maxEntries = options.maxEntries ?? 10_000;
  const client: GrpcClient<typeof clientsV1.ClientRegistryService> = createGrpcClient(clientsV1.ClientRegistryClient, {
    target: options.target,
    defaultDeadlineMs: options.deadlineMs,
    idempotentMethods: ['getClient'],
  });
  const cache = new Map<string, Entry>();
  const inFlight = new Map<string, Promise<RegisteredCaller | undefined>>();

  function read(clientId: string): Promise<RegisteredCaller | undefined> {
    let pending = inFlight.get(clientId);
    if (!pending) {
      const readAt = now();
      pending = readClient(client, clientId)
        .then((caller) => {
          if (options.cacheMs > 0) {
            cache.delete(clientId);
            if (cache.size >= maxEntries) cache.delete(cache.keys().next().value as string);
            cache.set(clientId, { caller, readAt });
          }
          return caller;
        })
        .finally(() => inFlight.delete(clientId));
      inFlight.set(clientId, pending);
    }
    return pending;
  }

  return {
    async find(clientId) {
      const cached = cache.get(clientId);
      if (cached && now() - cached.readAt < options.cacheMs) return cached.caller;
      return read(clientId);
    },
    close: () => client.close(),
  };
}

async function readClient(
  client: GrpcClient<typeof clientsV1.ClientRegistryService>,
  clientId: string,
): Promise<RegisteredCaller | undefined> {
  let response: clientsV1.GetClientResponse;
  try {
    response = await client.call('getClient', { clientId });
  } catch (error) {
    if (error instanceof DomainError && (error.kind === 'not_found' || error.kind === 'bad_request')) return undefined;
    if (error instanceof DependencyUnavailableError) throw error;
    throw new DependencyUnavailableError('dcr-service could not report the client', { cause: error });
  }
  return response.client ? toRegisteredCaller(response.client) : undefined;
}

/** Proto in, domain out. A registration whose JSON cannot be read is treated as having no metadata (so it authenticates nothing). */
export function toRegisteredCaller(client: clientsV1.Client): RegisteredCaller {
  const metadata = parseObject(client.metadataJson) ?? {};
  const jwks = asKeySet(parseObject(client.jwksJson)) ?? asKeySet(metadata.jwks);
  const jwksUri = typeof metadata.jwks_uri === 'string' ? metadata.jwks_uri : undefined;
  const subjectDn =
    client.tlsClientAuthSubjectDn ||
    (typeof metadata.tls_client_auth_subject_dn === 'string' ? metadata.tls_client_auth_subject_dn : undefined);
  return {
    clientId: client.clientId,
    active: client.status === clientsV1.ClientStatus.CLIENT_STATUS_ACTIVE,
    metadata,
    ...(jwks ? { jwks } : {}),
    ...(jwksUri ? { jwksUri } : {}),
    ...(subjectDn ? { tlsClientAuthSubjectDn: subjectDn } : {}),
  };
}

function parseObject(text: string): Record<string, unknown> | undefined {
  if (!text) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function asKeySet(value: unknown): JSONWebKeySet | undefined {
  const keys = (value as { keys?: unknown } | undefined)?.keys;
  return Array.isArray(keys) && keys.every((key) => typeof key === 'object' && key !== null)
    ? (value as JSONWebKeySet)
    : undefined;
}
