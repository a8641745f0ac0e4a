{{/*
Names, labels, images and the merged platform settings every ChargeWatch chart shares.
A service chart's values follow one shape (see helm/authz/values.yaml); `.Values.global.chargewatch`
is the platform block the umbrella chart sets once for all services.
*/}}

{{- define "chargewatch-lib.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* `<release>-<chart>`, or just the release name when it already is the chart name. */}}
{{- define "chargewatch-lib.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- include "chargewatch-lib.peerName" (list . (include "chargewatch-lib.name" .)) -}}
{{- end -}}
{{- end -}}

{{/* The Service name of another component of the same release: (list $ "authz"). */}}
{{- define "chargewatch-lib.peerName" -}}
{{- $ctx := index . 0 -}}
{{- $component := index . 1 -}}
{{- if eq $ctx.Release.Name $component -}}
{{- $component | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" $ctx.Release.Name $component | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "chargewatch-lib.selectorLabels" -}}
app.kubernetes.io/name: {{ include "chargewatch-lib.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "chargewatch-lib.labels" -}}
{{ include "chargewatch-lib.selectorLabels" . }}
app.kubernetes.io/component: {{ include "chargewatch-lib.name" . }}
app.kubernetes.io/part-of: chargewatch
app.kubernetes.io/version: {{ .Chart.AppVersion | default .Chart.Version | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end -}}

{{/* Platform defaults; the chart's and the umbrella's `global.chargewatch` override them key by key. */}}
{{- define "chargewatch-lib.globalDefaults" -}}
mode: production
logLevel: INFO
imageRegistry: ""
imageTag: ""
redis:
  url: "redis://{{ .Release.Name }}-redis:6379/0"
  existingSecret: {name: "", key: ""}
mongo:
  url: "mongodb://{{ .Release.Name }}-mongodb:27017/"
  existingSecret: {name: "", key: ""}
keycloak:
  url: "http://{{ .Release.Name }}-keycloak:8080"
  realm: chargewatch
  apiAudience: chargewatch-partner-api
streams:
  partitions: 1
  maxLen: 1000000
otel:
  endpoint: ""
  protocol: http/protobuf
  resourceAttributes: ""
networkPolicy:
  enabled: true
  dns:
    - namespaceSelector:
        matchLabels: {kubernetes.io/metadata.name: kube-system}
      podSelector:
        matchLabels: {k8s-app: kube-dns}
  prometheus:
    - namespaceSelector:
        matchLabels: {kubernetes.io/metadata.name: monitoring}
  ingressController:
    - namespaceSelector:
        matchLabels: {kubernetes.io/metadata.name: ingress-nginx}
  dependencies:
    redis:
      port: 6379
      to:
        - podSelector:
            matchLabels: {app.kubernetes.io/name: redis}
    mongo:
      port: 27017
      to:
        - podSelector:
            matchLabels: {app.kubernetes.io/name: mongodb}
    keycloak:
      port: 8080
      to:
        - podSelector:
            matchLabels: {app.kubernetes.io/name: keycloak}
    otel:
      port: 4318
      to:
        - podSelector:
            matchLabels: {app.kubernetes.io/name: otel-collector}
serviceMonitor:
  enabled: false
  interval: 30s
  labels: {}
{{- end -}}

{{/* The merged platform block as YAML; use with `fromYaml`. */}}
{{- define "chargewatch-lib.global" -}}
{{- $defaults := include "chargewatch-lib.globalDefaults" . | fromYaml -}}
{{- $given := dig "chargewatch" (dict) (.Values.global | default (dict)) -}}
{{- mergeOverwrite $defaults (deepCopy $given) | toYaml -}}
{{- end -}}

{{- define "chargewatch-lib.image" -}}
{{- $g := include "chargewatch-lib.global" . | fromYaml -}}
{{- $registry := .Values.image.registry | default $g.imageRegistry -}}
{{- $tag := .Values.image.tag | default $g.imageTag | default .Chart.AppVersion -}}
{{- if .Values.image.digest -}}
{{- printf "%s%s@%s" (ternary "" (printf "%s/" $registry) (empty $registry)) .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s%s:%s" (ternary "" (printf "%s/" $registry) (empty $registry)) .Values.image.repository $tag -}}
{{- end -}}
{{- end -}}

{{- define "chargewatch-lib.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- .Values.serviceAccount.name | default (include "chargewatch-lib.fullname" .) -}}
{{- else -}}
{{- .Values.serviceAccount.name | default "default" -}}
{{- end -}}
{{- end -}}

{{/*
The non-secret environment of the service as a map (rendered into its ConfigMap): the shared
platform settings the service reads, its ports, the addresses of its peers, OpenTelemetry, and
last the chart's `config` map (so any setting, also one added after this chart, can be set).
*/}}
{{- define "chargewatch-lib.configData" -}}
{{- $g := include "chargewatch-lib.global" . | fromYaml -}}
{{- $data := dict -}}
{{- $_ := set $data "CHARGEWATCH_MODE" $g.mode -}}
{{- $_ := set $data "LOG_LEVEL" $g.logLevel -}}
{{- $_ := set $data "CW_STREAM_PARTITIONS" (toString $g.streams.partitions) -}}
{{- $_ := set $data "CW_STREAM_MAX_LEN" (toString (int64 $g.streams.maxLen)) -}}
{{- if and .Values.uses.redis (not $g.redis.existingSecret.name) -}}
{{- $_ := set $data "REDIS_URL" (tpl $g.redis.url .) -}}
{{- end -}}
{{- if and .Values.uses.mongo (not $g.mongo.existingSecret.name) -}}
{{- $_ := set $data "MONGO_URL" (tpl $g.mongo.url .) -}}
{{- end -}}
{{- if .Values.uses.keycloak -}}
{{- $_ := set $data "KEYCLOAK_URL" (tpl $g.keycloak.url .) -}}
{{- $_ := set $data "KEYCLOAK_REALM" $g.keycloak.realm -}}
{{- $_ := set $data "CW_API_AUDIENCE" $g.keycloak.apiAudience -}}
{{- end -}}
{{- $_ := set $data (printf "%sSHUTDOWN_GRACE_SECONDS" .Values.envPrefix) (toString .Values.lifecycle.shutdownGraceSeconds) -}}
{{- range $name, $port := .Values.ports -}}
{{- if $port.env -}}
{{- $_ := set $data $port.env (toString $port.port) -}}
{{- end -}}
{{- end -}}
{{- range $peer, $spec := .Values.peers -}}
{{- if $spec.env -}}
{{- $_ := set $data $spec.env (printf "%s:%d" (include "chargewatch-lib.peerName" (list $ $peer)) (int $spec.port)) -}}
{{- end -}}
{{- end -}}
{{- $_ := set $data "OTEL_SERVICE_NAME" (include "chargewatch-lib.name" .) -}}
{{- if $g.otel.endpoint -}}
{{- $_ := set $data "OTEL_EXPORTER_OTLP_ENDPOINT" (tpl $g.otel.endpoint .) -}}
{{- $_ := set $data "OTEL_EXPORTER_OTLP_PROTOCOL" $g.otel.protocol -}}
{{- end -}}
{{- if $g.otel.resourceAttributes -}}
{{- $_ := set $data "OTEL_RESOURCE_ATTRIBUTES" $g.otel.resourceAttributes -}}
{{- end -}}
{{- range $key, $value := .Values.config -}}
{{- if eq $key (printf "%sSHUTDOWN_GRACE_SECONDS" $.Values.envPrefix) -}}
{{- fail (printf "config.%s: set lifecycle.shutdownGraceSeconds instead, so the pod's termination grace stays longer" $key) -}}
{{- end -}}
{{- range $portName, $port := $.Values.ports -}}
{{- if eq $key ($port.env | default "") -}}
{{- fail (printf "config.%s: set ports.%s.port instead, so the container port, probes, Service and NetworkPolicy follow" $key $portName) -}}
{{- end -}}
{{- end -}}
{{- if regexMatch "(?i)(SECRET|PASSWORD)" $key -}}
{{- fail (printf "config.%s looks like a secret: reference a Kubernetes Secret through secretEnv or envFromSecrets instead" $key) -}}
{{- end -}}
{{- if not (regexMatch "^[A-Za-z_][A-Za-z0-9_]*$" $key) -}}
{{- fail (printf "config.%s is not a valid environment variable name" $key) -}}
{{- end -}}
{{- if kindIs "float64" $value -}}
{{- $_ := set $data $key (ternary (toString (int64 $value)) (toString $value) (eq (float64 (int64 $value)) $value)) -}}
{{- else if or (kindIs "slice" $value) (kindIs "map" $value) -}}
{{- $_ := set $data $key (toJson $value) -}}
{{- else -}}
{{- $_ := set $data $key (tpl (toString $value) $) -}}
{{- end -}}
{{- end -}}
{{- toYaml $data -}}
{{- end -}}

{{/* Environment entries that come from the pod itself or from Secrets (never from values). */}}
{{- define "chargewatch-lib.env" -}}
{{- $g := include "chargewatch-lib.global" . | fromYaml -}}
- name: POD_NAME
  valueFrom: {fieldRef: {fieldPath: metadata.name}}
- name: POD_NAMESPACE
  valueFrom: {fieldRef: {fieldPath: metadata.namespace}}
- name: POD_IP
  valueFrom: {fieldRef: {fieldPath: status.podIP}}
{{- if and .Values.uses.redis $g.redis.existingSecret.name }}
- name: REDIS_URL
  valueFrom: {secretKeyRef: {name: {{ $g.redis.existingSecret.name | quote }}, key: {{ $g.redis.existingSecret.key | quote }}}}
{{- end }}
{{- if and .Values.uses.mongo $g.mongo.existingSecret.name }}
- name: MONGO_URL
  valueFrom: {secretKeyRef: {name: {{ $g.mongo.existingSecret.name | quote }}, key: {{ $g.mongo.existingSecret.key | quote }}}}
{{- end }}
{{- range $name, $ref := .Values.secretEnv }}
- name: {{ $name }}
  valueFrom:
    secretKeyRef:
      name: {{ tpl $ref.name $ | quote }}
      key: {{ $ref.key | quote }}
      optional: {{ $ref.optional | default false }}
{{- end }}
{{- with .Values.env }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* How long the pod may take to stop: the preStop pause plus the service's own grace, plus a margin. */}}
{{- define "chargewatch-lib.terminationGrace" -}}
{{- add (int .Values.lifecycle.preStopSleepSeconds) (int .Values.lifecycle.shutdownGraceSeconds) (int .Values.lifecycle.terminationMarginSeconds) -}}
{{- end -}}
