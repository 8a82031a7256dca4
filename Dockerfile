# syntax=docker/dockerfile:1
# The wasmesh image: the CLI `wasmesh` (the entrypoint) and the service bins it spawns
# (wasmesh-host, wasmesh-reconciler, wasmesh-gateway, wasmesh-operator), all on PATH. The Helm
# chart (deploy/helm/wasmesh) runs the operator and HostGroup host pods from it. Build from the
# repository root:
#
#   docker build -t ghcr.io/wasmesh/wasmesh:0.1.0 .
#   docker run --rm ghcr.io/wasmesh/wasmesh:0.1.0 --help
#
# Three stages: the Rust runtime addon (wasmtime, napi-rs) with the Rust toolchain, the TypeScript
# build with the full Node image, and a slim runtime with production dependencies only. Nothing of
# scripts/setup.sh runs here: it builds the test servers (nats-server, kube-apiserver, ...).
ARG NODE_VERSION=20
ARG RUST_VERSION=1.95

FROM rust:${RUST_VERSION}-bookworm AS native
WORKDIR /src/host/runtime
COPY host/runtime/ ./
RUN cargo build --release --locked -p wasmesh-runtime-napi \
 && cp target/release/libwasmesh_runtime_napi.so /wasmesh_runtime.node

FROM node:${NODE_VERSION}-bookworm AS build
WORKDIR /app
COPY . .
# --ignore-scripts: `prepare` would run the whole build (setup.sh, cargo); the steps below are the
# parts of scripts/build.mjs the image needs (no test fixtures, no example actors).
RUN npm ci --ignore-scripts
COPY --from=native /wasmesh_runtime.node host/native/wasmesh_runtime.node
RUN node proto/scripts/generate.mjs \
 && node node_modules/typescript/bin/tsc --build \
 && npm prune --omit=dev --ignore-scripts \
 && rm -rf host/runtime test bench \
 && find . -name '*.tsbuildinfo' -delete

FROM node:${NODE_VERSION}-bookworm-slim
ENV NODE_ENV=production \
    PATH=/app/node_modules/.bin:$PATH
WORKDIR /app
COPY --from=build --chown=root:root /app /app
# The node user (uid 1000) owns nothing in /app: hosts keep their caches under its home.
USER node
ENTRYPOINT ["wasmesh"]
CMD ["--help"]
