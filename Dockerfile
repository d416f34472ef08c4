# syntax=docker/dockerfile:1
# One image for every Concord process; the command selects it (docs/operations.md):
#   node services/auth-service/dist/main.js       auth-service
#   node services/settings-service/dist/main.js   settings-service
#   node libs/db/dist/migrate-cli.js              migrations (compose `migrate`, k8s Job)
#   node services/auth-service/dist/keys-cli.js   JWT signing-key file tool (compose `keys`)
# Targets: `runtime` (the default, last stage) and `local-tools` (runtime + openssl and the gateway
# renderer, for docker-compose's one-shot gateway-init only). Why: docs/decisions/005-deployment.md.

ARG NODE_IMAGE=node:20-bookworm-slim

# ---------------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS builder
WORKDIR /app
ENV npm_config_audit=false \
    npm_config_fund=false \
    npm_config_update_notifier=false

# Manifests first: the dependency layer is rebuilt only when one of them changes. npm ci needs the
# package.json of every workspace listed in the root package.json (test/deploy checks this list).
COPY package.json package-lock.json ./
COPY libs/common/package.json libs/common/
COPY libs/db/package.json libs/db/
COPY libs/client/package.json libs/client/
COPY services/auth-service/package.json services/auth-service/
COPY services/realtime-service/package.json services/realtime-service/
COPY services/settings-service/package.json services/settings-service/
# --ignore-scripts: no install script may download anything (Prisma's would fetch engines we do not
# use, see docs/decisions/002-own-migrator.md); `npm run build` runs `prisma generate` itself.
RUN --mount=type=cache,target=/root/.npm \
    npm ci --ignore-scripts

COPY . .
RUN npm run build \
 && npm prune --omit=dev --ignore-scripts

# ---------------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS app
ENV NODE_ENV=production
WORKDIR /app

# A fixed numeric uid/gid (10001) so that Kubernetes' runAsUser/fsGroup, compose's `user:` and the
# ownership of named volumes all agree. npm, npx, corepack and yarn are removed: nothing runs them
# in production, and a smaller image has less to patch. The two directories are the mount points of
# compose's named volumes: a new volume copies its owner and mode from the image.
RUN groupadd --system --gid 10001 concord \
 && useradd --system --uid 10001 --gid concord --home-dir /nonexistent --no-create-home \
      --shell /usr/sbin/nologin concord \
 && rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack \
      /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack \
      /opt/yarn-* /usr/local/bin/yarn /usr/local/bin/yarnpkg \
 && install -d -o concord -g concord -m 0700 /var/lib/concord/keys \
 && install -d -o concord -g concord -m 0755 /var/lib/concord/gateway

# Code stays owned by root and read-only for the service user; nothing under /app is written at run
# time, so the root filesystem can be mounted read-only.
COPY --from=builder /app/package.json /app/package-lock.json ./
COPY --from=builder /app/node_modules ./node_modules
COPY --from=builder /app/libs/common/package.json libs/common/
COPY --from=builder /app/libs/common/dist libs/common/dist
COPY --from=builder /app/libs/db/package.json /app/libs/db/prisma.config.js libs/db/
COPY --from=builder /app/libs/db/dist libs/db/dist
COPY --from=builder /app/libs/db/generated libs/db/generated
COPY --from=builder /app/libs/db/prisma libs/db/prisma
COPY --from=builder /app/services/auth-service/package.json services/auth-service/
COPY --from=builder /app/services/auth-service/dist services/auth-service/dist
COPY --from=builder /app/services/realtime-service/package.json services/realtime-service/
COPY --from=builder /app/services/realtime-service/dist services/realtime-service/dist
COPY --from=builder /app/services/settings-service/package.json services/settings-service/
COPY --from=builder /app/services/settings-service/dist services/settings-service/dist

USER 10001:10001
# No default service: every deployment names its command, and a bare `docker run` says so.
CMD ["node", "-e", "console.error('concord: pass a command, e.g. node services/auth-service/dist/main.js (see docs/operations.md)'); process.exit(64)"]

# ---------------------------------------------------------------------------------------------------
# Local profile only: generates the gateway's TLS material (openssl, through proxy/tls.js) and renders
# its nginx.conf with proxy/nginx.js. Kept out of `runtime` so production carries neither.
FROM app AS local-tools
USER root
RUN apt-get update \
 && apt-get install -y --no-install-recommends openssl \
 && rm -rf /var/lib/apt/lists/*
COPY --from=builder /app/proxy proxy
COPY --from=builder /app/k8s/render-gateway-config.js k8s/render-gateway-config.js
USER 10001:10001
CMD ["node", "k8s/render-gateway-config.js", "compose", "--out", "/var/lib/concord/gateway"]

# ---------------------------------------------------------------------------------------------------
FROM app AS runtime
