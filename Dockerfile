# kafka-mirror container image: Node.js 24 LTS, production dependencies only, non-root.
# Config is read from /etc/kafka-mirror/config.yaml (mount it); the admin port is 9464
# (/metrics, /healthz, /readyz, /status). test/unit/dockerfile.test.ts lints this file and checks
# it against package.json.

FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY src ./src
RUN npx tsc -p tsconfig.build.json

FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM node:24-bookworm-slim
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
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY config ./config
USER node
EXPOSE 9464
# Liveness only: /readyz is for orchestrators that route or roll (Kubernetes readinessProbe).
# The slim image has no curl; node's fetch does the request.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.KAFKA_MIRROR_ADMIN_PORT || 9464) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Exec form: node itself is PID 1, so SIGTERM reaches the daemon, which installs its own handler and drains.
ENTRYPOINT ["node", "bin/kafka-mirror.js"]
CMD ["start", "--config", "/etc/kafka-mirror/config.yaml"]
