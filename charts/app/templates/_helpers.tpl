{{/*
Object name: <app>-<component>, so names follow one pattern whatever the release is called
(incident 10). Falls back to the release name only when app and component are both unset.
*/}}
{{- define "bk-app.fullname" -}}
{{- if and .Values.app .Values.component -}}
{{- printf "%s-%s" .Values.app .Values.component -}}
{{- else if or .Values.app .Values.component -}}
{{- fail "values: set both app and component (objects are named <app>-<component>), or neither" -}}
{{- else -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* The image tag as a label value: labels allow 63 characters, tags 128. */}}
{{- define "bk-app.version" -}}
{{- regexReplaceAll "[^A-Za-z0-9]+$" (.Values.image.tag | toString | trunc 63) "" -}}
{{- end -}}

{{/* Selector labels: never include anything that changes between releases (version), since selectors are immutable. */}}
{{- define "bk-app.selectorLabels" -}}
app.kubernetes.io/name: {{ include "bk-app.fullname" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/*
Labels shared by every object apart from the name label. Jobs use these with their own name
label so that their pods never match the Deployment's selector (Service endpoints, PDB).
*/}}
{{- define "bk-app.commonLabels" -}}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- with .Values.component }}
app.kubernetes.io/component: {{ . }}
{{- end }}
{{- with .Values.app }}
app.kubernetes.io/part-of: {{ . }}
{{- end }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ include "bk-app.version" . | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- range $k, $v := .Values.extraLabels }}
{{ $k }}: {{ $v | quote }}
{{- end }}
{{- end -}}

{{- define "bk-app.labels" -}}
app.kubernetes.io/name: {{ include "bk-app.fullname" . }}
{{ include "bk-app.commonLabels" . }}
{{- end -}}

{{- define "bk-app.image" -}}
{{ printf "%s:%s" .Values.image.repository (toString .Values.image.tag) | quote }}
{{- end -}}

{{- define "bk-app.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{ include "bk-app.fullname" . }}
{{- else -}}
{{ .Values.serviceAccount.name | default "default" }}
{{- end -}}
{{- end -}}

{{/* An HTTP port is declared when port is a positive number; 0 and null both mean "none". */}}
{{- define "bk-app.hasHttp" -}}
{{- if and .Values.port (gt (int .Values.port) 0) -}}true{{- end -}}
{{- end -}}

{{/* A separate metrics container port, unless the app serves metrics on its HTTP port. */}}
{{- define "bk-app.metricsOnOwnPort" -}}
{{- if and .Values.metrics.enabled (not (and (include "bk-app.hasHttp" .) (eq (int .Values.metrics.port) (int .Values.port)))) -}}true{{- end -}}
{{- end -}}

{{/*
Rolls pods when what the chart knows about config or secrets changes. Secret contents are not
visible to Helm; whoever changes a Secret passes a new podAnnotation (see charts/README.md).
*/}}
{{- define "bk-app.configChecksum" -}}
{{- dict "env" .Values.env "secretEnv" .Values.secretEnv "secretFiles" .Values.secretFiles | toJson | sha256sum -}}
{{- end -}}
