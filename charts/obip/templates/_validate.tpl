{{/*
Refuses value combinations that cannot work, all at once, each with the fix. Called from
validate.yaml so that `helm template`, `helm lint`, `install` and `upgrade` all stop on them.
*/}}
{{- define "obip.validate" -}}
{{- $v := .Values -}}
{{- $errors := list -}}
{{- $cc := $v.ingress.clientCertificate -}}
{{- if and (eq $v.ingress.provider "nginx") $v.ingress.hosts.mtls (not $cc.caSecret) -}}
{{- $errors = append $errors (printf "ingress.hosts.mtls is %q but ingress.clientCertificate.caSecret is empty, so the edge could not verify TPP certificates. Fix: create a Secret with the trust bundle in key ca.crt and set ingress.clientCertificate.caSecret to its name (or set ingress.hosts.mtls to \"\" to run without the mTLS host)." $v.ingress.hosts.mtls) -}}
{{- end -}}
{{- if and (eq $v.ingress.provider "nginx") $cc.headerFormat (ne $cc.headerFormat "nginx") -}}
{{- $errors = append $errors (printf "ingress.clientCertificate.headerFormat is %q but ingress-nginx sends the certificate in ssl-client-cert. Fix: set ingress.clientCertificate.headerFormat to \"\" or \"nginx\", or choose ingress.provider=gateway." $cc.headerFormat) -}}
{{- end -}}
{{- if and (ne $v.ingress.provider "none") (not $v.ingress.hosts.public) -}}
{{- $errors = append $errors (printf "ingress.provider is %q but ingress.hosts.public is empty; the issuer URL is https://<public host>. Fix: set ingress.hosts.public (e.g. as.bank.example), or ingress.provider=none to bring your own edge." $v.ingress.provider) -}}
{{- end -}}
{{- $sync := eq (include "obip.kubernetesSync" .) "true" -}}
{{- $caNamespace := include "obip.caSecretNamespace" . -}}
{{- if and $sync (eq $v.ingress.provider "nginx") $cc.caSecret (ne $caNamespace .Release.Namespace) -}}
{{- $errors = append $errors (printf "ingress.clientCertificate.caSecretNamespace is %q but config-api writes the trust bundle (ca.crt of %q) only in the release namespace %q, so the edge would read a Secret config-api never updates. Fix: create the Secret in %q and leave caSecretNamespace empty (ingress-nginx reads Secrets in any namespace), or set configApi.kubernetesSync=off and keep both Secrets yourself." $caNamespace $cc.caSecret .Release.Namespace .Release.Namespace) -}}
{{- end -}}
{{- $keys := $v.signingKeys -}}
{{- if and $keys.secretName $keys.existingSecret (ne $keys.secretName $keys.existingSecret) -}}
{{- $errors = append $errors (printf "signingKeys.secretName is %q and the deprecated signingKeys.existingSecret is %q; both name the one Secret config-api writes the signing keys into. Fix: keep signingKeys.secretName and remove signingKeys.existingSecret." $keys.secretName $keys.existingSecret) -}}
{{- end -}}
{{- if and (eq $v.profile "production") (not $v.configApi.keyEncryptionKey.existingSecret) -}}
{{- $errors = append $errors (printf "configApi.keyEncryptionKey.existingSecret is empty with profile=production. config-api seals the private signing keys in MongoDB with this key; a key the chart generates is lost or replaced by GitOps renders and by a reinstall in another cluster, and the stored keys with it. Fix: kubectl -n %s create secret generic obip-config-api-kek --from-literal=%s=$(openssl rand 32 | basenc --base64url | tr -d =), back it up, and set configApi.keyEncryptionKey.existingSecret=obip-config-api-kek (or profile=evaluation for a trial install)." .Release.Namespace $v.configApi.keyEncryptionKey.secretKey) -}}
{{- end -}}
{{- if and (eq $v.profile "production") (not $v.authServer.sessionKeys.existingSecret) -}}
{{- $errors = append $errors (printf "authServer.sessionKeys.existingSecret is empty with profile=production. Every auth-server replica must sign cookies and derive DPoP nonces with the same keys; keys the chart generates are replaced by GitOps renders and by a reinstall, which ends every login session. Fix: kubectl -n %s create secret generic obip-auth-session --from-literal=cookie-keys=$(openssl rand 32 | basenc --base64url | tr -d =) --from-literal=dpop-nonce-secret=$(openssl rand 32 | basenc --base64url | tr -d =), and set authServer.sessionKeys.existingSecret=obip-auth-session (or profile=evaluation for a trial install)." .Release.Namespace) -}}
{{- end -}}
{{- range $variable := list "COOKIE_KEYS" "COOKIE_KEYS_FILE" "DPOP_NONCE_SECRET" -}}
{{- range $v.authServer.env -}}
{{- if eq (toString .name) $variable -}}
{{- $errors = append $errors (printf "authServer.env sets %s, which the chart gives auth-server from the authServer.sessionKeys Secret (auth-server refuses COOKIE_KEYS together with COOKIE_KEYS_FILE). Fix: remove %s from authServer.env and put the keys into that Secret (cookie-keys, dpop-nonce-secret)." $variable $variable) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if and (eq $v.profile "production") (eq $v.ingress.provider "none") (not $v.ingress.hosts.public) -}}
{{- $errors = append $errors "ingress.hosts.public is empty with profile=production and ingress.provider=none; it is still the issuer (https://<public host>) that auth-server's ISSUER and config-api's PLATFORM_ISSUER use. Fix: set ingress.hosts.public to the public host name of your edge." -}}
{{- end -}}
{{- $portal := $v.consentService.portal -}}
{{- if and $portal.enabled (not $portal.existingSecret) -}}
{{- $errors = append $errors "consentService.portal.enabled is true but consentService.portal.existingSecret is empty; every replica must sign in with the same client key and sign cookies with the same keys. Fix: create a Secret with jwks.json (a private JWKS of one ES256 key with a kid, see docs/portal.md) and cookie-keys (e.g. $(openssl rand 32 | basenc --base64url | tr -d =)), and set consentService.portal.existingSecret to its name." -}}
{{- end -}}
{{- if and $portal.enabled (not $v.ingress.hosts.public) -}}
{{- $errors = append $errors "consentService.portal.enabled is true but ingress.hosts.public is empty; the portal is served at https://<public host>/portal. Fix: set ingress.hosts.public." -}}
{{- end -}}
{{- if not $v.ingress.trustedProxyCidrs -}}
{{- range $name, $c := include "obip.components" . | fromYaml -}}
{{- $limits := (index $v $c.values).rateLimits -}}
{{- if and $limits (gt (int64 $limits.perAddressPerMinute) 0) -}}
{{- $errors = append $errors (printf "%s.rateLimits.perAddressPerMinute is %d but ingress.trustedProxyCidrs is empty, so %s could not read the client address the edge forwards and would count every client as the edge's own address. Fix: set ingress.trustedProxyCidrs to the addresses the edge connects from, or set %s.rateLimits.perAddressPerMinute to 0." $c.values (int64 $limits.perAddressPerMinute) $name $c.values) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- range $name, $c := include "obip.components" . | fromYaml -}}
{{- $a := (index $v $c.values).autoscaling -}}
{{- if and $a.enabled (gt (int $a.minReplicas) (int $a.maxReplicas)) -}}
{{- $errors = append $errors (printf "%s.autoscaling.minReplicas (%d) is above %s.autoscaling.maxReplicas (%d). Fix: raise maxReplicas or lower minReplicas." $c.values (int $a.minReplicas) $c.values (int $a.maxReplicas)) -}}
{{- end -}}
{{- end -}}
{{- range $store := list "mongodb" "redis" -}}
{{- $s := index $v $store -}}
{{- if and (eq $v.profile "production") $s.bundled.enabled -}}
{{- $errors = append $errors (printf "%s.bundled.enabled is true with profile=production; the bundled %s is a single unauthenticated replica for evaluation only. Fix: point %s.existingSecret at a Secret with your %s URL and set %s.bundled.enabled=false, or set profile=evaluation for a trial install." $store $store $store $store $store) -}}
{{- end -}}
{{- if and $s.bundled.enabled $s.existingSecret -}}
{{- $errors = append $errors (printf "%s.bundled.enabled is true and %s.existingSecret is %q; only one can provide the URL. Fix: unset one of them." $store $store $s.existingSecret) -}}
{{- end -}}
{{- if not (or $s.bundled.enabled $s.existingSecret) -}}
{{- $errors = append $errors (printf "no %s: %s.existingSecret is empty and %s.bundled.enabled is false. Fix: create a Secret with the URL in key %q and set %s.existingSecret to its name (or, for evaluation only, profile=evaluation and %s.bundled.enabled=true)." $store $store $store $s.urlKey $store $store) -}}
{{- end -}}
{{- end -}}
{{- if $errors -}}
{{- fail (printf "\n\nobip cannot be installed with these values:\n  - %s\n" (join "\n  - " $errors)) -}}
{{- end -}}
{{- end -}}
