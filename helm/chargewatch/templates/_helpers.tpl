{{- define "chargewatch.labels" -}}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/part-of: chargewatch
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* A random value, or the one an earlier install stored (so upgrades keep it). (list $ secretName key) */}}
{{- define "chargewatch.keptRandom" -}}
{{- $ctx := index . 0 -}}
{{- $existing := lookup "v1" "Secret" $ctx.Release.Namespace (index . 1) -}}
{{- if and $existing (hasKey $existing.data (index . 2)) -}}
{{- index $existing.data (index . 2) -}}
{{- else -}}
{{- randAlphaNum 40 | b64enc -}}
{{- end -}}
{{- end -}}
