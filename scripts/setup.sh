#!/usr/bin/env bash
# Installs what wasmesh needs from outside npm and crates.io, and checks the toolchains.
# Idempotent: safe to run on every CI run. Needs root (or sudo) only when something is missing.
#   Debian packages: none yet beyond the base image (nats-server and redis-server join with the
#   lattice and provider work).
#   Toolchains: Node.js >= 20.17 and Rust (cargo/rustc) >= 1.95, which wasmtime 48 requires.
set -euo pipefail

APT_PACKAGES=()

fail() { echo "setup: $*" >&2; exit 1; }

node_version=$(node -p 'process.versions.node' 2>/dev/null) || fail "Node.js is missing: install Node.js 20.17 or newer"
node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=17)?0:1)' \
  || fail "Node.js $node_version is too old: wasmesh needs 20.17 or newer"

command -v cargo >/dev/null || fail "cargo is missing: install Rust 1.95 or newer with rustup (the native runtime is built from source)"
rust_version=$(rustc --version | awk '{print $2}')
printf '%s\n%s\n' 1.95.0 "$rust_version" | sort -V -C \
  || fail "Rust $rust_version is too old: wasmtime 48 needs 1.95 or newer (rustup update stable)"

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi
echo "setup: ok (node $node_version, rust $rust_version)"
