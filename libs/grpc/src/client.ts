import {
  credentials as grpcCredentials,
  Metadata,
  type ChannelCredentials,
  type ChannelOptions,
  type Client,
  type ClientOptions,
  type CallOptions,
} from '@grpc/grpc-js';
import { fromGrpcError } from './errors';
import {
  methodOf,
  parseMethodPath,
  type RequestOf,
  type ResponseOf,
  type ServerStreamMethodName,
  type ServiceShape,
  type UnaryMethodName,
} from './service-definition';

/** A ts-proto generated client class, e.g. `tokensV1.TokensClient`. */
export interface GrpcClientConstructor<S extends ServiceShape> {
  new (address: string, credentials: ChannelCredentials, options?: Partial<ClientOptions>): Client;
  readonly service: S;
}

export interface GrpcClientOptions<S extends ServiceShape> {
  /**
   * A gRPC target: `dns:///consent-service-headless.obip.svc.cluster.local:50051` (one address
   * per pod, needed for round robin) or `ipv4:///127.0.0.1:5001,127.0.0.1:5002`.
   */
  target: string;
  /** Deadline of a call that names none, in ms. Default 2 000. Every call has a deadline. */
  defaultDeadlineMs?: number;
  /**
   * Methods (the definition's keys, e.g. `getClient`) that are safe to repeat: they are retried
   * on UNAVAILABLE, up to 3 attempts with backoff. Never list a method that consumes or rotates
   * something (ConsumeConsent, code redemption).
   */
  idempotentMethods?: ReadonlyArray<UnaryMethodName<S>>;
  /**
   * `round_robin` (default) spreads calls over every address the target resolves to;
   * `pick_first` pins one connection.
   */
  loadBalancing?: 'round_robin' | 'pick_first';
  /** Client pings that notice a dead connection before a call does. */
  keepalive?: {
    /** Ping after this long without activity. Default 30 000; servers must allow it. */
    timeMs?: number;
    /** Drop the connection when a ping is not answered within this. Default 10 000. */
    timeoutMs?: number;
    /** Ping also while no call is running. Default false. */
    permitWithoutCalls?: boolean;
  };
  /** Transport security. Default insecure (in-cluster traffic, guarded by NetworkPolicies). */
  credentials?: ChannelCredentials;
  /** Extra grpc-js channel options; they win over the ones derived above. */
  channelOptions?: ChannelOptions;
}

export interface GrpcCallOptions {
  /** Overrides the client's default deadline for this call, in ms. */
  deadlineMs?: number;
  /** Request metadata, e.g. a request id. */
  metadata?: Metadata;
  /**
   * The server call this call is made on behalf of: its deadline (if sooner) and cancellation
   * propagate to this call.
   */
  parent?: CallOptions['parent'];
}

export interface GrpcStreamOptions {
  /**
   * Deadline of the whole stream, in ms. Default none: streams such as WatchConfig stay open
   * until the caller aborts or the server ends them.
   */
  deadlineMs?: number;
  metadata?: Metadata;
  /** Aborting ends the stream quietly. */
  signal?: AbortSignal;
}

export interface GrpcClient<S extends ServiceShape> {
  /**
   * Calls a request-response method. Rejects with a DomainError made by {@link fromGrpcError}.
   *
   * @example
   * const { revokedCount } = await tokens.call('revokeByConsent', { consentId, reason: 'consent_revoked' });
   */
  call<K extends UnaryMethodName<S>>(
    method: K,
    request: RequestOf<S[K]>,
    options?: GrpcCallOptions,
  ): Promise<ResponseOf<S[K]>>;
  /**
   * Calls a server-streaming method and iterates its responses. Iteration throws a DomainError
   * made by {@link fromGrpcError} when the stream fails; leaving the loop cancels the call.
   *
   * @example
   * for await (const { snapshot } of config.stream('watchConfig', { knownVersion }, { signal })) apply(snapshot);
   */
  stream<K extends ServerStreamMethodName<S>>(
    method: K,
    request: RequestOf<S[K]>,
    options?: GrpcStreamOptions,
  ): AsyncIterable<ResponseOf<S[K]>>;
  /** Closes the channel; calls in flight fail. */
  close(): void;
  /** The underlying grpc-js client, for what this wrapper does not cover. */
  readonly raw: Client;
}

/**
 * The service config (gRFC A2, A6) of a client: load-balancing policy and, for idempotent
 * methods only, retries on UNAVAILABLE.
 */
function serviceConfigOf<S extends ServiceShape>(service: S, options: GrpcClientOptions<S>): string {
  const idempotent = (options.idempotentMethods ?? []).map((name) => {
    const { service: serviceName, method } = parseMethodPath(methodOf(service, name).path);
    return { service: serviceName, method };
  });
  const methodConfig =
    idempotent.length === 0
      ? []
      : [
          {
            name: idempotent,
            retryPolicy: {
              maxAttempts: 3,
              initialBackoff: '0.05s',
              maxBackoff: '0.5s',
              backoffMultiplier: 2,
              retryableStatusCodes: ['UNAVAILABLE'],
            },
          },
        ];
  return JSON.stringify({
    loadBalancingConfig: [{ [options.loadBalancing ?? 'round_robin']: {} }],
    methodConfig,
  });
}

/**
 * Creates a promise-based client for a generated service, with a deadline on every call,
 * round-robin load balancing, retries for idempotent methods, and errors translated into
 * DomainErrors by {@link fromGrpcError}.
 *
 * @example
 * const registry = createGrpcClient(clientsV1.ClientRegistryClient, {
 *   target: 'dns:///dcr-service-headless:50051',
 *   idempotentMethods: ['getClient', 'listClients'],
 * });
 * const { client } = await registry.call('getClient', { clientId });
 */
export function createGrpcClient<S extends ServiceShape>(
  ClientConstructor: GrpcClientConstructor<S>,
  options: GrpcClientOptions<S>,
): GrpcClient<S> {
  const definition = ClientConstructor.service;
  const keepalive = options.keepalive ?? {};
  const channelOptions: ChannelOptions = {
    'grpc.service_config': serviceConfigOf(definition, options),
    // Our config is authoritative; a DNS TXT record must not replace it.
    'grpc.service_config_disable_resolution': 1,
    'grpc.enable_retries': 1,
    'grpc.keepalive_time_ms': keepalive.timeMs ?? 30_000,
    'grpc.keepalive_timeout_ms': keepalive.timeoutMs ?? 10_000,
    'grpc.keepalive_permit_without_calls': keepalive.permitWithoutCalls ? 1 : 0,
    // grpc-js waits up to 120 s between reconnection attempts by default, so a caller kept
    // answering 503 for seconds to minutes after a restarted peer was ready again (issue 12's
    // crash suite). Calls fail fast while the peer is down either way; these bound the recovery.
    'grpc.initial_reconnect_backoff_ms': 200,
    'grpc.max_reconnect_backoff_ms': 1_000,
    ...options.channelOptions,
  };
  const raw = new ClientConstructor(
    options.target,
    options.credentials ?? grpcCredentials.createInsecure(),
    channelOptions,
  );
  const defaultDeadlineMs = options.defaultDeadlineMs ?? 2_000;

  return {
    raw,

    call(name, request, callOptions = {}) {
      const method = methodOf(definition, name);
      const deadline = Date.now() + (callOptions.deadlineMs ?? defaultDeadlineMs);
      return new Promise((resolve, reject) => {
        raw.makeUnaryRequest(
          method.path,
          method.requestSerialize,
          method.responseDeserialize,
          request,
          callOptions.metadata ?? new Metadata(),
          callOptions.parent ? { deadline, parent: callOptions.parent } : { deadline },
          (error, response) => {
            if (error) reject(fromGrpcError(error));
            else if (response === undefined) reject(fromGrpcError(new Error(`${method.path} returned no message`)));
            else resolve(response);
          },
        );
      });
    },

    stream(name, request, streamOptions = {}) {
      const method = methodOf(definition, name);
      const { signal } = streamOptions;
      return {
        async *[Symbol.asyncIterator]() {
          const call = raw.makeServerStreamRequest(
            method.path,
            method.requestSerialize,
            method.responseDeserialize,
            request,
            streamOptions.metadata ?? new Metadata(),
            streamOptions.deadlineMs === undefined ? {} : { deadline: Date.now() + streamOptions.deadlineMs },
          );
          const cancel = () => call.cancel();
          signal?.addEventListener('abort', cancel, { once: true });
          if (signal?.aborted) call.cancel();
          try {
            for await (const message of call) yield message as ResponseOf<S[typeof name]>;
          } catch (error) {
            if (signal?.aborted) return;
            throw fromGrpcError(error);
          } finally {
            signal?.removeEventListener('abort', cancel);
            call.cancel(); // no-op once the stream has ended; stops it when the loop is left early
          }
        },
      };
    },

    close() {
      raw.close();
    },
  };
}
