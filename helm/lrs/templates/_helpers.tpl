{{/* Chart name, truncated to the 63 characters of a DNS label. */}}
{{- define "lrs.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Release-qualified name; the role's resources append "-api", "-ingest", "-query". */}}
{{- define "lrs.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 56 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 56 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 56 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "lrs.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every resource. */}}
{{- define "lrs.labels" -}}
helm.sh/chart: {{ include "lrs.chart" . }}
{{ include "lrs.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: lrs
{{- end }}

{{- define "lrs.selectorLabels" -}}
app.kubernetes.io/name: {{ include "lrs.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Labels of one role's resources; call with (dict "root" $ "role" "api"). */}}
{{- define "lrs.roleLabels" -}}
{{ include "lrs.labels" .root }}
app.kubernetes.io/component: {{ .role }}
{{- end }}

{{- define "lrs.roleSelectorLabels" -}}
{{ include "lrs.selectorLabels" .root }}
app.kubernetes.io/component: {{ .role }}
{{- end }}

{{- define "lrs.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "lrs.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "lrs.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* The Secret holding the store URI. */}}
{{- define "lrs.storageSecretName" -}}
{{- default (include "lrs.fullname" .) .Values.storage.existingSecret }}
{{- end }}

{{/* The Secret holding credentials.json; empty when Basic credentials are not configured. */}}
{{- define "lrs.credentialsSecretName" -}}
{{- if .Values.credentials.existingSecret }}
{{- .Values.credentials.existingSecret }}
{{- else if .Values.credentials.json }}
{{- include "lrs.fullname" . }}
{{- end }}
{{- end }}

{{/* The Secret holding the JWT issuers' public keys; empty when there are none. */}}
{{- define "lrs.jwtSecretName" -}}
{{- if .Values.jwt.existingSecret }}
{{- .Values.jwt.existingSecret }}
{{- else if .Values.jwt.keys }}
{{- printf "%s-jwt" (include "lrs.fullname" .) }}
{{- end }}
{{- end }}

{{/* Does the chart render its own Secret (store URI, credentials.json, dashboard session key)? */}}
{{- define "lrs.ownSecret" -}}
{{- if or (not .Values.storage.existingSecret) (and .Values.credentials.json (not .Values.credentials.existingSecret)) (not .Values.dashboard.existingSecret) }}true{{ end }}
{{- end }}

{{/* The Secret holding the dashboard session key. */}}
{{- define "lrs.dashboardSecretName" -}}
{{- default (include "lrs.fullname" .) .Values.dashboard.existingSecret }}
{{- end }}

{{/*
The dashboard session key the chart's Secret holds: dashboard.sessionSecret, else the one the
installed Secret already holds (so an upgrade keeps every session valid), else a new random one.
*/}}
{{- define "lrs.dashboardSessionSecret" -}}
{{- if .Values.dashboard.sessionSecret }}
{{- .Values.dashboard.sessionSecret }}
{{- else }}
{{- $existing := lookup "v1" "Secret" .Release.Namespace (include "lrs.fullname" .) }}
{{- if and $existing $existing.data (index $existing.data "dashboard-session-secret") }}
{{- index $existing.data "dashboard-session-secret" | b64dec }}
{{- else }}
{{- randAlphaNum 48 }}
{{- end }}
{{- end }}
{{- end }}

{{/* lrs.toml: the free-form `config` value, then one [[auth.jwt]] table per jwt.issuers entry. */}}
{{- define "lrs.configToml" -}}
{{- tpl .Values.config . }}
{{- range .Values.jwt.issuers }}

[[auth.jwt]]
issuer = {{ required "jwt.issuers[].issuer is required" .issuer | quote }}
audience = {{ required "jwt.issuers[].audience is required" .audience | quote }}
algorithm = {{ default "RS256" .algorithm | quote }}
key_file = {{ printf "/etc/lrs/jwt/%s" (required "jwt.issuers[].keyFile is required" .keyFile) | quote }}
{{- if hasKey . "leewaySeconds" }}
leeway_seconds = {{ .leewaySeconds | int }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Checks run once per render: the roles live in separate pods, so they must share the log and the
store; ingest consumers beyond the topic's partition count would sit idle.
*/}}
{{- define "lrs.validate" -}}
{{- $log := required "log.uri is required (kafka://host:9092/TOPIC?partitions=N)" .Values.log.uri }}
{{- if not (hasPrefix "kafka://" $log) }}
{{- fail (printf "log.uri must be a kafka:// URI: the api, ingest and query pods share the log (got %q)" $log) }}
{{- end }}
{{- if not .Values.storage.existingSecret }}
{{- $store := required "storage.uri (or storage.existingSecret) is required" .Values.storage.uri }}
{{- if not (or (hasPrefix "postgres://" $store) (hasPrefix "postgresql://" $store) (hasPrefix "scylla://" $store)) }}
{{- fail "storage.uri must be a postgres:// or scylla:// URI: the pods share the store" }}
{{- end }}
{{- end }}
{{- $partitions := regexFind "[?&]partitions=[0-9]+" $log | regexFind "[0-9]+$" }}
{{- if and $partitions .Values.ingest.enabled (gt (int .Values.ingest.replicas) (int $partitions)) }}
{{- fail (printf "ingest.replicas (%d) exceeds the topic's partitions (%s): the extra consumers would get no partition" (int .Values.ingest.replicas) $partitions) }}
{{- end }}
{{- if and .Values.jwt.issuers (not (include "lrs.jwtSecretName" .)) }}
{{- fail "jwt.issuers needs the public keys: set jwt.keys or jwt.existingSecret" }}
{{- end }}
{{- if not (or .Values.api.enabled .Values.ingest.enabled .Values.query.enabled) }}
{{- fail "enable at least one of api, ingest, query" }}
{{- end }}
{{- end }}
