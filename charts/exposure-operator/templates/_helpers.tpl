{{/* Chart name, truncated to a DNS label. */}}
{{- define "exposure-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: the release name when it already contains the chart name. */}}
{{- define "exposure-operator.fullname" -}}
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

{{- define "exposure-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "exposure-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "exposure-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "exposure-operator.labels" -}}
helm.sh/chart: {{ include "exposure-operator.chart" . }}
{{ include "exposure-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: operator
{{- end }}

{{- define "exposure-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "exposure-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create=false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "exposure-operator.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
Rules on namespaced resources: granted cluster-wide (ClusterRole) when watchNamespaces is empty,
else per watched namespace (Role). Every verb is what operator/src/controller/*.rs calls.
*/}}
{{- define "exposure-operator.namespacedRules" -}}
# Exposures: the controller lists and watches them (one watch per scope); get for direct reads
# (adds nothing to list); patch adds/removes the cleanup finalizer (JSON merge patch with a
# resourceVersion precondition, controller/storage.rs).
- apiGroups: ["exposure.dev"]
  resources: ["exposures"]
  verbs: ["get", "list", "watch", "patch"]
# Status is written with server-side apply on the status subresource (controller/reconcile.rs).
- apiGroups: ["exposure.dev"]
  resources: ["exposures/status"]
  verbs: ["patch"]
# Children carry ownerReferences with blockOwnerDeletion=true. Where the
# OwnerReferencesPermissionEnforcement admission plugin is on, setting that needs update on the
# owner's finalizers subresource. It grants nothing beyond the patch on exposures above.
- apiGroups: ["exposure.dev"]
  resources: ["exposures/finalizers"]
  verbs: ["update"]
# Children. get/list/watch: label-selected caches plus one GET when a desired name is not in the
# cache (is it held by someone else's object?). patch: server-side apply. create: server-side
# apply of an object that does not exist yet is authorized as create as well (the API server
# checks create on the apply-creates path), so create is required. delete: pruning children no
# longer desired, recreating a Service whose type cannot change in place, PVCs with
# reclaim: Delete.
# The workload (spec.workload): a Deployment, StatefulSet or DaemonSet. A StatefulSet whose
# claim templates change is deleted (orphaning its pods, which the new one adopts) and created
# again.
- apiGroups: ["apps"]
  resources: ["deployments", "statefulsets", "daemonsets"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
- apiGroups: [""]
  resources: ["services", "endpoints", "persistentvolumeclaims", "resourcequotas", "limitranges"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
# spec.autoscaling and spec.disruption (autoscaling/v2 and policy/v1; v2beta2 and v1beta1 on
# older clusters, same group).
- apiGroups: ["autoscaling"]
  resources: ["horizontalpodautoscalers"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
- apiGroups: ["policy"]
  resources: ["poddisruptionbudgets"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
{{- if .Values.config.watchConfigMaps }}
# ConfigMaps mounted by spec.config: watched so that a change of their data rolls the pods
# (the cache keeps a digest of the data, nothing else). Read-only.
- apiGroups: [""]
  resources: ["configmaps"]
  verbs: ["get", "list", "watch"]
{{- end }}
{{- if .Values.config.watchSecrets }}
# Secrets mounted by spec.config (config.watchSecrets): likewise, a digest only, never a
# value. Off by default: read access to every Secret of the watched namespaces is a grant a
# platform team should choose.
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get", "list", "watch"]
{{- end }}
- apiGroups: ["networking.k8s.io"]
  resources: ["ingresses"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
# The HTTPRoute of a Gateway Exposure (Gateway API, when its CRDs are installed): applied
# (create/patch), cached (get/list/watch), pruned when the visibility changes (delete).
# Whether the API is served is read by discovery, which every client may do.
- apiGroups: ["gateway.networking.k8s.io"]
  resources: ["httproutes"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
# The addresses of a selector-less Service (spec.endpoints) on clusters >= 1.21 (v1 Endpoints
# above only before 1.21, and to delete one left from before an upgrade).
- apiGroups: ["discovery.k8s.io"]
  resources: ["endpointslices"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
# Pods of each Exposure (label-selected cache) for status messages: image pull errors,
# crash loops, unready containers. Read-only.
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["get", "list", "watch"]
# core/v1 Events: listed (field selector) to explain ProvisioningFailed claims and a
# StatefulSet's or DaemonSet's FailedCreate (a full quota, Pod Security).
- apiGroups: [""]
  resources: ["events"]
  verbs: ["list"]
# events.k8s.io Events: the operator's event recorder creates them and patches the series count.
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- end }}
