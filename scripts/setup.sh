#!/usr/bin/env bash
# Installs what wasmesh needs from outside npm and crates.io, and checks the toolchains.
# Idempotent: safe to run on every CI run; a rerun with everything present takes milliseconds.
# Needs root (or sudo) only when a Debian package is missing.
#   Toolchains: Node.js >= 20.17 and Rust (cargo/rustc) >= 1.95, which wasmtime 48 requires.
#   nats-server (the lattice bus; the test harness starts real servers): a pinned release built
#     with `go install` from the Go module proxy into $WASMESH_BIN_DIR (default
#     ~/.cache/wasmesh/bin, outside the clone so clean clones reuse it). Without Go, or if the build
#     fails, Debian's nats-server package (older, but enough for tests) is installed instead.
#   Kubernetes test binaries (kube-apiserver, etcd, kubectl, kube-controller-manager; the operator's
#     tests start a real control plane) and helm: built from the Go module proxy once per version by
#     scripts/k8s-testbin/build.sh into ~/.cache/wasmesh/k8s/<version> and ~/.cache/wasmesh/bin/helm
#     (~8 min cold on 2 cores, milliseconds warm). These need Go >= 1.26; without it setup warns and
#     goes on (the Kubernetes tests will fail).
#   registry (CNCF distribution's OCI registry; the OCI artifact tests push to and pull from real
#     registries): a pinned release built with `go install` from the Go module proxy into
#     $WASMESH_BIN_DIR like nats-server. Without Go, or if the build fails, setup warns and goes on
#     (only the OCI tests need it; REGISTRY_BIN may point at another build).
#   redis-server (the keyvalue provider's Redis backend; the test harness starts real servers):
#     Debian's redis-server package, installed only when no redis-server is on PATH or in /usr/bin
#     (REDIS_SERVER_BIN may point at another one).
#   jaeger (Jaeger v2; the tracing tests export to a real one and read traces back from its query
#     API): a pinned release built from the Go module proxy into $WASMESH_BIN_DIR, once per version.
#     Without Go, or if the build fails, setup warns and goes on (JAEGER_BIN may point at another).
#   prometheus (the metrics tests scrape with a real one): Debian's prometheus package, installed
#     without its recommends only when no prometheus is on PATH or in /usr/bin (PROMETHEUS_BIN may
#     point at another one).
set -euo pipefail

NATS_SERVER_MODULE=github.com/nats-io/nats-server/v2
NATS_SERVER_VERSION=v2.14.9
REGISTRY_MODULE=github.com/distribution/distribution/v3/cmd/registry
REGISTRY_VERSION=v3.1.2
JAEGER_COMMAND=github.com/jaegertracing/jaeger/cmd/jaeger
JAEGER_VERSION=v1.76.0
WASMESH_BIN_DIR="${WASMESH_BIN_DIR:-$HOME/.cache/wasmesh/bin}"
APT_PACKAGES=()

fail() { echo "setup: $*" >&2; exit 1; }

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
apt_install() {
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@"
}

node_version=$(node -p 'process.versions.node' 2>/dev/null) || fail "Node.js is missing: install Node.js 20.17 or newer"
node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=17)?0:1)' \
  || fail "Node.js $node_version is too old: wasmesh needs 20.17 or newer"

command -v cargo >/dev/null || fail "cargo is missing: install Rust 1.95 or newer with rustup (the native runtime is built from source)"
rust_version=$(rustc --version | awk '{print $2}')
printf '%s\n%s\n' 1.95.0 "$rust_version" | sort -V -C \
  || fail "Rust $rust_version is too old: wasmtime 48 needs 1.95 or newer (rustup update stable)"
# Rust's WASI 0.2 target: the build compiles a component with it (actors/hello-rs), a toolchain
# that knows nothing of wasmesh. rustup downloads it once.
if command -v rustup >/dev/null && ! rustup target list --installed | grep -qx wasm32-wasip2; then
  echo "setup: installing Rust's wasm32-wasip2 target (rustup)"
  rustup target add wasm32-wasip2 >/dev/null || fail "rustup could not install the wasm32-wasip2 target"
fi

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  apt_install "${missing[@]}"
fi

# nats-server: "nats-server: v2.14.9" -> "v2.14.9"; empty when the binary is missing or broken.
nats_version_of() { "$1" --version 2>/dev/null | awk '{print $NF}' || true; }

go_bin=$(command -v go || { [ -x /usr/local/go/bin/go ] && echo /usr/local/go/bin/go; } || true)

# go_install MODULE VERSION NAME VERSION_OF: builds NAME from MODULE@VERSION into $WASMESH_BIN_DIR/NAME
# when the result reports VERSION (VERSION_OF is the function reading it). It builds into a scratch
# dir next to the target, then renames, so an interrupted build never leaves a half-written binary.
# GOTOOLCHAIN=local: use the installed Go, never download another one.
go_install() {
  local gobin ok=1
  mkdir -p "$WASMESH_BIN_DIR"
  gobin=$(mktemp -d "$WASMESH_BIN_DIR/.build.XXXXXX")
  if GOBIN="$gobin" GOTOOLCHAIN=local CGO_ENABLED=0 "$go_bin" install "$1@$2" \
    && [ "$("$4" "$gobin/$3")" = "$2" ]; then
    mv -f "$gobin/$3" "$WASMESH_BIN_DIR/$3"
    ok=0
  fi
  rm -rf "$gobin"
  return $ok
}

# go_build_tool COMMAND VERSION NAME: builds the Go command COMMAND of its module at VERSION into
# $WASMESH_BIN_DIR/NAME, in a scratch module (`go get -tool`, then `go build`): modules whose go.mod
# has replace directives (Jaeger's) cannot be built with `go install mod@version`.
go_build_tool() {
  local work ok=1
  mkdir -p "$WASMESH_BIN_DIR"
  work=$(mktemp -d "$WASMESH_BIN_DIR/.build.XXXXXX")
  if (cd "$work" && export GOTOOLCHAIN=local CGO_ENABLED=0 \
    && "$go_bin" mod init wasmesh-tool-build >/dev/null 2>&1 \
    && "$go_bin" get -tool "$1@$2" && "$go_bin" build -o "$work/$3" "$1") \
    && "$work/$3" --help >/dev/null 2>&1; then
    mv -f "$work/$3" "$WASMESH_BIN_DIR/$3"
    ok=0
  fi
  rm -rf "$work"
  return $ok
}

nats_bin="$WASMESH_BIN_DIR/nats-server"
nats_version=$([ -x "$nats_bin" ] && nats_version_of "$nats_bin" || true)
nats_source="cached build, $nats_bin"
if [ "$nats_version" != "$NATS_SERVER_VERSION" ]; then
  nats_version=""
  if [ -n "$go_bin" ]; then
    echo "setup: building nats-server $NATS_SERVER_VERSION with $("$go_bin" version | awk '{print $3}') into $WASMESH_BIN_DIR" >&2
    if go_install "$NATS_SERVER_MODULE" "$NATS_SERVER_VERSION" nats-server nats_version_of; then
      nats_version=$NATS_SERVER_VERSION
      nats_source="built, $nats_bin"
    else
      echo "setup: building nats-server $NATS_SERVER_VERSION failed; falling back to Debian's nats-server" >&2
    fi
  else
    echo "setup: go is missing; falling back to Debian's nats-server" >&2
  fi
fi
if [ -z "$nats_version" ]; then
  nats_bin=$(command -v nats-server || { [ -x /usr/sbin/nats-server ] && echo /usr/sbin/nats-server; } || true)
  if [ -z "$nats_bin" ]; then
    apt_install nats-server
    nats_bin=$(command -v nats-server || echo /usr/sbin/nats-server)
  fi
  nats_version=$(nats_version_of "$nats_bin")
  [ -n "$nats_version" ] || fail "nats-server at $nats_bin does not run"
  nats_source="system, $nats_bin"
fi

# Kubernetes test binaries and helm: like registry, setup warns and goes on when they cannot be built.
k8s_summary="kubernetes, helm: not built, the Kubernetes tests will fail"
go_version=$([ -n "$go_bin" ] && "$go_bin" env GOVERSION | sed 's/^go//' || true)
if [ -z "$go_version" ]; then
  echo "setup: go is missing; the Kubernetes test binaries and helm are not built: the Kubernetes tests will fail" >&2
elif ! printf '%s\n%s\n' 1.26.0 "$go_version" | sort -V -C; then
  echo "setup: Go $go_version is too old for the Kubernetes test binaries and helm (1.26 or newer): the Kubernetes tests will fail" >&2
elif summary=$(WASMESH_BIN_DIR="$WASMESH_BIN_DIR" bash "$(dirname "$0")/k8s-testbin/build.sh" "$go_bin"); then
  k8s_summary=$summary
else
  echo "setup: building the Kubernetes test binaries or helm failed; the Kubernetes tests will fail" >&2
fi

# registry: "registry github.com/distribution/distribution/v3 v3.1.2+unknown" -> "v3.1.2".
registry_version_of() { "$1" --version 2>/dev/null | awk '{print $NF}' | sed 's/+.*//' || true; }

registry_bin="$WASMESH_BIN_DIR/registry"
registry_version=$([ -x "$registry_bin" ] && registry_version_of "$registry_bin" || true)
registry_source="cached build, $registry_bin"
if [ "$registry_version" != "$REGISTRY_VERSION" ]; then
  registry_version="none"
  registry_source="not built: the OCI tests will fail"
  if [ -n "$go_bin" ]; then
    echo "setup: building registry $REGISTRY_VERSION with $("$go_bin" version | awk '{print $3}') into $WASMESH_BIN_DIR (a few minutes, once)" >&2
    if go_install "$REGISTRY_MODULE" "$REGISTRY_VERSION" registry registry_version_of; then
      registry_version=$REGISTRY_VERSION
      registry_source="built, $registry_bin"
    else
      echo "setup: building registry $REGISTRY_VERSION failed; the OCI tests will fail (or set REGISTRY_BIN)" >&2
    fi
  else
    echo "setup: go is missing; registry not built: the OCI tests will fail (or set REGISTRY_BIN)" >&2
  fi
fi

# redis-server: "Redis server v=7.0.15 sha=..." -> "7.0.15".
redis_version_of() { "$1" --version 2>/dev/null | sed -n 's/.* v=\([^ ]*\).*/\1/p' || true; }

redis_bin="${REDIS_SERVER_BIN:-}"
redis_source="REDIS_SERVER_BIN, $redis_bin"
if [ -z "$redis_bin" ]; then
  redis_bin=$(command -v redis-server || { [ -x /usr/bin/redis-server ] && echo /usr/bin/redis-server; } || true)
  redis_source="system, $redis_bin"
fi
if [ -z "$redis_bin" ]; then
  echo "setup: installing Debian's redis-server" >&2
  apt_install redis-server
  # The package starts a system service; the tests start their own servers on free ports.
  redis_bin=$(command -v redis-server || echo /usr/bin/redis-server)
  redis_source="installed from Debian's packages, $redis_bin"
fi
redis_version=$(redis_version_of "$redis_bin")
[ -n "$redis_version" ] || fail "redis-server at $redis_bin does not run"

# jaeger: its binary reports no version of its own, so a stamp file next to it names the build.
jaeger_bin="$WASMESH_BIN_DIR/jaeger"
jaeger_version=$([ -x "$jaeger_bin" ] && cat "$jaeger_bin.version" 2>/dev/null || true)
jaeger_source="cached build, $jaeger_bin"
if [ "$jaeger_version" != "$JAEGER_VERSION" ]; then
  jaeger_version="none"
  jaeger_source="not built: the tracing tests will fail"
  if [ -n "$go_bin" ]; then
    echo "setup: building jaeger $JAEGER_VERSION with $("$go_bin" version | awk '{print $3}') into $WASMESH_BIN_DIR (a few minutes, once)" >&2
    if go_build_tool "$JAEGER_COMMAND" "$JAEGER_VERSION" jaeger; then
      echo "$JAEGER_VERSION" >"$jaeger_bin.version"
      jaeger_version=$JAEGER_VERSION
      jaeger_source="built, $jaeger_bin"
    else
      echo "setup: building jaeger $JAEGER_VERSION failed; the tracing tests will fail (or set JAEGER_BIN)" >&2
    fi
  else
    echo "setup: go is missing; jaeger not built: the tracing tests will fail (or set JAEGER_BIN)" >&2
  fi
fi

# prometheus: "prometheus, version 2.42.0+ds (branch: ...)" -> "2.42.0+ds".
prometheus_version_of() { "$1" --version 2>&1 | awk 'NR==1{print $3}' || true; }

prometheus_bin="${PROMETHEUS_BIN:-}"
prometheus_source="PROMETHEUS_BIN, $prometheus_bin"
if [ -z "$prometheus_bin" ]; then
  prometheus_bin=$(command -v prometheus || { [ -x /usr/bin/prometheus ] && echo /usr/bin/prometheus; } || true)
  prometheus_source="system, $prometheus_bin"
fi
if [ -z "$prometheus_bin" ]; then
  echo "setup: installing Debian's prometheus" >&2
  # Without recommends (node exporters and the like); the tests start their own servers.
  apt_install --no-install-recommends prometheus
  prometheus_bin=$(command -v prometheus || echo /usr/bin/prometheus)
  prometheus_source="installed from Debian's packages, $prometheus_bin"
fi
prometheus_version=$(prometheus_version_of "$prometheus_bin")
[ -n "$prometheus_version" ] || fail "prometheus at $prometheus_bin does not run"

echo "setup: ok (node $node_version, rust $rust_version, nats-server $nats_version: $nats_source;" \
  "registry $registry_version: $registry_source; redis-server $redis_version: $redis_source;" \
  "jaeger $jaeger_version: $jaeger_source; prometheus $prometheus_version: $prometheus_source; $k8s_summary)"
