{{/* The release's full name: the release name, with the chart's unless it contains it already (63 characters at most). */}}
{{- define "wasmesh.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Labels of every object. */}}
{{- define "wasmesh.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: wasmesh
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end -}}

{{/* The wasmesh image reference. */}}
{{- define "wasmesh.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}

{{/* The operator's ServiceAccount. */}}
{{- define "wasmesh.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- .Values.serviceAccount.name | default (printf "%s-operator" (include "wasmesh.fullname" .)) -}}
{{- else -}}
{{- .Values.serviceAccount.name | default "default" -}}
{{- end -}}
{{- end -}}

{{/* The name of the chart's NATS server (its Deployment, Service and ConfigMap). */}}
{{- define "wasmesh.natsName" -}}
{{- printf "%s-nats" (include "wasmesh.fullname" .) -}}
{{- end -}}

{{/*
How the operator and the hosts reach the lattice's NATS, as JSON (read it with fromJson): url,
creds and hostCreds ({name, key} of the admin and host .creds Secrets, or empty), ca ({name, key}
of the CA bundle, or empty), insecure. The one place that refuses an unsecured NATS nobody asked
for: secure by default, the open mode only with nats.insecure / externalNats.insecure.
*/}}
{{- define "wasmesh.natsAccess" -}}
{{- $n := .Values.nats -}}
{{- $x := .Values.externalNats -}}
{{- $hosts := .Values.hostGroup -}}
{{- $access := dict "insecure" false "creds" dict "hostCreds" dict "ca" dict -}}
{{- if $n.enabled -}}
{{- $svc := printf "%s.%s.svc" (include "wasmesh.natsName" .) .Release.Namespace -}}
{{- if $n.insecure -}}
{{- if or $n.auth.secret $n.tls.secret $n.credentialsSecret.name -}}
{{- fail "nats.insecure=true runs an open NATS, yet nats.auth.secret, nats.tls.secret or nats.credentialsSecret.name is set: drop nats.insecure to use them" -}}
{{- end -}}
{{- $_ := set $access "url" (printf "nats://%s:4222" $svc) -}}
{{- $_ := set $access "insecure" true -}}
{{- else -}}
{{- $missing := list -}}
{{- if not $n.auth.secret -}}
{{- $missing = append $missing (printf "nats.auth.secret (a Secret with key %s: `wasmesh creds server-config > auth.conf && kubectl create secret generic wasmesh-nats-auth -n %s --from-file=%s=auth.conf`)" $n.auth.key .Release.Namespace $n.auth.key) -}}
{{- end -}}
{{- if not $n.tls.secret -}}
{{- $missing = append $missing (printf "nats.tls.secret (a Secret with tls.crt, tls.key and ca.crt, the certificate for %s: `kubectl create secret generic wasmesh-nats-tls -n %s --from-file=tls.crt=server.pem --from-file=tls.key=server-key.pem --from-file=ca.crt=ca.pem`, or cert-manager's)" $svc .Release.Namespace) -}}
{{- end -}}
{{- if not $n.credentialsSecret.name -}}
{{- $missing = append $missing (printf "nats.credentialsSecret.name (the operator's admin credentials: `wasmesh creds create --role admin --lattice %s --out operator.creds && kubectl create secret generic wasmesh-operator-creds -n %s --from-file=%s=operator.creds`)" .Values.lattice .Release.Namespace $n.credentialsSecret.key) -}}
{{- end -}}
{{- if and $hosts.enabled (not $hosts.credentialsSecret.name) -}}
{{- $missing = append $missing (printf "hostGroup.credentialsSecret.name (the hosts' credentials: `wasmesh creds create --role host --group --lattice %s --out hosts.creds && kubectl create secret generic wasmesh-host-creds -n %s --from-file=%s=hosts.creds`)" .Values.lattice .Release.Namespace $hosts.credentialsSecret.key) -}}
{{- end -}}
{{- if $missing -}}
{{- fail (printf "\nThe chart's NATS runs with the lattice's JWT auth and TLS, from Secrets you create once with the wasmesh CLI. All of them at once:\n  wasmesh creds k8s-secrets -n %s --release %s --lattice %s --values-out wasmesh-values.yaml | kubectl apply --server-side -f -\nthen add -f wasmesh-values.yaml (the chart's README has the details). Missing:\n  - %s\nOr, for a throwaway cluster only, --set nats.insecure=true runs an open NATS (no auth, no TLS)." .Release.Namespace .Release.Name .Values.lattice (join "\n  - " $missing)) -}}
{{- end -}}
{{- $_ := set $access "url" (printf "tls://%s:4222" $svc) -}}
{{- $_ := set $access "creds" $n.credentialsSecret -}}
{{- $_ := set $access "ca" (dict "name" $n.tls.secret "key" "ca.crt") -}}
{{- $_ := set $access "hostCreds" $hosts.credentialsSecret -}}
{{- end -}}
{{- else -}}
{{- $url := required "set externalNats.url (the lattice's NATS), or nats.enabled=true for a NATS server of the chart" $x.url -}}
{{- if and (not $x.credentialsSecret.name) (not $x.insecure) -}}
{{- fail (printf "\nexternalNats.url is set without credentials: create the operator's (`wasmesh creds create --role admin --lattice %s --out operator.creds && kubectl create secret generic wasmesh-creds -n %s --from-file=%s=operator.creds`) and set externalNats.credentialsSecret.name=wasmesh-creds; or, for an open NATS on a throwaway cluster only, --set externalNats.insecure=true." .Values.lattice .Release.Namespace $x.credentialsSecret.key) -}}
{{- end -}}
{{- $_ := set $access "url" $url -}}
{{- $_ := set $access "insecure" (not $x.credentialsSecret.name) -}}
{{- if $x.credentialsSecret.name -}}
{{- $_ := set $access "creds" $x.credentialsSecret -}}
{{- end -}}
{{- if $x.tlsCaSecret.name -}}
{{- $_ := set $access "ca" $x.tlsCaSecret -}}
{{- end -}}
{{- $_ := set $access "hostCreds" (ternary $hosts.credentialsSecret $x.credentialsSecret (not (empty $hosts.credentialsSecret.name))) -}}
{{- end -}}
{{- toJson $access -}}
{{- end -}}

{{/* The NATS URL of the lattice: the chart's server, or externalNats.url. */}}
{{- define "wasmesh.natsUrl" -}}
{{- (include "wasmesh.natsAccess" . | fromJson).url -}}
{{- end -}}
