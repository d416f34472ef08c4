# syntax=docker/dockerfile:1
# One image for every Concord process; the command selects it (docs/operations.md):
#   node services/<name>/dist/main.js             each service of the service list
#   node libs/db/dist/migrate-cli.js              migrations (compose `migrate`, k8s Job)
#   node services/auth-service/dist/keys-cli.js   JWT signing-key file tool (compose `keys`)
#   node services/auth-service/dist/restore-fixup-cli.js   after a Postgres restore (decision 017)
# Targets: `runtime` (the default, last stage) and `local-tools` (runtime + openssl and the gateway
# renderer, for docker-compose's one-shot gateway-init only). Why: docs/decisions/005-deployment.md.
# Nothing here names a service: every workspace under libs/ and services/ is found by glob, so adding
# a service is adding its folder (docs/decisions/014-service-list.md).

ARG NODE_IMAGE=node:20-bookworm-slim

# ---------------------------------------------------------------------------------------------------
# Every workspace's package.json and nothing else, at its path: COPY cannot keep the directories of a
# glob, so the whole tree comes in and everything but the manifests goes. The next stage copies the
# result; its layer is keyed on content, so a source change leaves the `npm ci` layer cached.
FROM ${NODE_IMAGE} AS manifests
WORKDIR /app
COPY libs libs
COPY services services
RUN find libs services -type f -not -regex '[^/]*/[^/]*/package\.json' -delete \
 && find libs services -depth -type d -empty -delete

# ---------------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS builder
WORKDIR /app
ENV npm_config_audit=false \
    npm_config_fund=false \
    npm_config_update_notifier=false

# Manifests first: the dependency layer is rebuilt only when one of them changes. npm ci needs the
# package.json of every workspace of the root package.json.
COPY package.json package-lock.json ./
COPY --from=manifests /app ./
# --ignore-scripts: no install script may download anything (Prisma's would fetch engines we do not
# use, see docs/decisions/002-own-migrator.md); `npm run build` runs `prisma generate` itself.
RUN --mount=type=cache,target=/root/.npm \
    npm ci --ignore-scripts

COPY . .
# /out: what the runtime image needs of each workspace (its manifest, its build output and its own
# node_modules when npm had to nest a second version there), and the migrator's SQL and client.
RUN npm run build \
 && npm prune --omit=dev --ignore-scripts \
 && for ws in libs/* services/*; do \
      mkdir -p "/out/$ws" && cp "$ws/package.json" "/out/$ws/" && cp -r "$ws/dist" "/out/$ws/dist" \
      && if [ -d "$ws/node_modules" ]; then cp -r "$ws/node_modules" "/out/$ws/node_modules"; fi; \
    done \
 && cp -r libs/db/prisma libs/db/generated libs/db/prisma.config.js /out/libs/db/

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
COPY --from=builder /out ./

USER 10001:10001
# No default service: every deployment names its command, and a bare `docker run` says so.
CMD ["node", "-e", "console.error('concord: pass a command, e.g. node services/auth-service/dist/main.js (see docs/operations.md)'); process.exit(64)"]

# ---------------------------------------------------------------------------------------------------
# Local profile only: generates the gateway's TLS material (openssl, through proxy/gateway/tls.js) and
# renders its nginx.conf with proxy/gateway for the service list (services/*/package.json, above).
# Kept out of `runtime` so production carries neither.
FROM app AS local-tools
USER root
RUN apt-get update \
 && apt-get install -y --no-install-recommends openssl \
 && rm -rf /var/lib/apt/lists/*
COPY --from=builder /app/proxy/service-list proxy/service-list
COPY --from=builder /app/proxy/gateway proxy/gateway
USER 10001:10001
CMD ["node", "proxy/gateway/container-config.js", "compose", "--out", "/var/lib/concord/gateway"]

# ---------------------------------------------------------------------------------------------------
FROM app AS runtime
