{{/*
Helpers. Most take a dict: (dict "ctx" $ "component" "router"), where component is one of
router, retriever, aggregator, domain, tgi or test.
*/}}

{{/* The chart name, for app.kubernetes.io/name. */}}
{{- define "accel.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The prefix of every resource name: <release>-accel, or the release name when it contains the chart name. */}}
{{- define "accel.fullname" -}}
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

{{- define "accel.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The accel services this release runs, as a JSON list. */}}
{{- define "accel.components" -}}
{{- if eq .Values.component "core" }}
{{- list "router" "retriever" "aggregator" | toJson }}
{{- else if eq .Values.component "domain" }}
{{- list "domain" | toJson }}
{{- else }}
{{- fail (printf "component must be core or domain, not %q" .Values.component) }}
{{- end }}
{{- end }}

{{/* Checks that the schema cannot express; called from every template. */}}
{{- define "accel.validate" -}}
{{- if eq .Values.component "domain" }}
{{- if not .Values.domain.name }}
{{- fail "domain.name is required when component=domain (a folder name under domains/)" }}
{{- end }}
{{- if and (not .Values.domain.endpoint) (not .Values.tgi.enabled) }}
{{- fail (printf "domain %q has no model: set domain.endpoint to a TGI base URL, or tgi.enabled=true" .Values.domain.name) }}
{{- end }}
{{- end }}
{{- if and .Values.nats.auth.enabled (not .Values.nats.auth.secretName) }}
{{- fail "nats.auth.enabled needs nats.auth.secretName" }}
{{- end }}
{{- end }}

{{/* <fullname>-<component>, e.g. accel-core-router, accel-travel-domain, accel-travel-tgi. */}}
{{- define "accel.componentName" -}}
{{- printf "%s-%s" (include "accel.fullname" .ctx) .component | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "accel.selectorLabels" -}}
app.kubernetes.io/name: {{ include "accel.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "accel.labels" -}}
helm.sh/chart: {{ include "accel.chart" .ctx }}
{{ include "accel.selectorLabels" . }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
app.kubernetes.io/part-of: accelerated-llm
{{- if eq .ctx.Values.component "domain" }}
accelerated-llm/domain: {{ .ctx.Values.domain.name }}
{{- end }}
{{- end }}

{{/* The service's image: <registry>/<repository>-<component>:<tag>. */}}
{{- define "accel.image" -}}
{{- $img := .ctx.Values.image }}
{{- $name := printf "%s-%s:%s" $img.repository .component (default .ctx.Chart.AppVersion $img.tag) }}
{{- if $img.registry }}{{ printf "%s/%s" (trimSuffix "/" $img.registry) $name }}{{ else }}{{ $name }}{{ end }}
{{- end }}

{{/* The NATS service-API name the service registers: accel-router, accel-domain-travel… */}}
{{- define "accel.serviceName" -}}
{{- if eq .component "domain" }}{{ printf "accel-domain-%s" .ctx.Values.domain.name }}{{ else }}{{ printf "accel-%s" .component }}{{ end }}
{{- end }}

{{/* The conf variable holding a service's permissions: ACCEL_ROUTER, ACCEL_DOMAIN_TRAVEL… */}}
{{- define "accel.permissionsVar" -}}
{{- if eq .component "client" }}ACCEL_CLIENT{{ else }}{{ include "accel.serviceName" . | upper | replace "-" "_" }}{{ end }}
{{- end }}

{{- define "accel.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "accel.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The in-release TGI's OpenAI-compatible base URL. */}}
{{- define "accel.tgiUrl" -}}
{{- printf "http://%s:%v/v1" (include "accel.componentName" (dict "ctx" . "component" "tgi")) .Values.tgi.port }}
{{- end }}

{{- define "accel.modelEndpoint" -}}
{{- default (include "accel.tgiUrl" .) .Values.domain.endpoint }}
{{- end }}

{{- define "accel.routerLlm" -}}
{{- if .Values.router.llm }}{{ .Values.router.llm }}{{ else if .Values.tgi.enabled }}{{ include "accel.tgiUrl" . }}{{ else }}off{{ end }}
{{- end }}

{{/*
ACCEL_NATS_URL, with the user and password of .user (router, domain, client…) spliced into every URL
when nats.auth is enabled. Kubernetes expands $(NATS_USER) from the variables defined before it.
*/}}
{{- define "accel.natsEnv" -}}
{{- $auth := .ctx.Values.nats.auth }}
{{- if $auth.enabled }}
- name: NATS_USER
  valueFrom:
    secretKeyRef: { name: {{ $auth.secretName | quote }}, key: {{ printf "%s-user" .user | quote }} }
- name: NATS_PASSWORD
  valueFrom:
    secretKeyRef: { name: {{ $auth.secretName | quote }}, key: {{ printf "%s-password" .user | quote }} }
- name: ACCEL_NATS_URL
  value: {{ regexReplaceAll "(^|,)\\s*([a-z]+)://" .ctx.Values.nats.url "${1}${2}://__CREDENTIALS__@" | replace "__CREDENTIALS__" "$(NATS_USER):$(NATS_PASSWORD)" | quote }}
{{- else }}
- name: ACCEL_NATS_URL
  value: {{ .ctx.Values.nats.url | quote }}
{{- end }}
{{- end }}

{{/* The environment of an accel service container. */}}
{{- define "accel.env" -}}
{{- $v := .ctx.Values }}
{{- include "accel.natsEnv" (dict "ctx" .ctx "user" .component) | trim }}
- name: HOME # the root filesystem is read-only; /tmp is an emptyDir
  value: /tmp
- name: ACCEL_LOG_LEVEL
  value: {{ $v.logLevel | quote }}
- name: OTEL_SERVICE_NAME
  value: {{ include "accel.serviceName" . | quote }}
- name: OTEL_TRACES_EXPORTER
  value: {{ $v.otel.tracesExporter | quote }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ $v.otel.endpoint | quote }}
{{- if has .component (list "router" "aggregator") }}
- name: ACCEL_REDIS_URL
  value: {{ $v.redis.url | quote }}
{{- end }}
{{- if eq .component "router" }}
- name: ACCEL_ROUTER_LLM
  value: {{ include "accel.routerLlm" .ctx | quote }}
{{- with $v.router.llmApiKeySecret }}
{{- if .name }}
- name: ACCEL_ROUTER_LLM_API_KEY
  valueFrom:
    secretKeyRef: { name: {{ .name | quote }}, key: {{ .key | quote }} }
{{- end }}
{{- end }}
- name: ACCEL_CACHE_DIR
  value: /data/cache
{{- else if eq .component "retriever" }}
- name: ACCEL_INDEX_DIR
  value: /data/index
{{- else if eq .component "domain" }}
- name: ACCEL_DOMAIN
  value: {{ $v.domain.name | quote }}
- name: ACCEL_MODEL_ENDPOINT
  value: {{ include "accel.modelEndpoint" .ctx | quote }}
- name: ACCEL_MAX_CONCURRENCY
  value: {{ $v.domain.maxConcurrency | quote }}
{{- with $v.domain.apiKeySecret }}
{{- if .name }}
- name: ACCEL_MODEL_API_KEY
  valueFrom:
    secretKeyRef: { name: {{ .name | quote }}, key: {{ .key | quote }} }
{{- end }}
{{- end }}
{{- end }}
{{- with $v.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* The exec probe: the image's own health check, a NATS service-API ping. */}}
{{- define "accel.healthcheck" -}}
exec:
  command: ["python", "-m", "shared.healthcheck", {{ include "accel.serviceName" . | quote }}]
{{- end }}

{{/* A subject list as a JSON / nats.conf array, each entry rendered with tpl. */}}
{{- define "accel.subjects" -}}
{{- $ctx := .ctx -}}
[{{- range $i, $s := .subjects }}{{ if $i }}, {{ end }}{{ tpl $s $ctx | quote }}{{- end }}]
{{- end }}
