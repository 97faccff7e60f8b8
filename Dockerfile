# syntax=docker/dockerfile:1
# Zenith console image. The console reads REDIS_URL; the image has no redis-server of its own.
#   docker build -t zenith .
#   docker run -p 127.0.0.1:3000:3000 -e REDIS_URL=redis://redis-host:6379 -e ZENITH_PASSWORD=… zenith

# Node 26 is the active LTS line since 2026-10-28 (24 is in maintenance); its official images are
# built on Debian 13 (trixie) only
ARG NODE_IMAGE=node:26-trixie-slim

# ---- build: all dependencies, compile the SDK workspace and the console, then drop dev dependencies
FROM ${NODE_IMAGE} AS build
# better-sqlite3 (the embedded job archive) downloads a prebuilt binary when one exists for this
# Node and compiles from source otherwise, which needs a compiler and Python
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
COPY sdk/package.json sdk/
# no scripts yet: `prepare` would build before the sources are here
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN npm rebuild \
 && npm run build \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

# ---- runtime: production dependencies and built files only, run as the unprivileged `node` user
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
# Memory (BENCHMARKS.md, console memory): a young generation of 2 × 4 MB instead of V8's 2 × 16 MB,
# and 2 malloc arenas instead of up to 8 per core. Node and glibc read both only at launch.
ENV NODE_OPTIONS=--max-semi-space-size=4 MALLOC_ARENA_MAX=2
WORKDIR /app
COPY --from=build /app/package.json /app/package-lock.json ./
# node_modules/@gravito/quasar is a workspace link to ./sdk, so the SDK's manifest and build come too
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/sdk/package.json ./sdk/package.json
COPY --from=build /app/sdk/dist ./sdk/dist
COPY --from=build /app/dist ./dist
COPY --from=build /app/views ./views
COPY --from=build /app/public ./public
COPY --from=build /app/examples ./examples
# the job archive (SQLite, the default) lives in /data: a volume, writable by the `node` user;
# ZENITH_ARCHIVE=postgres://… or off replaces it
RUN mkdir -p /data && chown node:node /data
ENV ZENITH_DATA_DIR=/data
VOLUME ["/data"]
USER node
EXPOSE 3000
# slim images have no curl; PORT is honoured so the example app (same image) is checked too
HEALTHCHECK --interval=15s --timeout=3s --start-period=15s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/livez').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# listening beyond loopback needs ZENITH_PASSWORD (or ZENITH_USERS), or ZENITH_INSECURE=1 to run open
CMD ["node", "dist/server/cli.js", "start", "--host", "0.0.0.0"]
