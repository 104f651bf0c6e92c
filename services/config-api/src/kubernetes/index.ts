// config-api's Kubernetes sync (issue 8): the CA bundle and signing-key Secrets, written by the
// replica elected with a Lease; the local twin's files outside a cluster; or nothing, said once.
export {
  CA_BUNDLE_KEY,
  IN_CLUSTER_NAMESPACE_FILE,
  SIGNING_KEYS_KEY,
  createDisabledSink,
  createKubernetesSink,
  createLocalTwinSink,
  createPlatformSecretsSink,
  resolveSyncPlan,
  writeFileAtomically,
  type KubernetesSink,
  type KubernetesSinkOptions,
  type KubernetesSyncSettings,
  type LocalTwinSinkOptions,
  type PlatformSecretsSink,
  type PlatformSecretsSinkDependencies,
  type PlatformSecretsState,
  type SyncPlan,
} from './kubernetes.sync';
export {
  createLeaderElection,
  leaseHolderState,
  nextLeaseSpec,
  releasedLeaseSpec,
  type LeaderElection,
  type LeaderElectionOptions,
  type LeaseHolderState,
} from './kubernetes.leader';
export {
  createSecretSync,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  type SecretSync,
  type SecretSyncOptions,
  type SecretWriteResult,
} from './kubernetes.secrets';
export {
  apiStatusOf,
  createKubernetesApis,
  describeApiError,
  type KubernetesApis,
  type KubernetesApiTimeouts,
  type KubernetesLogger,
  type LeaseApi,
  type SecretApi,
} from './kubernetes.client';
export { KubernetesSyncError, type KubernetesSyncErrorCode } from './kubernetes.errors';
