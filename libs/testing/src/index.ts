// The real-dependency test harness: throwaway Redis and MongoDB-compatible servers, per-file
// isolation on the shared ones, a per-run test PKI, the nginx ingress twin, and a fake Kubernetes API server.
export { freePort, startOnFreshPorts, tailLines, type ServerProcess } from './servers/server.process';
export { startRedisServer, type RedisServer, type StartRedisServerOptions } from './servers/redis.server';
export {
  findFerretDb,
  startMongoServer,
  type MongoServer,
  type MongoServerKind,
  type StartMongoServerOptions,
} from './servers/mongo.server';
export {
  attachServerLogsOnFailure,
  dropTestDatabase,
  testMongoKind,
  testMongoUrl,
  testRedisPrefix,
  testRedisUrl,
  serviceMongoEnv,
  TEST_ENV,
  withDatabase,
  type AttachServerLogsOptions,
  type LogSource,
  type LogSources,
  expandLogSources,
} from './servers/test-servers';
export {
  createTestPki,
  savePki,
  type CertificateAuthority,
  type CreateTestPkiOptions,
  type IssuedCertificate,
  type IssueServerCertificateOptions,
  type IssueTppCertificateOptions,
  type SavedPki,
  type TestPki,
  type ValidityOptions,
} from './pki/test-pki';
export { assertDeliveredAtLeastOnce, type AtLeastOnceDelivery } from './delivery';
export { generateSigningKey, jwkThumbprint, type Jwk, type SigningAlg, type SigningKey } from './pki/signing-keys';
export { writePkiFiles, type PkiFiles } from './pki/pki.files';
export {
  INGRESS_HOSTS,
  loadRouteTable,
  parseRouteTable,
  ROUTES_FILE,
  type IngressHost,
  type IngressHostRoutes,
  type IngressRoute,
  type RouteTable,
} from './ingress/ingress.routes';
export { renderNginxConfig, type NginxTwinSettings, type VerifyClientMode } from './ingress/nginx.config';
export { startIngressTwin, type IngressTwin, type StartIngressTwinOptions } from './ingress/ingress.twin';
export { runServiceToExit, startServiceProcess, type ServiceProcess, type ServiceRuntime } from './service-process';
export { describeServiceLifecycle } from './service-lifecycle';
export {
  derToPem,
  mintSelfSignedCertificate,
  type CertificateName,
  type SelfSignedCertificate,
} from './pki/self-signed';
export { signCompactJws, type JwsHeader, type TestJwsAlg } from './directory/compact-jws';
export {
  startJwksServer,
  type JsonWebKeySet,
  type JwksServer,
  type RawResponse,
  type StartJwksServerOptions,
} from './directory/jwks.server';
export {
  createTestDirectory,
  randomBase62,
  type CreateTestDirectoryOptions,
  type DirectoryEnvironment,
  type IssueSsaOptions,
  type MintRequestOptions,
  type RegisterSoftwareOptions,
  type SoftwareStatementClaims,
  type TestDirectory,
  type TestSoftware,
} from './directory/test-directory';
export {
  checkOpenApiResponse,
  checkSchema,
  type JsonSchema,
  type ObservedResponse,
  type OpenApiDocument,
} from './openapi/openapi.check';
export { createFormBrowser, type FormBrowser, type PageResponse } from './browser/form-browser';
export {
  startFakeKubernetesApi,
  type FakeKubeConfigOptions,
  type FakeKubernetesApi,
  type FakeKubernetesRequest,
  type FakeObjectStore,
  type KubernetesObject,
} from './kubernetes/fake-kubernetes-api';
export {
  startConfigApiDouble,
  type ConfigApiDouble,
  type StartConfigApiDoubleOptions,
} from './config-api/config-api.double';
export {
  ADMIN_API_SCOPES,
  startAdminTokenIssuer,
  type AdminTokenIssuer,
  type AdminTokenOptions,
} from './config-api/admin-token-issuer';
