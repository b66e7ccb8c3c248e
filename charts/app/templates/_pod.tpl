{{/*
Pod spec shared by the Deployment, the migration Job and every CronJob, so that all of them
meet Pod Security "restricted" and see the same image, env and secrets.

Arguments (dict):
  root            the chart context
  main            true for the long-running container (ports, probes, data volume)
  command, args   entrypoint override (lists)
  resources       requests/limits to use (empty = .Values.resources)
  restartPolicy   set for Jobs
  serviceAccount  service account name
*/}}
{{- define "bk-app.podSpec" -}}
{{- $root := .root -}}
{{- $v := $root.Values -}}
{{- $resources := .resources | default $v.resources -}}
serviceAccountName: {{ .serviceAccount }}
automountServiceAccountToken: {{ $v.serviceAccount.automountToken }}
{{- /* Service links inject <SVC>_PORT=tcp://... variables that clash with apps reading e.g. REDIS_PORT. */}}
enableServiceLinks: false
{{- with .restartPolicy }}
restartPolicy: {{ . }}
{{- end }}
securityContext:
  runAsNonRoot: true
  runAsUser: {{ $v.securityContext.runAsUser | int64 }}
  runAsGroup: {{ $v.securityContext.runAsGroup | int64 }}
  fsGroup: {{ $v.securityContext.fsGroup | int64 }}
  seccompProfile:
    type: RuntimeDefault
{{- with $v.imagePullSecrets }}
imagePullSecrets:
  {{- range . }}
  - name: {{ . }}
  {{- end }}
{{- end }}
containers:
  - name: {{ .containerName }}
    image: {{ include "bk-app.image" $root }}
    imagePullPolicy: {{ $v.image.pullPolicy | default "IfNotPresent" }}
    {{- with .command }}
    command: {{ toJson . }}
    {{- end }}
    {{- with .args }}
    args: {{ toJson . }}
    {{- end }}
    {{- with (include "bk-app.env" $root) }}
    env:
      {{- . | nindent 6 }}
    {{- end }}
    {{- if .main }}
    {{- if or (include "bk-app.hasHttp" $root) (include "bk-app.metricsOnOwnPort" $root) }}
    ports:
      {{- if include "bk-app.hasHttp" $root }}
      - name: http
        containerPort: {{ $v.port | int }}
        protocol: TCP
      {{- end }}
      {{- if include "bk-app.metricsOnOwnPort" $root }}
      - name: metrics
        containerPort: {{ $v.metrics.port | int }}
        protocol: TCP
      {{- end }}
    {{- end }}
    {{- range $kind := list "liveness" "readiness" "startup" }}
    {{- with (index ($v.probes | default dict) $kind) }}
    {{ $kind }}Probe:
      {{- include "bk-app.probe" . | nindent 6 }}
    {{- end }}
    {{- end }}
    {{- end }}
    resources:
      requests:
        cpu: {{ $resources.requests.cpu | quote }}
        memory: {{ $resources.requests.memory | quote }}
      limits:
        cpu: {{ $resources.limits.cpu | quote }}
        memory: {{ $resources.limits.memory | quote }}
    securityContext:
      allowPrivilegeEscalation: false
      readOnlyRootFilesystem: true
      runAsNonRoot: true
      capabilities:
        drop: ["ALL"]
    volumeMounts:
      - name: tmp
        mountPath: /tmp
      {{- range $i, $path := $v.writablePaths }}
      - name: writable-{{ $i }}
        mountPath: {{ $path | quote }}
      {{- end }}
      {{- range $i, $f := $v.secretFiles }}
      - name: secret-file-{{ $i }}
        mountPath: {{ $f.mountPath | quote }}
        readOnly: {{ if hasKey $f "readOnly" }}{{ $f.readOnly }}{{ else }}true{{ end }}
      {{- end }}
      {{- if and .main $v.persistence.enabled }}
      - name: data
        mountPath: {{ $v.persistence.mountPath | quote }}
      {{- end }}
volumes:
  - name: tmp
    emptyDir: {}
  {{- range $i, $path := $v.writablePaths }}
  - name: writable-{{ $i }}
    emptyDir: {}
  {{- end }}
  {{- range $i, $f := $v.secretFiles }}
  - name: secret-file-{{ $i }}
    secret:
      secretName: {{ $f.secret }}
      {{- /* 0440: readable by the fsGroup the process runs with, by nobody else. */}}
      defaultMode: {{ $f.defaultMode | default 288 | int }}
      {{- with $f.items }}
      items:
        {{- range . }}
        - key: {{ .key | quote }}
          path: {{ .path | quote }}
        {{- end }}
      {{- end }}
  {{- end }}
  {{- if and .main $v.persistence.enabled }}
  - name: data
    persistentVolumeClaim:
      claimName: {{ include "bk-app.fullname" $root }}-data
  {{- end }}
{{- end -}}

{{/* Container env: plain values first, then secret references. */}}
{{- define "bk-app.env" -}}
{{- range $name, $value := .Values.env }}
- name: {{ $name | quote }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- range .Values.secretEnv }}
- name: {{ .name | quote }}
  valueFrom:
    secretKeyRef:
      name: {{ .secret }}
      key: {{ .key | quote }}
      {{- if .optional }}
      optional: true
      {{- end }}
{{- end }}
{{- end -}}

{{/* One probe. exec wins over path because Helm merges a user's { exec } into the default { path }. */}}
{{- define "bk-app.probe" -}}
{{- if .exec -}}
exec:
  command: {{ toJson .exec }}
{{- else -}}
httpGet:
  path: {{ .path | quote }}
  port: http
{{- end }}
{{- range $field := list "initialDelaySeconds" "periodSeconds" "timeoutSeconds" "failureThreshold" "successThreshold" }}
{{- if hasKey $ $field }}
{{ $field }}: {{ index $ $field | int }}
{{- end }}
{{- end }}
{{- end -}}
