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
whether they own a database, whether they call the Kubernetes API, and which services may call
their gRPC port (ARCHITECTURE.md "Who calls what"). Every service calls config-api.
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
  peers: { CLIENT_REGISTRY_GRPC_TARGET: dcr-service, CONSENTS_GRPC_TARGET: consent-service }
  grpcClients: [consent-service, dcr-service]
dcr-service:
  values: dcrService
  http: 8082
  grpc: 50052
  ops: 9092
  database: true
  kubeApi: false
  signingKeys: false
  peers: { TOKENS_GRPC_TARGET: auth-server }
  grpcClients: [auth-server, token-introspection, config-api]
consent-service:
  values: consentService
  http: 8083
  grpc: 50053
  ops: 9093
  database: true
  kubeApi: false
  signingKeys: false
  peers: { TOKENS_GRPC_TARGET: auth-server }
  grpcClients: [auth-server, token-introspection]
token-introspection:
  values: tokenIntrospection
  http: 8084
  grpc: 50054
  ops: 9094
  database: false
  kubeApi: false
  signingKeys: true
  peers: { CLIENT_REGISTRY_GRPC_TARGET: dcr-service, CONSENTS_GRPC_TARGET: consent-service }
  grpcClients: []
config-api:
  values: configApi
  http: 8085
  grpc: 50055
  ops: 9095
  database: true
  kubeApi: true
  signingKeys: false
  peers: {}
  grpcClients: [auth-server, dcr-service, consent-service, token-introspection]
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

{{/* The Secret holding the signing JWKS. */}}
{{- define "obip.signingKeysSecretName" -}}
{{- .Values.signingKeys.existingSecret | default (printf "%s-signing-keys" (include "obip.fullname" .)) -}}
{{- end -}}

{{/* Namespace of the TPP trust bundle Secret. */}}
{{- define "obip.caSecretNamespace" -}}
{{- .Values.ingress.clientCertificate.caSecretNamespace | default .Release.Namespace -}}
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
SIGNING_KEYS_FILE: "/etc/obip/signing-keys/jwks.json"
{{- end }}
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
