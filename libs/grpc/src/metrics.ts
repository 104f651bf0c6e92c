import { status } from '@grpc/grpc-js';
import { Counter, Histogram, type Registry } from 'prom-client';

type MethodLabel = 'grpc_type' | 'grpc_service' | 'grpc_method';

/** The go-grpc-prometheus server metrics, so standard gRPC dashboards work unchanged. */
export interface GrpcServerMetrics {
  started: Counter<MethodLabel>;
  handled: Counter<MethodLabel | 'grpc_code'>;
  handling: Histogram<MethodLabel>;
}

/** `grpc_type` values, as go-grpc-prometheus names them. */
export type GrpcType = 'unary' | 'server_stream' | 'client_stream' | 'bidi_stream';

const metricsByRegistry = new WeakMap<Registry, GrpcServerMetrics>();

/**
 * The gRPC server metrics registered in `registry`, created on first use. Several servers in one
 * process (or a server rebuilt in tests) share them instead of failing with prom-client's
 * "already registered" error.
 *
 * @example
 * const { handled } = grpcServerMetrics(registry);
 */
export function grpcServerMetrics(registry: Registry): GrpcServerMetrics {
  const existing = metricsByRegistry.get(registry);
  if (existing) return existing;
  const methodLabels: MethodLabel[] = ['grpc_type', 'grpc_service', 'grpc_method'];
  const metrics: GrpcServerMetrics = {
    started: new Counter({
      name: 'grpc_server_started_total',
      help: 'RPCs started on the server.',
      labelNames: methodLabels,
      registers: [registry],
    }),
    handled: new Counter({
      name: 'grpc_server_handled_total',
      help: 'RPCs completed on the server, whatever their status.',
      labelNames: [...methodLabels, 'grpc_code'],
      registers: [registry],
    }),
    handling: new Histogram({
      name: 'grpc_server_handling_seconds',
      help: 'Time the server took to handle an RPC, until its status was sent.',
      labelNames: methodLabels,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
  };
  metricsByRegistry.set(registry, metrics);
  return metrics;
}

/**
 * Status names as Go's `codes.Code.String()` spells them (`OK`, `NotFound`, `Unavailable`), the
 * values go-grpc-prometheus puts in `grpc_code` and that shared dashboards filter on.
 */
const CODE_LABELS: Readonly<Record<status, string>> = {
  [status.OK]: 'OK',
  [status.CANCELLED]: 'Canceled',
  [status.UNKNOWN]: 'Unknown',
  [status.INVALID_ARGUMENT]: 'InvalidArgument',
  [status.DEADLINE_EXCEEDED]: 'DeadlineExceeded',
  [status.NOT_FOUND]: 'NotFound',
  [status.ALREADY_EXISTS]: 'AlreadyExists',
  [status.PERMISSION_DENIED]: 'PermissionDenied',
  [status.RESOURCE_EXHAUSTED]: 'ResourceExhausted',
  [status.FAILED_PRECONDITION]: 'FailedPrecondition',
  [status.ABORTED]: 'Aborted',
  [status.OUT_OF_RANGE]: 'OutOfRange',
  [status.UNIMPLEMENTED]: 'Unimplemented',
  [status.INTERNAL]: 'Internal',
  [status.UNAVAILABLE]: 'Unavailable',
  [status.DATA_LOSS]: 'DataLoss',
  [status.UNAUTHENTICATED]: 'Unauthenticated',
};

/** The `grpc_code` label value of a status, e.g. `NotFound`. */
export function grpcCodeLabel(code: status): string {
  return CODE_LABELS[code];
}
