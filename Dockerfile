# syntax=docker/dockerfile:1
#
# redpanda-parquet-collector: two stages on the same Debian bookworm Node image.
#   build   - compiles librdkafka (inside @confluentinc/kafka-javascript) against Debian's OpenSSL,
#             SASL, zstd, lz4, zlib and curl, compiles the TypeScript, then drops dev dependencies.
#   runtime - Node, the matching runtime libraries, tini as PID 1, uid 1000, no compilers.
#
# Multi-arch: every input is multi-arch (the node image, Debian packages, librdkafka built from
# source), so the same file builds for amd64 and arm64:
#   docker buildx build --platform linux/amd64,linux/arm64 -t redpanda-parquet-collector .
# The build stage compiles natively for the target platform (under QEMU on a foreign host: slow,
# but it needs nothing arch-specific).
#
# Build and run (the commit is shown by the collector_build_info metric):
#   docker build --build-arg COLLECTOR_COMMIT=$(git rev-parse --short=12 HEAD) -t redpanda-parquet-collector .
#   docker run -d --name collector --stop-timeout 30 -p 127.0.0.1:8080:8080 \
#     -e BOOTSTRAP_SERVERS=broker:9092 -v /data/datalake/redpanda_backup:/app/output redpanda-parquet-collector
# --stop-timeout 30: Docker's default 10 s is shorter than SHUTDOWN_DEADLINE_MS (25 s), after which
# a SIGKILL would cut the final publish and commit short (nothing is lost, but the work is redone).

# The Node major the test suite runs on too: scripts/setup.sh installs it on a machine whose node is
# another major and scripts/with-node.sh runs the tests on it (both read this line), so the compiled
# addon and every test are known good on it. package.json engines names it as the minimum.
ARG NODE_VERSION=24

FROM node:${NODE_VERSION}-bookworm-slim AS build
# The same package list as scripts/setup.sh (test/unit/deploy checks that they agree).
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential python3 libssl-dev libsasl2-dev libzstd-dev liblz4-dev zlib1g-dev libcurl4-openssl-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# Dependencies first, so this slow layer (the librdkafka compile) is cached until the lock changes.
COPY package.json package-lock.json ./
# Build the Kafka addon here rather than let node-pre-gyp download a prebuilt one (as it does whenever
# GitHub is reachable), and link its bundled librdkafka against the Debian libraries above
# (dynamic), which then get Debian's security updates. Same build as scripts/setup.sh makes locally.
ENV npm_config_build_from_source=@confluentinc/kafka-javascript \
    CKJS_LINKING=dynamic
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY bin ./bin
# prune keeps the compiled addon (npm ci --omit=dev would compile librdkafka a second time).
# The librdkafka sources and static archives are only needed to compile: the addon loads
# build/deps/librdkafka.so.1 through its rpath. The last line fails the build if that broke.
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund \
 && rm -rf node_modules/@confluentinc/kafka-javascript/deps \
           node_modules/@confluentinc/kafka-javascript/build/Release/obj.target \
 && find node_modules/@confluentinc/kafka-javascript/build/deps -name '*.a' -delete \
 && node -e "const k = require('@confluentinc/kafka-javascript'); console.log('librdkafka', k.librdkafkaVersion, k.features.join(','))" \
 && test -f dist/main.js && test -f dist/node-options.js && test -f dist/parquet/encode-worker.js

FROM node:${NODE_VERSION}-bookworm-slim AS runtime
# The git commit this image was built from; .git is not in the build context.
ARG COLLECTOR_COMMIT=unknown
# Runtime counterparts of the -dev packages of the build stage; tini forwards signals as PID 1.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      tini ca-certificates libssl3 libsasl2-2 libzstd1 liblz4-1 zlib1g libcurl4 \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
    OUTPUT_DIR=/app/output \
    HTTP_PORT=8080 \
    COLLECTOR_COMMIT=${COLLECTOR_COMMIT}
WORKDIR /app
# dist/version.js reads ../package.json; the worker pool loads dist/parquet/encode-worker.js.
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
# Owned by uid 1000 so that a named volume mounted here starts out writable by the collector.
# A bind mount keeps the host directory's owner: chown it to 1000:1000 on the host (see README).
RUN mkdir -p /app/output && chown 1000:1000 /app/output
# Numeric, so Kubernetes' runAsNonRoot can verify it; uid 1000 is the image's `node` user.
USER 1000:1000
EXPOSE 8080
# Liveness, with Node itself (the image has no curl). HTTP_PORT is read at check time. One-shot
# runs (--once) serve no HTTP by default (HTTP_ENABLED=auto): run them with --no-healthcheck.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "const r = require('http').get({ host: '127.0.0.1', port: process.env.HTTP_PORT || 8080, path: '/healthz', timeout: 4000 }, (res) => process.exit(res.statusCode === 200 ? 0 : 1)); r.on('error', () => process.exit(1)); r.on('timeout', () => { r.destroy(); process.exit(1); });"]
# tini is PID 1: it forwards SIGTERM/SIGINT to Node (which stops gracefully) and reaps zombies.
# The launcher execs Node with the heap limits planned from MEMORY_BUDGET_BYTES and the malloc
# settings (see bin/redpanda-parquet-collector), so Node is still tini's direct child.
# Arguments go to the collector: `docker run IMAGE --once`, `docker run IMAGE --print-config`.
# An absolute path: a `--workdir` or a Kubernetes workingDir must not change what runs.
ENTRYPOINT ["/usr/bin/tini", "--", "/app/bin/redpanda-parquet-collector"]
CMD []

# OCI image labels (docker inspect, registries). The version defaults to package.json's (the deploy
# tests keep the two equal): pass --build-arg COLLECTOR_VERSION=... for another. The revision is
# COLLECTOR_COMMIT above. The source is the address you publish this repository at
# (--build-arg COLLECTOR_SOURCE=https://...): the repository names none, so it is empty by default.
ARG COLLECTOR_VERSION=0.1.0
ARG COLLECTOR_SOURCE=
LABEL org.opencontainers.image.title="redpanda-parquet-collector" \
      org.opencontainers.image.description="Streams Redpanda/Kafka topics into date-partitioned Parquet files, committing offsets only after files are durable." \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.source="${COLLECTOR_SOURCE}" \
      org.opencontainers.image.version="${COLLECTOR_VERSION}" \
      org.opencontainers.image.revision="${COLLECTOR_COMMIT}"
