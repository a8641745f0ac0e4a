{{/*
The workload of one service: ServiceAccount, ConfigMap, Deployment, Services, HPA, PDB.
Hardening is not optional: the security contexts below are fixed, only the user id is a value.
*/}}

{{- define "chargewatch-lib.serviceaccount" -}}
{{- if .Values.serviceAccount.create }}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ include "chargewatch-lib.serviceAccountName" . }}
  labels:
    {{- include "chargewatch-lib.labels" . | nindent 4 }}
  {{- with .Values.serviceAccount.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
# Services never call the Kubernetes API.
automountServiceAccountToken: false
{{- end }}
{{- end -}}

{{- define "chargewatch-lib.configmap" -}}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "chargewatch-lib.fullname" . }}
  labels:
    {{- include "chargewatch-lib.labels" . | nindent 4 }}
data:
  {{- include "chargewatch-lib.configData" . | nindent 2 }}
{{- end -}}

{{- define "chargewatch-lib.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.securityContext.runAsUser }}
runAsGroup: {{ .Values.securityContext.runAsGroup }}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
privileged: false
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "chargewatch-lib.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.securityContext.runAsUser }}
runAsGroup: {{ .Values.securityContext.runAsGroup }}
fsGroup: {{ .Values.securityContext.runAsGroup }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "chargewatch-lib.probe" -}}
{{- $probe := index . 0 -}}
{{- $port := index . 1 -}}
httpGet:
  path: {{ $probe.path }}
  port: {{ $port }}
periodSeconds: {{ $probe.periodSeconds }}
timeoutSeconds: {{ $probe.timeoutSeconds }}
failureThreshold: {{ $probe.failureThreshold }}
{{- with $probe.initialDelaySeconds }}
initialDelaySeconds: {{ . }}
{{- end }}
{{- end -}}

{{- define "chargewatch-lib.deployment" -}}
{{- if not (hasKey .Values.ports .Values.probes.port) -}}
{{- fail (printf "probes.port %q names no entry of ports" .Values.probes.port) -}}
{{- end -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "chargewatch-lib.fullname" . }}
  labels:
    {{- include "chargewatch-lib.labels" . | nindent 4 }}
spec:
  {{- if not .Values.autoscaling.enabled }}
  replicas: {{ .Values.replicaCount }}
  {{- end }}
  revisionHistoryLimit: 5
  minReadySeconds: {{ .Values.minReadySeconds }}
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxUnavailable: {{ .Values.rollingUpdate.maxUnavailable }}
      maxSurge: {{ .Values.rollingUpdate.maxSurge }}
  selector:
    matchLabels:
      {{- include "chargewatch-lib.selectorLabels" . | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "chargewatch-lib.labels" . | nindent 8 }}
        {{- with .Values.podLabels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      annotations:
        # A changed configuration rolls the pods.
        checksum/config: {{ include "chargewatch-lib.configData" . | sha256sum }}
        {{- with .Values.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      serviceAccountName: {{ include "chargewatch-lib.serviceAccountName" . }}
      automountServiceAccountToken: false
      enableServiceLinks: false
      {{- with .Values.priorityClassName }}
      priorityClassName: {{ . }}
      {{- end }}
      {{- with .Values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      securityContext:
        {{- include "chargewatch-lib.podSecurityContext" . | nindent 8 }}
      terminationGracePeriodSeconds: {{ include "chargewatch-lib.terminationGrace" . }}
      containers:
        - name: {{ include "chargewatch-lib.name" . }}
          image: {{ include "chargewatch-lib.image" . | quote }}
          imagePullPolicy: {{ .Values.image.pullPolicy }}
          securityContext:
            {{- include "chargewatch-lib.containerSecurityContext" . | nindent 12 }}
          ports:
            {{- range $name, $port := .Values.ports }}
            - name: {{ $name }}
              containerPort: {{ $port.port }}
              protocol: TCP
            {{- end }}
          envFrom:
            - configMapRef:
                name: {{ include "chargewatch-lib.fullname" . }}
            {{- range .Values.envFromSecrets }}
            - secretRef:
                name: {{ tpl . $ | quote }}
            {{- end }}
          env:
            {{- include "chargewatch-lib.env" . | nindent 12 }}
          startupProbe:
            {{- include "chargewatch-lib.probe" (list .Values.probes.startup .Values.probes.port) | nindent 12 }}
          livenessProbe:
            {{- include "chargewatch-lib.probe" (list .Values.probes.liveness .Values.probes.port) | nindent 12 }}
          readinessProbe:
            {{- include "chargewatch-lib.probe" (list .Values.probes.readiness .Values.probes.port) | nindent 12 }}
          lifecycle:
            # Keep serving while endpoints and load balancers forget this pod, then SIGTERM starts the drain.
            preStop:
              sleep:
                seconds: {{ .Values.lifecycle.preStopSleepSeconds }}
          resources:
            {{- toYaml .Values.resources | nindent 12 }}
          volumeMounts:
            # The root file system is read-only; Python and libraries get a small scratch /tmp.
            - name: tmp
              mountPath: /tmp
            {{- range .Values.secretMounts }}
            - name: {{ .name }}
              mountPath: {{ .mountPath }}
              readOnly: true
            {{- end }}
            {{- with .Values.extraVolumeMounts }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
      volumes:
        - name: tmp
          emptyDir:
            medium: Memory
            sizeLimit: {{ .Values.tmpSizeLimit }}
        {{- range .Values.secretMounts }}
        - name: {{ .name }}
          secret:
            secretName: {{ tpl .secretName $ }}
            defaultMode: 0440
            {{- with .items }}
            # Only these keys: e.g. a certificate without its private key.
            items:
              {{- toYaml . | nindent 14 }}
            {{- end }}
        {{- end }}
        {{- with .Values.extraVolumes }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- if .Values.topologySpread.enabled }}
      topologySpreadConstraints:
        - maxSkew: 1
          topologyKey: kubernetes.io/hostname
          whenUnsatisfiable: ScheduleAnyway
          labelSelector:
            matchLabels:
              {{- include "chargewatch-lib.selectorLabels" . | nindent 14 }}
        - maxSkew: 1
          topologyKey: topology.kubernetes.io/zone
          whenUnsatisfiable: ScheduleAnyway
          labelSelector:
            matchLabels:
              {{- include "chargewatch-lib.selectorLabels" . | nindent 14 }}
      {{- end }}
      {{- with .Values.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .Values.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .Values.affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
{{- end -}}

{{/* The in-cluster Service: every port marked `service: true`. */}}
{{- define "chargewatch-lib.service" -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "chargewatch-lib.fullname" . }}
  labels:
    {{- include "chargewatch-lib.labels" . | nindent 4 }}
spec:
  type: ClusterIP
  selector:
    {{- include "chargewatch-lib.selectorLabels" . | nindent 4 }}
  ports:
    {{- range $name, $port := .Values.ports }}
    {{- if $port.service }}
    - name: {{ $name }}
      port: {{ $port.port }}
      targetPort: {{ $name }}
      protocol: TCP
      {{- if eq $name "grpc" }}
      appProtocol: grpc
      {{- end }}
    {{- end }}
    {{- end }}
{{- end -}}

{{/*
The public Service of a port that must be reachable from outside as plain TCP (the OCPP endpoint:
TLS ends in the gateway itself, which checks client certificates for security profile 3).
*/}}
{{- define "chargewatch-lib.publicService" -}}
{{- $public := .Values.publicService -}}
{{- if $public.enabled }}
{{- if not (hasKey .Values.ports $public.targetPort) -}}
{{- fail (printf "publicService.targetPort %q names no entry of ports" $public.targetPort) -}}
{{- end }}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "chargewatch-lib.fullname" . }}-public
  labels:
    {{- include "chargewatch-lib.labels" . | nindent 4 }}
  {{- with $public.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  type: {{ $public.type }}
  {{- if ne $public.type "ClusterIP" }}
  # Local keeps the station's source address (rate limits, audit) and avoids a second hop.
  externalTrafficPolicy: {{ $public.externalTrafficPolicy }}
  {{- end }}
  {{- with $public.loadBalancerSourceRanges }}
  loadBalancerSourceRanges:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  selector:
    {{- include "chargewatch-lib.selectorLabels" . | nindent 4 }}
  ports:
    - name: {{ $public.targetPort }}
      port: {{ $public.port }}
      targetPort: {{ $public.targetPort }}
      protocol: TCP
      {{- if and $public.nodePort (ne $public.type "ClusterIP") }}
      nodePort: {{ $public.nodePort }}
      {{- end }}
{{- end }}
{{- end -}}

{{- define "chargewatch-lib.ingress" -}}
{{- $ingress := .Values.ingress -}}
{{- if $ingress.enabled }}
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: {{ include "chargewatch-lib.fullname" . }}
  labels:
    {{- include "chargewatch-lib.labels" . | nindent 4 }}
  {{- with $ingress.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  {{- with $ingress.className }}
  ingressClassName: {{ . }}
  {{- end }}
  {{- if $ingress.tlsSecretName }}
  tls:
    - hosts: [{{ $ingress.host | quote }}]
      secretName: {{ $ingress.tlsSecretName }}
  {{- end }}
  rules:
    - host: {{ $ingress.host | quote }}
      http:
        paths:
          {{- range ($ingress.paths | default (list "/")) }}
          - path: {{ . }}
            pathType: Prefix
            backend:
              service:
                name: {{ include "chargewatch-lib.fullname" $ }}
                port:
                  name: {{ $ingress.targetPort }}
          {{- end }}
{{- end }}
{{- end -}}

{{- define "chargewatch-lib.hpa" -}}
{{- if .Values.autoscaling.enabled }}
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ include "chargewatch-lib.fullname" . }}
  labels:
    {{- include "chargewatch-lib.labels" . | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ include "chargewatch-lib.fullname" . }}
  minReplicas: {{ .Values.autoscaling.minReplicas }}
  maxReplicas: {{ .Values.autoscaling.maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ .Values.autoscaling.targetCPUUtilizationPercentage }}
    {{- with .Values.autoscaling.targetMemoryUtilizationPercentage }}
    - type: Resource
      resource:
        name: memory
        target:
          type: Utilization
          averageUtilization: {{ . }}
    {{- end }}
  behavior:
    scaleDown:
      stabilizationWindowSeconds: {{ .Values.autoscaling.scaleDown.stabilizationWindowSeconds }}
      policies:
        - type: Pods
          value: {{ .Values.autoscaling.scaleDown.podsPerPeriod }}
          periodSeconds: {{ .Values.autoscaling.scaleDown.periodSeconds }}
{{- end }}
{{- end -}}

{{- define "chargewatch-lib.pdb" -}}
{{- if .Values.podDisruptionBudget.enabled }}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "chargewatch-lib.fullname" . }}
  labels:
    {{- include "chargewatch-lib.labels" . | nindent 4 }}
spec:
  maxUnavailable: {{ .Values.podDisruptionBudget.maxUnavailable }}
  selector:
    matchLabels:
      {{- include "chargewatch-lib.selectorLabels" . | nindent 6 }}
{{- end }}
{{- end -}}

{{- define "chargewatch-lib.servicemonitor" -}}
{{- $g := include "chargewatch-lib.global" . | fromYaml -}}
{{- if $g.serviceMonitor.enabled }}
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: {{ include "chargewatch-lib.fullname" . }}
  labels:
    {{- include "chargewatch-lib.labels" . | nindent 4 }}
    {{- with $g.serviceMonitor.labels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  selector:
    matchLabels:
      {{- include "chargewatch-lib.selectorLabels" . | nindent 6 }}
  endpoints:
    {{- range $name, $port := .Values.ports }}
    {{- if $port.metrics }}
    - port: {{ $name }}
      path: /metrics
      interval: {{ $g.serviceMonitor.interval }}
    {{- end }}
    {{- end }}
{{- end }}
{{- end -}}

{{/* Everything a service chart ships; a service chart's only template includes this. */}}
{{- define "chargewatch-lib.all" -}}
{{- $parts := list "serviceaccount" "configmap" "deployment" "service" "publicService" "ingress" "hpa" "pdb" "networkpolicy" "servicemonitor" -}}
{{- range $parts }}
{{- $doc := include (printf "chargewatch-lib.%s" .) $ | trim -}}
{{- if $doc }}
---
{{ $doc }}
{{- end }}
{{- end }}
{{- end -}}
