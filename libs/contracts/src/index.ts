/**
 * The gRPC contracts of obip, generated from `proto/obip/<domain>/v1/*.proto` by ts-proto
 * (`npx nx run contracts:generate`). One namespace per package, so message names that repeat
 * across domains (`GetConfigRequest`, `Client`) never collide.
 *
 * Generated code stops at the edge: a service's `*.grpc.ts` adapter maps these messages to its
 * own domain types.
 *
 * @example
 * import { tokensV1 } from '@obip/contracts';
 * server.addService(tokensV1.TokensService, handlers);
 * const client = createGrpcClient(tokensV1.TokensClient, { target: 'dns:///auth-server:50051' });
 */
export * as clientsV1 from './gen/obip/clients/v1/clients';
export * as configV1 from './gen/obip/config/v1/config';
export * as consentsV1 from './gen/obip/consents/v1/consents';
export * as introspectionV1 from './gen/obip/introspection/v1/introspection';
export * as tokensV1 from './gen/obip/tokens/v1/tokens';
