{{/*
One NetworkPolicy per service, both directions. Ingress: each port lists who may reach it
(`ports.<name>.allowFrom`); a port with nobody listed is reachable by nobody. Egress: DNS, the
infrastructure the service uses, the peers it calls, public addresses on `networkPolicy.publicEgress.ports`
(the partner API's webhooks), and nothing else.
*/}}

{{- define "chargewatch-lib.componentPeer" -}}
{{- $ctx := index . 0 -}}
{{- $component := index . 1 -}}
- podSelector:
    matchLabels:
      app.kubernetes.io/name: {{ $component }}
      app.kubernetes.io/instance: {{ $ctx.Release.Name }}
{{- end -}}

{{- define "chargewatch-lib.networkpolicy" -}}
{{- $g := include "chargewatch-lib.global" . | fromYaml -}}
{{- if $g.networkPolicy.enabled }}
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ include "chargewatch-lib.fullname" . }}
  labels:
    {{- include "chargewatch-lib.labels" . | nindent 4 }}
spec:
  podSelector:
    matchLabels:
      {{- include "chargewatch-lib.selectorLabels" . | nindent 6 }}
  policyTypes: [Ingress, Egress]
  ingress:
    {{- range $name, $port := .Values.ports }}
    {{- $from := $port.allowFrom | default (dict) }}
    {{- $peers := list }}
    {{- range $from.components | default list }}
    {{- $peers = concat $peers (include "chargewatch-lib.componentPeer" (list $ .) | fromYamlArray) }}
    {{- end }}
    {{- if $from.prometheus }}
    {{- $peers = concat $peers $g.networkPolicy.prometheus }}
    {{- end }}
    {{- if $from.ingressController }}
    {{- $peers = concat $peers ($g.networkPolicy.ingressController | default list) }}
    {{- end }}
    {{- range $from.cidrs | default list }}
    {{- $peers = append $peers (dict "ipBlock" (dict "cidr" .)) }}
    {{- end }}
    {{- $peers = concat $peers ($from.peers | default list) }}
    {{- if $peers }}
    - ports:
        - port: {{ $port.port }}
          protocol: TCP
      from:
        {{- toYaml $peers | nindent 8 }}
    {{- end }}
    {{- end }}
    {{- with .Values.networkPolicy.extraIngress }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  egress:
    - ports:
        - {port: 53, protocol: UDP}
        - {port: 53, protocol: TCP}
      to:
        {{- toYaml $g.networkPolicy.dns | nindent 8 }}
    {{- range $dependency := list "redis" "mongo" "keycloak" }}
    {{- if index $.Values.uses $dependency }}
    {{- $rule := index $g.networkPolicy.dependencies $dependency }}
    - ports:
        - port: {{ $rule.port }}
          protocol: TCP
      to:
        {{- toYaml $rule.to | nindent 8 }}
    {{- end }}
    {{- end }}
    {{- if $g.otel.endpoint }}
    - ports:
        - port: {{ $g.networkPolicy.dependencies.otel.port }}
          protocol: TCP
      to:
        {{- toYaml $g.networkPolicy.dependencies.otel.to | nindent 8 }}
    {{- end }}
    {{- range $peer, $spec := .Values.peers }}
    - ports:
        - port: {{ $spec.port }}
          protocol: TCP
      to:
        {{- include "chargewatch-lib.componentPeer" (list $ $peer) | nindent 8 }}
    {{- end }}
    {{- $public := .Values.networkPolicy.publicEgress | default (dict) }}
    {{- if $public.ports }}
    # Public addresses only: never the cluster's or the provider's private ranges, so a URL given by a
    # user (a webhook) cannot reach anything inside, whatever its host name resolves to.
    - ports:
        {{- range $public.ports }}
        - port: {{ . }}
          protocol: TCP
        {{- end }}
      to:
        - ipBlock:
            cidr: 0.0.0.0/0
            except:
              {{- toYaml $public.exceptCidrs | nindent 14 }}
    {{- end }}
    {{- with .Values.networkPolicy.extraEgress }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
{{- end }}
{{- end -}}
