{{/*
Names, labels and the static facts about the five services. Templates that render one object per
service range over "obip.components" and pass (dict "root" $ "name" … "c" … "v" …) to the helpers below.
*/}}

{{- define "obip.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* <release>-<chart>, or the release name alone when it already contains the chart name. */}}
{{- define "obip.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "obip.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
The five services: values key, ports (the services' defaults, README "Running one service"),
whether they own a database, whether they call the Kubernetes API, their gRPC peers (setting →
service) and which services may call their gRPC port (ARCHITECTURE.md "Who calls what").
auth-server, dcr-service and token-introspection subscribe to config-api (CONFIG_GRPC_TARGET);
consent-service does not. config-api calls dcr-service (/v1/clients), auth-server (token
revocation) and consent-service (/v1/consents: admin revocation), and the Kubernetes API while
configApi.kubernetesSync is on.
*/}}
{{- define "obip.components" -}}
auth-server:
  values: authServer
  http: 8081
  grpc: 50051
  ops: 9091
  database: true
  kubeApi: false
  signingKeys: true
  peers: { CLIENT_REGISTRY_GRPC_TARGET: dcr-service, CONSENTS_GRPC_TARGET: consent-service, CONFIG_GRPC_TARGET: config-api }
  grpcClients: [consent-service, dcr-service, config-api]
dcr-service:
  values: dcrService
  http: 8082
  grpc: 50052
  ops: 9092
  database: true
  kubeApi: false
  signingKeys: false
  peers: { TOKENS_GRPC_TARGET: auth-server, CONFIG_GRPC_TARGET: config-api }
  grpcClients: [auth-server, token-introspection, config-api{{ if .Values.consentService.portal.enabled }}, consent-service{{ end }}]
consent-service:
  values: consentService
  http: 8083
  grpc: 50053
  ops: 9093
  database: true
  kubeApi: false
  signingKeys: false
  peers: { TOKENS_GRPC_TARGET: auth-server{{ if .Values.consentService.portal.enabled }}, CLIENT_REGISTRY_GRPC_TARGET: dcr-service{{ end }} }
  grpcClients: [auth-server, token-introspection, config-api]
token-introspection:
  values: tokenIntrospection
  http: 8084
  grpc: 50054
  ops: 9094
  database: false
  kubeApi: false
  signingKeys: true
  peers: { CLIENT_REGISTRY_GRPC_TARGET: dcr-service, CONSENTS_GRPC_TARGET: consent-service, CONFIG_GRPC_TARGET: config-api }
  grpcClients: []
config-api:
  values: configApi
  http: 8085
  grpc: 50055
  ops: 9095
  database: true
  kubeApi: {{ include "obip.kubernetesSync" . }}
  signingKeys: false
  peers: { CLIENT_REGISTRY_GRPC_TARGET: dcr-service, TOKENS_GRPC_TARGET: auth-server, CONSENTS_GRPC_TARGET: consent-service }
  grpcClients: [auth-server, dcr-service, token-introspection]
{{- end -}}

{{/* "true" when config-api writes the platform Secrets through the Kubernetes API (K8S_SYNC=kubernetes). */}}
{{- define "obip.kubernetesSync" -}}
{{- eq .Values.configApi.kubernetesSync "kubernetes" -}}
{{- end -}}

{{/* Where a subscriber keeps the last platform config config-api sent (CONFIG_CACHE_FILE), on an emptyDir. */}}
{{- define "obip.configCacheDir" -}}
/var/cache/obip
{{- end -}}

{{/* Where auth-server and token-introspection mount the signing-key Secret. */}}
{{- define "obip.signingKeysDir" -}}
/etc/obip/signing-keys
{{- end -}}

{{/* Name of a service's objects: (dict "root" $ "name" "auth-server"). */}}
{{- define "obip.componentFullname" -}}
{{- printf "%s-%s" (include "obip.fullname" .root | trunc (int (sub 62 (len .name)))) .name | trimSuffix "-" -}}
{{- end -}}

{{/* Labels of a part of the release: (dict "root" $ "name" "<component>"). */}}
{{- define "obip.labels" -}}
helm.sh/chart: {{ include "obip.chart" .root }}
{{ include "obip.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: obip
{{- end -}}

{{/* Selector labels; never change them after a release (selectors are immutable). */}}
{{- define "obip.selectorLabels" -}}
app.kubernetes.io/name: {{ include "obip.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .name }}
{{- end -}}

{{/* Selects every pod of this release. */}}
{{- define "obip.releaseSelector" -}}
app.kubernetes.io/name: {{ include "obip.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Image of a service: (dict "root" $ "name" "auth-server" "v" <values block>). */}}
{{- define "obip.image" -}}
{{- $g := .root.Values.global.image -}}
{{- $repository := .v.image.repository | default (printf "%s/%s/%s" $g.registry $g.repository .name) -}}
{{- if $g.digest -}}
{{- printf "%s@%s" $repository $g.digest -}}
{{- else -}}
{{- printf "%s:%s" $repository (.v.image.tag | default $g.tag | default .root.Chart.AppVersion) -}}
{{- end -}}
{{- end -}}

{{/* The Secret holding MONGO_URL. */}}
{{- define "obip.mongodbSecretName" -}}
{{- if .Values.mongodb.existingSecret -}}
{{- .Values.mongodb.existingSecret -}}
{{- else -}}
{{- printf "%s-stores" (include "obip.fullname" .) -}}
{{- end -}}
{{- end -}}

{{/* The Secret holding REDIS_URL. */}}
{{- define "obip.redisSecretName" -}}
{{- if .Values.redis.existingSecret -}}
{{- .Values.redis.existingSecret -}}
{{- else -}}
{{- printf "%s-stores" (include "obip.fullname" .) -}}
{{- end -}}
{{- end -}}

{{/*
The Secret holding auth-server's private signing JWKS in key jwks.json: config-api writes it
(SIGNING_KEYS_SECRET_NAME), auth-server and token-introspection mount it. signingKeys.existingSecret
is the deprecated spelling of signingKeys.secretName.
*/}}
{{- define "obip.signingKeysSecretName" -}}
{{- .Values.signingKeys.secretName | default .Values.signingKeys.existingSecret | default (printf "%s-signing-keys" (include "obip.fullname" .)) -}}
{{- end -}}

{{/*
The TPP trust bundle Secret (key ca.crt): the one name both the ingress auth-tls-secret annotation
and config-api's CA_BUNDLE_SECRET_NAME use, so the Secret config-api writes is the one the edge reads.
*/}}
{{- define "obip.caBundleSecretName" -}}
{{- .Values.ingress.clientCertificate.caSecret | default (printf "%s-tpp-trust-bundle" (include "obip.fullname" .)) -}}
{{- end -}}

{{/* Namespace of the TPP trust bundle Secret. */}}
{{- define "obip.caSecretNamespace" -}}
{{- .Values.ingress.clientCertificate.caSecretNamespace | default .Release.Namespace -}}
{{- end -}}

{{/* The Secret holding config-api's KEY_ENCRYPTION_KEY: yours, or the one the chart generates (evaluation). */}}
{{- define "obip.keyEncryptionKeySecretName" -}}
{{- .Values.configApi.keyEncryptionKey.existingSecret | default (printf "%s-config-api-kek" (include "obip.fullname" .)) -}}
{{- end -}}

{{/*
The Secret holding auth-server's session keys (keys cookie-keys and dpop-nonce-secret), the same
for every replica: authServer.sessionKeys.existingSecret, or the one the chart generates (evaluation).
*/}}
{{- define "obip.sessionKeysSecretName" -}}
{{- .Values.authServer.sessionKeys.existingSecret | default (printf "%s-auth-server-session" (include "obip.fullname" .)) -}}
{{- end -}}

{{/* Where auth-server mounts the cookie keys of its session-keys Secret (COOKIE_KEYS_FILE). */}}
{{- define "obip.sessionKeysDir" -}}
/etc/obip/session-keys
{{- end -}}

{{/* The Lease config-api's replicas elect their one Secret writer with (LEASE_NAME; named in its Role). */}}
{{- define "obip.configApiLeaseName" -}}
{{- include "obip.componentFullname" (dict "root" . "name" "config-api") -}}
{{- end -}}

{{/*
ADMIN_TOKEN_ISSUERS as JSON: configApi.adminTokenIssuers, or else the platform's own auth-server
(issuer https://<public host>, JWKS read in-cluster from its Service). Empty when neither is known.
*/}}
{{- define "obip.adminTokenIssuers" -}}
{{- $issuers := .Values.configApi.adminTokenIssuers -}}
{{- if and (not $issuers) .Values.ingress.hosts.public -}}
{{- $auth := include "obip.componentFullname" (dict "root" . "name" "auth-server") -}}
{{- $port := (index (include "obip.components" . | fromYaml) "auth-server").http -}}
{{- $issuers = list (dict "issuer" (printf "https://%s" .Values.ingress.hosts.public) "jwksUri" (printf "http://%s.%s.svc.cluster.local:%v/jwks" $auth .Release.Namespace $port)) -}}
{{- end -}}
{{- if $issuers -}}
{{- toJson $issuers -}}
{{- end -}}
{{- end -}}

{{/* "true" when config-api verifies admin tokens against the platform's own auth-server (in-cluster JWKS). */}}
{{- define "obip.adminTokensFromPlatform" -}}
{{- and (not .Values.configApi.adminTokenIssuers) (ne .Values.ingress.hosts.public "") -}}
{{- end -}}

{{/* CLIENT_CERT_HEADER_FORMAT: the header the edge of the chosen provider sends. */}}
{{- define "obip.clientCertHeaderFormat" -}}
{{- $explicit := .Values.ingress.clientCertificate.headerFormat -}}
{{- if $explicit -}}
{{- $explicit -}}
{{- else if eq .Values.ingress.provider "gateway" -}}
xfcc
{{- else -}}
nginx
{{- end -}}
{{- end -}}

{{/* Effective replica floor of a service: HPA minimum or replicaCount. */}}
{{- define "obip.minReplicas" -}}
{{- if .autoscaling.enabled -}}
{{- .autoscaling.minReplicas -}}
{{- else -}}
{{- .replicaCount -}}
{{- end -}}
{{- end -}}

{{/* terminationGracePeriodSeconds: the services' whole drain (delay + grace) plus a margin. */}}
{{- define "obip.terminationGracePeriodSeconds" -}}
{{- $s := .Values.global.shutdown -}}
{{- add (div (add $s.delayMs $s.graceMs 999) 1000) $s.extraSeconds -}}
{{- end -}}

{{/* Non-secret settings of a service (its ConfigMap); (dict "root" $ "name" … "c" … "v" …). */}}
{{- define "obip.serviceSettings" -}}
LOG_LEVEL: {{ .v.logLevel | default .root.Values.global.logLevel | quote }}
{{- with .root.Values.global.nodeOptions }}
NODE_OPTIONS: {{ . | quote }}
{{- end }}
{{- with .root.Values.global.mallocArenaMax }}
MALLOC_ARENA_MAX: {{ . | int64 | quote }}
{{- end }}
{{- with .root.Values.global.mallocMmapThreshold }}
MALLOC_MMAP_THRESHOLD_: {{ . | int64 | quote }}
{{- end }}
BIND_HOST: "0.0.0.0"
HTTP_PORT: {{ .c.http | quote }}
GRPC_PORT: {{ .c.grpc | quote }}
OPS_PORT: {{ .c.ops | quote }}
REDIS_KEY_PREFIX: {{ .root.Values.redis.keyPrefix | quote }}
SHUTDOWN_DELAY_MS: {{ .root.Values.global.shutdown.delayMs | quote }}
SHUTDOWN_GRACE_MS: {{ .root.Values.global.shutdown.graceMs | quote }}
STARTUP_TIMEOUT_MS: {{ .root.Values.global.startupTimeoutMs | quote }}
CLIENT_CERT_HEADER_FORMAT: {{ include "obip.clientCertHeaderFormat" .root | quote }}
{{- if .c.database }}
MONGO_DB: {{ .v.mongoDatabase | quote }}
{{- end }}
{{- if .c.signingKeys }}
SIGNING_KEYS_FILE: {{ printf "%s/jwks.json" (include "obip.signingKeysDir" .root) | quote }}
{{- /* Both readers of the keys re-read the mounted Secret and sign with a changed set without a restart. */}}
SIGNING_KEYS_RELOAD_MS: {{ .root.Values.signingKeys.reloadMs | int64 | quote }}
{{- end }}
{{- if hasKey .c.peers "CONFIG_GRPC_TARGET" }}
CONFIG_CACHE_FILE: {{ printf "%s/platform-config.json" (include "obip.configCacheDir" .root) | quote }}
{{- end }}
{{- if eq .name "config-api" }}
{{- include "obip.configApiSettings" . }}
{{- else if eq .name "auth-server" }}
{{- /* auth-server issues admin API tokens for the audience config-api checks. */}}
ADMIN_API_RESOURCE: {{ .root.Values.configApi.adminTokenAudience | quote }}
{{- /* The session-keys Secret's cookie keys, re-read every SIGNING_KEYS_RELOAD_MS: rotation needs no restart. */}}
COOKIE_KEYS_FILE: {{ printf "%s/cookie-keys" (include "obip.sessionKeysDir" .root) | quote }}
{{- else if and (eq .name "consent-service") .root.Values.consentService.portal.enabled }}
{{- include "obip.portalSettings" . }}
{{- end }}
{{- include "obip.rateLimitSettings" . }}
{{- /* gRPC peers through their headless Services, for client-side round robin over the pods. */}}
{{- $components := include "obip.components" .root | fromYaml }}
{{- range $variable, $peer := .c.peers }}
{{ $variable }}: {{ printf "dns:///%s-headless.%s.svc.cluster.local:%v" (include "obip.componentFullname" (dict "root" $.root "name" $peer)) $.root.Release.Namespace (index $components $peer).grpc | quote }}
{{- end }}
{{- with .root.Values.ingress.hosts }}
{{- if and .public (or (eq $.name "auth-server") (eq $.name "token-introspection")) }}
ISSUER: {{ printf "https://%s" .public | quote }}
{{- end }}
{{- if .mtls }}
{{- if eq $.name "auth-server" }}
MTLS_BASE_URL: {{ printf "https://%s" .mtls | quote }}
{{- else if eq $.name "token-introspection" }}
INTROSPECTION_ENDPOINT: {{ printf "https://%s/introspect" .mtls | quote }}
{{- else if eq $.name "dcr-service" }}
DCR_REGISTRATION_BASE_URL: {{ printf "https://%s/register" .mtls | quote }}
{{- end }}
{{- end }}
{{- end }}
{{- end -}}


{{/*
Rate limits of a routed service (its `rateLimits` values; config-api has none) and the edge's
addresses, from which alone a service reads the forwarded client address and certificate.
*/}}
{{- define "obip.rateLimitSettings" -}}
{{- with .v.rateLimits }}
RATE_LIMIT_WINDOW_MS: {{ .windowMs | int64 | quote }}
RATE_LIMIT_PER_ADDRESS_PER_MINUTE: {{ .perAddressPerMinute | int64 | quote }}
{{- if hasKey . "perClientPerMinute" }}
RATE_LIMIT_PER_CLIENT_PER_MINUTE: {{ .perClientPerMinute | int64 | quote }}
{{- end }}
{{- with $.root.Values.ingress.trustedProxyCidrs }}
TRUSTED_PROXY_CIDRS: {{ join "," . | quote }}
{{- end }}
{{- end }}
{{- end -}}

{{/*
config-api's own settings (services/config-api/src/config.ts). POD_NAME, K8S_NAMESPACE and
KEY_ENCRYPTION_KEY come from the Deployment's env (downward API, Secret).
*/}}
{{- define "obip.configApiSettings" -}}
{{- $v := .v }}
{{- with include "obip.adminTokenIssuers" .root }}
ADMIN_TOKEN_ISSUERS: {{ . | quote }}
{{- end }}
ADMIN_TOKEN_AUDIENCE: {{ $v.adminTokenAudience | quote }}
{{- with $v.bootstrapAdminClient }}
BOOTSTRAP_ADMIN_CLIENT: {{ toJson . | quote }}
{{- end }}
{{- with .root.Values.ingress.hosts.public }}
{{- /* The issuer of the first platform settings document: the same host auth-server's ISSUER uses. */}}
PLATFORM_ISSUER: {{ printf "https://%s" . | quote }}
{{- end }}
KEY_ACTIVATION_DELAY_SECONDS: {{ $v.keys.activationDelaySeconds | int64 | quote }}
KEY_RETIREMENT_DELAY_SECONDS: {{ $v.keys.retirementDelaySeconds | int64 | quote }}
TRUST_ANCHOR_EXPIRY_WARNING_DAYS: {{ $v.trustAnchorExpiryWarningDays | int64 | quote }}
K8S_SYNC: {{ $v.kubernetesSync | quote }}
{{- if eq (include "obip.kubernetesSync" .root) "true" }}
LEASE_NAME: {{ include "obip.configApiLeaseName" .root | quote }}
LEASE_DURATION_SECONDS: {{ $v.leaderElection.leaseDurationSeconds | int64 | quote }}
CA_BUNDLE_SECRET_NAME: {{ include "obip.caBundleSecretName" .root | quote }}
SIGNING_KEYS_SECRET_NAME: {{ include "obip.signingKeysSecretName" .root | quote }}
{{- end }}
{{- end -}}

{{/*
consent-service's customer portal (consentService.portal, services/consent-service/src/config.ts):
its public URL on the public host, auth-server's HTTP port in-cluster (PAR, token, discovery and
JWKS: the portal holds no TLS client certificate for the mTLS host) and its key file, mounted from
consentService.portal.existingSecret. PORTAL_COOKIE_KEYS comes from the same Secret (Deployment env).
*/}}
{{- define "obip.portalSettings" -}}
{{- $auth := include "obip.componentFullname" (dict "root" .root "name" "auth-server") }}
{{- $port := (index (include "obip.components" .root | fromYaml) "auth-server").http }}
PORTAL_PUBLIC_URL: {{ printf "https://%s" .root.Values.ingress.hosts.public | quote }}
AUTH_SERVER_URL: {{ printf "http://%s.%s.svc.cluster.local:%v" $auth .root.Release.Namespace $port | quote }}
PORTAL_CLIENT_KEYS_FILE: {{ printf "%s/jwks.json" (include "obip.portalKeysDir" .root) | quote }}
{{- end -}}

{{/* Where consent-service's portal keys Secret is mounted. */}}
{{- define "obip.portalKeysDir" -}}
/var/run/obip/portal-keys
{{- end -}}
