import {
  Server,
  ServerCredentials,
  status,
  type ChannelOptions,
  type ServerUnaryCall,
  type ServerWritableStream,
  type ServiceDefinition,
  type UntypedHandleCall,
  type sendUnaryData,
} from '@grpc/grpc-js';
import { toDomainError, type DomainError } from '@obip/errors';
import { HealthImplementation } from 'grpc-health-check';
import type { Registry } from 'prom-client';
import { toGrpcStatus } from './errors';
import { grpcCodeLabel, grpcServerMetrics, type GrpcServerMetrics, type GrpcType } from './metrics';
import { methodOf, parseMethodPath, type RequestOf, type ResponseOf, type ServiceShape } from './service-definition';

/** The part of a pino logger this lib uses; a pino `Logger` fits. */
export interface GrpcLogger {
  info(bindings: object, message?: string): void;
  warn(bindings: object, message?: string): void;
  error(bindings: object, message?: string): void;
  child(bindings: Record<string, unknown>): GrpcLogger;
}

export interface GrpcServerOptions {
  /** The service this process is (e.g. `consent-service`), bound to every log line. */
  serviceName: string;
  logger: GrpcLogger;
  /**
   * Where to register `grpc_server_started_total`, `grpc_server_handled_total{grpc_code}` and
   * `grpc_server_handling_seconds`. Passing the same registry to several servers is fine.
   * Without one, no metrics are recorded.
   */
  registry?: Registry;
  /**
   * Connections are closed (GOAWAY) after this long, so clients re-resolve DNS and spread onto
   * pods added by a scale-out; without it a client stays pinned to the pods it first saw.
   * Default 60 000.
   */
  maxConnectionAgeMs?: number;
  /**
   * How long calls still running on an aged-out connection may continue. Default 30 000: above
   * any unary deadline we use, while a long stream (WatchConfig) is cut and reconnects.
   */
  maxConnectionAgeGraceMs?: number;
  /** Server pings that detect dead clients, mostly for long streams. */
  keepalive?: {
    /** Ping a connection after this long without activity. Default 60 000. */
    timeMs?: number;
    /** Close the connection when a ping is not answered within this. Default 20 000. */
    timeoutMs?: number;
  };
  /**
   * Largest request message accepted, in bytes; larger ones are refused with
   * RESOURCE_EXHAUSTED before a handler runs. Default 1 MiB: our largest message (client
   * metadata with an inline JWKS) is far smaller, and each message is buffered whole.
   */
  maxReceiveMessageLength?: number;
  /**
   * Longest a unary call may run, in ms, whatever deadline the client set or failed to set: a
   * call still running then is answered DEADLINE_EXCEEDED (its handler's late result is dropped),
   * so a peer that names no deadline cannot pin a call on a hung dependency forever. Default
   * 30 000: above every deadline our own clients use. Streams are not bounded (WatchConfig).
   */
  maxCallDurationMs?: number;
  /** Transport security. Default insecure: inside the cluster, NetworkPolicies guard the port. */
  credentials?: ServerCredentials;
}

/** A request-response handler: returns the response or throws (a DomainError, ideally). */
export type UnaryHandler<Req, Res> = (request: Req, call: ServerUnaryCall<Req, Res>) => Promise<Res> | Res;

/**
 * A server-streaming handler: writes responses with `call.write()` and resolves when done (the
 * stream is then ended) or throws (the error becomes the stream's status). It should stop when
 * `call.cancelled` becomes true (the `cancelled` event).
 */
export type ServerStreamHandler<Req, Res> = (request: Req, call: ServerWritableStream<Req, Res>) => Promise<void>;

/** The handlers of a generated service definition, by method name. */
export type ServiceHandlers<S extends ServiceShape> = {
  [K in keyof S]: S[K] extends { requestStream: false; responseStream: false }
    ? UnaryHandler<RequestOf<S[K]>, ResponseOf<S[K]>>
    : S[K] extends { requestStream: false; responseStream: true }
      ? ServerStreamHandler<RequestOf<S[K]>, ResponseOf<S[K]>>
      : never; // client and bidi streaming: no contract uses them yet
};

export interface GrpcHealth {
  /**
   * Sets what `grpc.health.v1.Health` reports for `service`: a full service name
   * (`obip.consents.v1.Consents`) or `''` for the whole server. Every service added starts
   * NOT_SERVING, as does `''`: call this once the dependencies are ready.
   */
  setServing(service: string, serving: boolean): void;
}

export interface GrpcServer {
  /** The underlying grpc-js server, for what this wrapper does not cover. */
  readonly server: Server;
  readonly health: GrpcHealth;
  /**
   * Registers a generated service (e.g. `tokensV1.TokensService`) with async handlers. Call it
   * before `listen`.
   */
  addService<S extends ServiceShape>(definition: S, handlers: ServiceHandlers<S>): void;
  /** Binds and starts serving; resolves with the bound port (useful with port 0). */
  listen(host: string, port: number): Promise<number>;
  /**
   * Reports NOT_SERVING for everything, stops accepting calls, lets calls in flight finish, and
   * cancels whatever is still running after `graceMs` (default 10 000). Safe to call twice.
   */
  shutdown(graceMs?: number): Promise<void>;
}

interface CallContext {
  logger: GrpcLogger;
  metrics: GrpcServerMetrics | undefined;
  labels: { grpc_type: GrpcType; grpc_service: string; grpc_method: string };
  maxCallDurationMs: number;
}

/**
 * Creates a gRPC server with the standard health service, error mapping through
 * {@link toGrpcStatus}, Prometheus metrics and connection ageing.
 *
 * @example
 * const grpcServer = createGrpcServer({ serviceName: 'auth-server', logger, registry });
 * grpcServer.addService(tokensV1.TokensService, {
 *   revokeByConsent: async (request) => ({ revokedCount: await tokens.revokeByConsent(request.consentId) }),
 *   ...
 * });
 * await grpcServer.listen('0.0.0.0', 50051);
 * grpcServer.health.setServing('', true);
 */
export function createGrpcServer(options: GrpcServerOptions): GrpcServer {
  const channelOptions: ChannelOptions = {
    'grpc.max_connection_age_ms': options.maxConnectionAgeMs ?? 60_000,
    'grpc.max_connection_age_grace_ms': options.maxConnectionAgeGraceMs ?? 30_000,
    'grpc.keepalive_time_ms': options.keepalive?.timeMs ?? 60_000,
    'grpc.keepalive_timeout_ms': options.keepalive?.timeoutMs ?? 20_000,
    'grpc.max_receive_message_length': options.maxReceiveMessageLength ?? 1024 * 1024,
  };
  const server = new Server(channelOptions);
  const logger = options.logger.child({ component: 'grpc', service: options.serviceName });
  const metrics = options.registry ? grpcServerMetrics(options.registry) : undefined;

  const healthNames = new Set<string>(['']);
  const healthImplementation = new HealthImplementation({ '': 'NOT_SERVING' });
  healthImplementation.addToServer(server);
  const health: GrpcHealth = {
    setServing(service, serving) {
      healthNames.add(service);
      healthImplementation.setStatus(service, serving ? 'SERVING' : 'NOT_SERVING');
    },
  };

  let shuttingDown: Promise<void> | undefined;

  return {
    server,
    health,

    addService(definition, handlers) {
      const implementation: Record<string, UntypedHandleCall> = {};
      let serviceName = '';
      for (const name of Object.keys(definition)) {
        const method = methodOf(definition, name);
        const path = parseMethodPath(method.path);
        serviceName = path.service;
        const handler: unknown = handlers[name];
        if (typeof handler !== 'function') throw new TypeError(`no handler for ${method.path}`);
        const context = (grpcType: GrpcType): CallContext => ({
          logger,
          metrics,
          labels: { grpc_type: grpcType, grpc_service: path.service, grpc_method: path.method },
          maxCallDurationMs: options.maxCallDurationMs ?? 30_000,
        });
        if (!method.requestStream && !method.responseStream) {
          implementation[name] = wrapUnary(context('unary'), handler as UnaryHandler<unknown, unknown>);
        } else if (!method.requestStream && method.responseStream) {
          implementation[name] = wrapServerStream(
            context('server_stream'),
            handler as ServerStreamHandler<unknown, unknown>,
          );
        } else {
          throw new TypeError(`${method.path}: client and bidi streaming are not supported`);
        }
      }
      server.addService(asGrpcDefinition(definition), implementation);
      if (serviceName !== '') health.setServing(serviceName, false);
    },

    listen(host, port) {
      // An IPv6 literal needs brackets in a host:port address.
      const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
      return new Promise((resolve, reject) => {
        server.bindAsync(address, options.credentials ?? ServerCredentials.createInsecure(), (error, boundPort) => {
          if (error) return reject(error);
          logger.info({ host, port: boundPort }, 'gRPC server listening');
          resolve(boundPort);
        });
      });
    },

    shutdown(graceMs = 10_000) {
      shuttingDown ??= new Promise<void>((resolve) => {
        for (const name of healthNames) healthImplementation.setStatus(name, 'NOT_SERVING');
        const timer = setTimeout(() => {
          logger.warn({ graceMs }, 'gRPC calls still running after the grace period; cancelling them');
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      return shuttingDown;
    },
  };
}

/**
 * grpc-js types a definition's serialisers with `any`; ours are precise. The runtime object is
 * the generated definition itself, unchanged.
 */
function asGrpcDefinition(definition: ServiceShape): ServiceDefinition {
  return definition as unknown as ServiceDefinition;
}

/** Counts the call as started and returns what to call once its status is known. */
function startCall(context: CallContext): (code: status) => void {
  context.metrics?.started.inc(context.labels);
  const endTimer = context.metrics?.handling.startTimer(context.labels);
  return (code) => {
    endTimer?.();
    context.metrics?.handled.inc({ ...context.labels, grpc_code: grpcCodeLabel(code) });
  };
}

/** Logs what operators must see: our own failures and dependencies that are down. */
function logFailure(context: CallContext, error: DomainError): void {
  const bindings = { err: error, grpcMethod: `${context.labels.grpc_service}/${context.labels.grpc_method}` };
  if (error.kind === 'internal' || !error.expose) context.logger.error(bindings, 'gRPC call failed');
  else if (error.kind === 'unavailable' || error.kind === 'deadline_exceeded') {
    context.logger.warn(bindings, 'gRPC call failed: dependency unavailable');
  }
}

function wrapUnary(context: CallContext, handler: UnaryHandler<unknown, unknown>): UntypedHandleCall {
  return (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
    const finish = startCall(context);
    let answered = false;
    const answer = (code: status, send: () => void): void => {
      if (answered) return;
      answered = true;
      clearTimeout(bound);
      finish(code);
      send();
    };
    // The server's own bound: a client without a deadline must not hold a call (and whatever
    // it waits on) forever. A client deadline that comes sooner is enforced by grpc-js itself.
    const bound = setTimeout(() => {
      const method = `${context.labels.grpc_service}/${context.labels.grpc_method}`;
      context.logger.warn({ grpcMethod: method, maxCallDurationMs: context.maxCallDurationMs }, 'gRPC call cut off');
      answer(status.DEADLINE_EXCEEDED, () =>
        callback({
          code: status.DEADLINE_EXCEEDED,
          details: `the call did not finish within the server's ${context.maxCallDurationMs} ms bound`,
        }),
      );
    }, context.maxCallDurationMs);
    // Promise.resolve().then() also catches a handler that throws synchronously.
    Promise.resolve()
      .then(() => handler(call.request, call))
      .then(
        (response) => answer(status.OK, () => callback(null, response)),
        (error: unknown) => {
          const grpcStatus = toGrpcStatus(error);
          answer(grpcStatus.code, () => {
            logFailure(context, toDomainError(error));
            callback(grpcStatus);
          });
        },
      );
  };
}

function wrapServerStream(context: CallContext, handler: ServerStreamHandler<unknown, unknown>): UntypedHandleCall {
  return (call: ServerWritableStream<unknown, unknown>) => {
    const finish = startCall(context);
    Promise.resolve()
      .then(() => handler(call.request, call))
      .then(
        () => {
          finish(status.OK);
          call.end();
        },
        (error: unknown) => {
          const grpcStatus = toGrpcStatus(error);
          finish(grpcStatus.code);
          logFailure(context, toDomainError(error));
          // grpc-js turns an 'error' event on a server stream into the call's final status.
          call.emit('error', grpcStatus);
        },
      );
  };
}
