{{/*
The edge route table, files/routes.json (shared with libs/testing's nginx twin), checked here so
that a bad edit cannot route config-api or an unknown service.
*/}}
{{- define "obip.routes" -}}
{{- $table := .Files.Get "files/routes.json" | fromJson -}}
{{- $components := include "obip.components" . | fromYaml -}}
{{- range $host := list "public" "mtls" -}}
{{- range $route := (index $table.hosts $host).routes -}}
{{- if or (eq $route.service "config-api") (not (hasKey $components $route.service)) -}}
{{- fail (printf "files/routes.json: hosts.%s routes %s to %q, which is internal or unknown. Fix: route only auth-server, dcr-service, consent-service or token-introspection." $host $route.path $route.service) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- toJson $table -}}
{{- end -}}

{{/* Hosts to render: public always, mtls when it has a name. */}}
{{- define "obip.edgeHosts" -}}
{{- $hosts := list "public" -}}
{{- if .Values.ingress.hosts.mtls -}}
{{- $hosts = append $hosts "mtls" -}}
{{- end -}}
{{- toJson $hosts -}}
{{- end -}}
