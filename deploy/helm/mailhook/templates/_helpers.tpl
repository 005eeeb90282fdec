{{/*
Names, labels, the daemon's TOML (rendered from values), and the pod template the three
workloads share.
*/}}

{{- define "mailhook.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "mailhook.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "mailhook.selectorLabels" -}}
app.kubernetes.io/name: {{ include "mailhook.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "mailhook.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "mailhook.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "mailhook.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "mailhook.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "mailhook.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* The port probes and Prometheus use: the monitoring listener, or the admin port. */}}
{{- define "mailhook.probePortName" -}}
{{- if gt (int .Values.ports.monitoring) 0 }}monitoring{{ else }}admin{{ end }}
{{- end }}
{{- define "mailhook.probePort" -}}
{{- if gt (int .Values.ports.monitoring) 0 }}{{ .Values.ports.monitoring }}{{ else }}{{ .Values.ports.admin }}{{ end }}
{{- end }}

{{/* Where secrets are mounted in the pods. */}}
{{- define "mailhook.adminTokensDir" -}}/etc/mailhook/admin-tokens{{- end }}
{{- define "mailhook.apiKeysDir" -}}/etc/mailhook/sendgrid{{- end }}
{{- define "mailhook.configDir" -}}/etc/mailhook/config{{- end }}

{{/*
TOML from a map, as the daemon reads it (docs/configuration.md): scalars first, then
sub-tables ([a.b]), then arrays of tables ([[a.b]]), each sorted by key. Values files
give every number as a float: integral ones are written as integers, as the daemon's
integer keys require.
  include "mailhook.toml" (dict "table" $map "path" (list))
*/}}
{{- define "mailhook.toml" -}}
{{- $table := .table -}}
{{- $path := .path -}}
{{- range $key := keys $table | sortAlpha -}}
{{- $value := get $table $key -}}
{{- if not (or (kindIs "map" $value) (kindIs "invalid" $value) (eq (include "mailhook.tomlIsTableArray" $value) "true")) -}}
{{ printf "%s = %s\n" (include "mailhook.tomlKey" $key) (include "mailhook.tomlValue" $value) }}
{{- end -}}
{{- end -}}
{{- range $key := keys $table | sortAlpha -}}
{{- $value := get $table $key -}}
{{- $sub := append $path $key -}}
{{- if kindIs "map" $value -}}
{{ printf "\n[%s]\n" (include "mailhook.tomlPath" $sub) }}
{{- include "mailhook.toml" (dict "table" $value "path" $sub) -}}
{{- else if eq (include "mailhook.tomlIsTableArray" $value) "true" -}}
{{- range $item := $value -}}
{{ printf "\n[[%s]]\n" (include "mailhook.tomlPath" $sub) }}
{{- include "mailhook.toml" (dict "table" $item "path" $sub) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "mailhook.tomlIsTableArray" -}}
{{- and (kindIs "slice" .) (gt (len .) 0) (kindIs "map" (first .)) -}}
{{- end -}}

{{- define "mailhook.tomlKey" -}}
{{- if regexMatch "^[A-Za-z0-9_-]+$" . }}{{ . }}{{ else }}{{ toJson . }}{{ end -}}
{{- end -}}

{{- define "mailhook.tomlPath" -}}
{{- $parts := list -}}
{{- range . }}{{ $parts = append $parts (include "mailhook.tomlKey" .) }}{{ end -}}
{{- join "." $parts -}}
{{- end -}}

{{- define "mailhook.tomlValue" -}}
{{- if kindIs "string" . -}}{{ toJson . }}
{{- else if kindIs "bool" . -}}{{ ternary "true" "false" . }}
{{- else if or (kindIs "float64" .) (kindIs "float32" .) -}}
{{- if eq (float64 .) (float64 (int64 .)) }}{{ int64 . }}{{ else }}{{ . }}{{ end -}}
{{- else if or (kindIs "int" .) (kindIs "int64" .) -}}{{ . }}
{{- else if kindIs "slice" . -}}
{{- $items := list -}}
{{- range . }}{{ $items = append $items (include "mailhook.tomlValue" .) }}{{ end -}}
[{{ join ", " $items }}]
{{- else -}}
{{- fail (printf "config: cannot write %v (%s) as TOML" . (kindOf .)) -}}
{{- end -}}
{{- end -}}

{{/*
The daemon's configuration: `config` from values, under the keys the chart owns (listen
addresses, index.dir, report.dir, dedup.dir, Kafka, log, tokens, TLS files, sources, integrations).
*/}}
{{- define "mailhook.config" -}}
{{- $v := .Values -}}
{{- $c := deepCopy ($v.config | default dict) -}}
{{- range $owned := list "roles" "sources" "integrations" -}}
{{- if hasKey $c $owned }}{{ fail (printf "config.%s: set it through the chart's own values (docs/deploy.md)" $owned) }}{{ end -}}
{{- end -}}

{{- $_ := set $c "log" (merge (dict "level" $v.log.level "format" $v.log.format) (get $c "log" | default dict)) -}}

{{- $admin := get $c "admin" | default dict -}}
{{- $ns := .Release.Namespace -}}
{{- $hosts := list -}}
{{- /* The admin API's Services by every name a client in the cluster may use. */ -}}
{{- range $suffix := list "admin" "report" -}}
{{- $service := printf "%s-%s" (include "mailhook.fullname" $) $suffix -}}
{{- $hosts = concat $hosts (list $service (printf "%s.%s" $service $ns) (printf "%s.%s.svc" $service $ns) (printf "%s.%s.svc.cluster.local" $service $ns)) -}}
{{- end -}}
{{- $hosts = concat $hosts ($v.admin.allowedHosts | default list) -}}
{{- $_ = set $admin "listen" (printf "0.0.0.0:%d" (int $v.ports.admin)) -}}
{{- $_ = set $admin "allowed_hosts" $hosts -}}
{{- $_ = unset $admin "allow_unauthenticated" -}}
{{- if $v.adminTokens.tokens -}}
{{- if not $v.adminTokens.existingSecret }}{{ fail "adminTokens.tokens needs adminTokens.existingSecret (a Secret with one key per token name)" }}{{ end -}}
{{- $tokens := list -}}
{{- range $v.adminTokens.tokens -}}
{{- $tokens = append $tokens (dict "name" .name "scope" .scope "file" (printf "%s/%s" (include "mailhook.adminTokensDir" $) .name)) -}}
{{- end -}}
{{- $_ = set $admin "tokens" $tokens -}}
{{- else -}}
{{- $_ = unset $admin "tokens" -}}
{{- end -}}
{{- if $v.admin.tlsSecret -}}
{{- $_ = set $admin "tls" (dict "certificate" "/etc/mailhook/admin-tls/tls.crt" "private_key" "/etc/mailhook/admin-tls/tls.key") -}}
{{- end -}}
{{- if gt (int $v.ports.monitoring) 0 -}}
{{- $_ = set $admin "monitoring" (dict "listen" (printf "0.0.0.0:%d" (int $v.ports.monitoring))) -}}
{{- else if $v.admin.tlsSecret -}}
{{- fail "ports.monitoring: keep the monitoring listener when the admin port speaks HTTPS (probes and scrapes use it)" -}}
{{- end -}}
{{- $_ = set $c "admin" $admin -}}

{{- $kafka := get $c "kafka" | default dict -}}
{{- $properties := merge (deepCopy ($v.kafka.properties | default dict)) (get $kafka "properties" | default dict) -}}
{{- if hasKey $properties "sasl.password" }}{{ fail "kafka.properties: sasl.password comes from kafka.saslPasswordSecret, never from values" }}{{ end -}}
{{- $_ = set $kafka "properties" $properties -}}
{{- $_ = set $kafka "bootstrap_servers" $v.kafka.bootstrapServers -}}
{{- $_ = set $kafka "client_id" $v.kafka.clientId -}}
{{- $_ = set $kafka "create_topics" $v.kafka.createTopics -}}
{{- $_ = set $c "kafka" $kafka -}}

{{- $ingest := get $c "ingest" | default dict -}}
{{- $_ = set $ingest "listen" (printf "0.0.0.0:%d" (int $v.ports.webhook)) -}}
{{- if $v.ingest.tlsSecret -}}
{{- $_ = set $ingest "tls_cert_file" "/etc/mailhook/ingest-tls/tls.crt" -}}
{{- $_ = set $ingest "tls_key_file" "/etc/mailhook/ingest-tls/tls.key" -}}
{{- end -}}
{{- $_ = set $c "ingest" $ingest -}}

{{- $index := get $c "index" | default dict -}}
{{- $_ = set $index "dir" "/var/lib/mailhook/index" -}}
{{- $_ = set $c "index" $index -}}
{{- $report := get $c "report" | default dict -}}
{{- $_ = set $report "dir" "/var/lib/mailhook/report" -}}
{{- $_ = set $c "report" $report -}}
{{- $dedup := get $c "dedup" | default dict -}}
{{- $_ = set $dedup "dir" "/var/lib/mailhook/dedup" -}}
{{- $_ = set $c "dedup" $dedup -}}

{{- $sources := dict -}}
{{- range $name, $source := $v.sources -}}
{{- if ne $name (lower $name) }}{{ fail (printf "sources.%s: source names are lower case (the MAILHOOK_SOURCES__NAME__* variables are read in lower case)" $name) }}{{ end -}}
{{- $s := omit $source "fromSecret" -}}
{{- range $key, $ref := ($source.fromSecret | default dict) -}}
{{- if not (has $key (list "public_keys" "bearer_tokens" "basic_auth")) }}{{ fail (printf "sources.%s.fromSecret.%s: only public_keys, bearer_tokens and basic_auth come from Secrets" $name $key) }}{{ end -}}
{{- if hasKey $s $key }}{{ fail (printf "sources.%s.%s: given inline and in fromSecret; keep one" $name $key) }}{{ end -}}
{{- end -}}
{{- $_ = set $sources $name $s -}}
{{- end -}}
{{- $_ = set $c "sources" $sources -}}

{{- $integrations := dict -}}
{{- range $name, $integration := $v.integrations -}}
{{- $i := omit $integration "apiKeySecret" -}}
{{- if or (hasKey $i "api_key_file") (hasKey $i "api_key_env") (hasKey $i "api_key") }}{{ fail (printf "integrations.%s: the API key comes from apiKeySecret (name, key)" $name) }}{{ end -}}
{{- if not (and $integration.apiKeySecret $integration.apiKeySecret.name $integration.apiKeySecret.key) }}{{ fail (printf "integrations.%s.apiKeySecret: name and key of the Secret holding the API key" $name) }}{{ end -}}
{{- $_ = set $i "api_key_file" (printf "%s/%s" (include "mailhook.apiKeysDir" $) $name) -}}
{{- $_ = set $integrations $name $i -}}
{{- end -}}
{{- $_ = set $c "integrations" $integrations -}}
{{- include "mailhook.toml" (dict "table" $c "path" (list)) -}}
{{- end -}}

{{/* Environment variables from Secrets, for every pod: what the daemon reads only from its configuration. */}}
{{- define "mailhook.secretEnv" -}}
{{- range $name, $source := .Values.sources }}
{{- range $key, $ref := ($source.fromSecret | default dict) }}
- name: {{ printf "MAILHOOK_SOURCES__%s__%s" (upper $name) (upper $key) }}
  valueFrom:
    secretKeyRef:
      name: {{ required (printf "sources.%s.fromSecret.%s.name" $name $key) $ref.name }}
      key: {{ required (printf "sources.%s.fromSecret.%s.key" $name $key) $ref.key }}
{{- end }}
{{- end }}
{{- if .Values.kafka.saslPasswordSecret.name }}
- name: MAILHOOK_KAFKA__PROPERTIES__SASL_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .Values.kafka.saslPasswordSecret.name }}
      key: {{ .Values.kafka.saslPasswordSecret.key }}
{{- end }}
{{- end -}}
