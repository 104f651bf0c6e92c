export {
  createGrpcClient,
  type GrpcCallOptions,
  type GrpcClient,
  type GrpcClientConstructor,
  type GrpcClientOptions,
  type GrpcStreamOptions,
} from './client';
export { ERROR_CODE_METADATA_KEY, fromGrpcError, isServiceError, toGrpcStatus, type GrpcStatus } from './errors';
export { checkGrpcHealth, type GrpcHealthCheckOptions, type GrpcHealthStatus } from './health';
export { grpcCodeLabel, grpcServerMetrics, type GrpcServerMetrics, type GrpcType } from './metrics';
export {
  createGrpcServer,
  type GrpcHealth,
  type GrpcLogger,
  type GrpcServer,
  type GrpcServerOptions,
  type ServerStreamHandler,
  type ServiceHandlers,
  type UnaryHandler,
} from './server';
export type {
  MethodShape,
  RequestOf,
  ResponseOf,
  ServerStreamMethodName,
  ServiceShape,
  UnaryMethodName,
} from './service-definition';
