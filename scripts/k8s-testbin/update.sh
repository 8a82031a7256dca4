#!/usr/bin/env bash
# Regenerates go.mod and go.sum here for another Kubernetes version (a maintainer's step; commit the
# result, then build.sh builds it into ~/.cache/wasmesh/k8s/<version> on the next setup).
#   bash scripts/k8s-testbin/update.sh 1.34.4
# k8s.io/kubernetes replaces its staging modules (k8s.io/api, k8s.io/client-go, ...) with
# ./staging/... paths, which a dependent module cannot use: pin each to its published
# v0.<minor>.<patch> tag instead, then let `go mod tidy` resolve the rest (tools.go and cmd/etcd
# keep the wanted commands in the build list). Check the new version's `go` line fits the installed Go.
set -euo pipefail
version=${1:?usage: update.sh KUBERNETES_VERSION (e.g. 1.34.4)}
version=${version#v}
minor=$(echo "$version" | cut -d. -f2)
patch=$(echo "$version" | cut -d. -f3)
cd "$(dirname "$0")"
export GOTOOLCHAIN=local GOFLAGS=-buildvcs=false

printf 'module local/k8s-testbin\n\ngo 1.24.0\n' >go.mod
rm -f go.sum
upstream_mod=$(go mod download -json "k8s.io/kubernetes@v$version" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
for m in $(sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => \./staging/.*#\1#p' "$upstream_mod"); do
  go mod edit -replace="$m=$m@v0.$minor.$patch"
done
go mod edit -require="k8s.io/kubernetes@v$version"
go mod tidy
echo "go.mod now pins k8s.io/kubernetes v$version and $(go list -m -f '{{.Path}} {{.Version}}' go.etcd.io/etcd/server/v3)"
