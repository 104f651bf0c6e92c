import { Client, credentials as grpcCredentials, Metadata, status, type ChannelCredentials } from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import { fromGrpcError, isServiceError } from './errors';

/**
 * What `grpc.health.v1.Health/Check` answered. `SERVICE_UNKNOWN` is the NOT_FOUND status the
 * protocol uses for a service name the server does not know.
 */
export type GrpcHealthStatus = 'SERVING' | 'NOT_SERVING' | 'UNKNOWN' | 'SERVICE_UNKNOWN';

const HEALTH_STATUSES: ReadonlySet<string> = new Set(['SERVING', 'NOT_SERVING', 'UNKNOWN']);

function isHealthStatus(value: unknown): value is Exclude<GrpcHealthStatus, 'SERVICE_UNKNOWN'> {
  return typeof value === 'string' && HEALTH_STATUSES.has(value);
}

export interface GrpcHealthCheckOptions {
  /** The service to ask about, e.g. `obip.consents.v1.Consents`; `''` (default) for the server. */
  service?: string;
  /** Default 1 000. */
  deadlineMs?: number;
  /** Default insecure. */
  credentials?: ChannelCredentials;
}

/**
 * Asks a server's standard health service how it is, e.g. from a `/readyz` that depends on
 * another service. Rejects with a DomainError (kind `unavailable`) when the server does not
 * answer.
 *
 * @example
 * if ((await checkGrpcHealth('dns:///dcr-service:50051', { service: 'obip.clients.v1.ClientRegistry' })) !== 'SERVING') ...
 */
export async function checkGrpcHealth(target: string, options: GrpcHealthCheckOptions = {}): Promise<GrpcHealthStatus> {
  const check = healthService['Check'];
  if (!check) throw new TypeError('grpc-health-check has no Check method');
  const client = new Client(target, options.credentials ?? grpcCredentials.createInsecure());
  try {
    const response = await new Promise<object>((resolve, reject) => {
      client.makeUnaryRequest(
        check.path,
        check.requestSerialize,
        check.responseDeserialize,
        { service: options.service ?? '' },
        new Metadata(),
        { deadline: Date.now() + (options.deadlineMs ?? 1_000) },
        (error, value) => (error || value === undefined ? reject(error) : resolve(value)),
      );
    });
    const answered = 'status' in response ? response.status : undefined;
    return isHealthStatus(answered) ? answered : 'UNKNOWN';
  } catch (error) {
    if (isServiceError(error) && error.code === status.NOT_FOUND) return 'SERVICE_UNKNOWN';
    throw fromGrpcError(error);
  } finally {
    client.close();
  }
}
