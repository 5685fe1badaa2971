# kafka-mirror container image: Node.js 24 LTS, production dependencies only, numeric non-root
# user, no npm in the runtime stage. Config is read from /etc/kafka-mirror/config.yaml (mount it);
# the admin port is 9464 (/metrics, /healthz, /readyz, /status). docs/operations.md (Image)
# explains each choice; test/unit/dockerfile.test.ts runs hadolint on this file and checks it
# against package.json and the code.
#
# Base image, in every stage: the tag for humans, the digest for the build. The digest is the one
# public projects pin for node:24-bookworm-slim (Node.js 24.18.0, the multi-platform index). It was
# not verified from the machine this line was written on (no Docker engine, no registry access):
# check it before the first release, and on each update, with
#   docker buildx imagetools inspect node:24-bookworm-slim    (the "Digest:" line)
# or let Renovate propose updates (its dockerfile manager resolves an ARG that holds a whole image
# reference; Dependabot's docker ecosystem does not read ARGs in FROM lines).
ARG NODE_IMAGE=node:24-bookworm-slim@sha256:6f7b03f7c2c8e2e784dcf9295400527b9b1270fd37b7e9a7285cf83b6951452d

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY src ./src
RUN npx tsc -p tsconfig.build.json

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund
# The SBOM of what this stage installed (CycloneDX JSON; `npm run sbom` outside Docker): copied
# into the image as /app/sbom.cdx.json.
COPY scripts/sbom.ts ./scripts/
RUN node scripts/sbom.ts --out sbom.cdx.json

FROM ${NODE_IMAGE}
# Labels (OCI image spec annotations). VERSION is package.json's version; pass REVISION (the
# commit) and SOURCE (the repository's URL) at build time:
#   docker build --build-arg VERSION=0.1.0 --build-arg REVISION="$(git rev-parse HEAD)" \
#     --build-arg SOURCE="$(git remote get-url origin)" .
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG SOURCE=
LABEL org.opencontainers.image.title="kafka-mirror" \
      org.opencontainers.image.description="Kafka cross-cluster replication daemon: bounded, ordered, loss-free, observable" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.base.name="docker.io/library/node:24-bookworm-slim"
# No package manager at run time: npm, npx, corepack (and yarn, where the base image has it) are
# removed, so neither they nor the packages bundled in npm are in the container. The shell stays:
# the daemon and the health check never use it (exec form below), but removing dash and bash from
# a Debian image behind dpkg's back leaves a package database that no longer matches the files,
# which image scanners read (docs/operations.md, Image).
RUN rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack \
      /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack \
      /usr/local/bin/yarn /usr/local/bin/yarnpkg /opt/yarn-*
ENV NODE_ENV=production
# Memory (docs/operations.md): V8 heap flags as in package.json config.nodeOptions, sized for one
# flow at the default 64 MiB queue budget (old space = the flows' queue budgets + 64 MiB; raise it
# with more flows or larger budgets); two glibc malloc arenas instead of one per thread; buffers of
# 64 KiB and more (fetch responses, produce requests) mapped and unmapped instead of fragmenting the heap.
ENV NODE_OPTIONS="--max-semi-space-size=4 --max-old-space-size=128" \
    MALLOC_ARENA_MAX=2 \
    MALLOC_MMAP_THRESHOLD_=65536
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=deps /app/sbom.cdx.json ./
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY config ./config
# The base image's user `node`, by number: a runtime can check numerically that it is not root
# (Kubernetes runAsNonRoot). The files above stay root's, read-only to the daemon.
USER 1000:1000
EXPOSE 9464
# Liveness only: /readyz is for orchestrators that route or roll (Kubernetes readinessProbe).
# bin/healthcheck.js finds the admin address the daemon listens on: its config file (from the
# daemon's command line) with the environment's overrides (KAFKA_MIRROR_ADMIN_PORT, ...).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "/app/bin/healthcheck.js"]
# Exec form: node itself is PID 1, so SIGTERM reaches the daemon, which installs its own handler and drains.
# --initial-old-space-size (package.json config.nodeFlags; Node refuses it in NODE_OPTIONS): full
# collections spaced out: 10-23% less CPU per byte copied (docs/operations.md, Memory).
ENTRYPOINT ["node", "--initial-old-space-size=40", "bin/kafka-mirror.js"]
CMD ["start", "--config", "/etc/kafka-mirror/config.yaml"]
