# The presence service in one image: `serve` on the HTTP/WebSocket port and the UDP heartbeat port.
# Build: docker build -t presence .   Run a deployment: compose.yaml (see the README's "Production mode").

# One exact Node release for both stages, so a rebuild next month runs what was tested.
ARG NODE_IMAGE=node:20.20.2-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
# The manifests first: the dependency layer is rebuilt only when they change, not on every source edit.
COPY package.json package-lock.json ./
COPY packages/protocol/package.json packages/protocol/
COPY packages/server/package.json packages/server/
COPY packages/client/package.json packages/client/
COPY packages/demo/package.json packages/demo/
COPY packages/admin/package.json packages/admin/
COPY packages/react/package.json packages/react/
RUN npm ci --no-audit --no-fund
COPY tsconfig.base.json tsconfig.json ./
COPY scripts ./scripts
COPY packages ./packages
# tsc, the Redis store's Lua next to the compiled modules, and the demo and operations page bundles.
RUN npm run build

FROM ${NODE_IMAGE} AS runtime
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/protocol/package.json packages/protocol/
COPY packages/server/package.json packages/server/
COPY packages/client/package.json packages/client/
COPY packages/demo/package.json packages/demo/
COPY packages/admin/package.json packages/admin/
COPY packages/react/package.json packages/react/
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
# The server finds the demo, the operations page and the migrations relative to its own dist/ folder.
COPY --from=build /app/packages/protocol/dist packages/protocol/dist
COPY --from=build /app/packages/server/dist packages/server/dist
COPY --from=build /app/packages/server/drizzle packages/server/drizzle
COPY --from=build /app/packages/demo/dist packages/demo/dist
COPY --from=build /app/packages/admin/dist packages/admin/dist
# The embedded database and the demo's generated secret go to DATA_DIR: the only folder the service may write.
RUN mkdir /data && chown node:node /data

# HOST: listen on the container's interfaces, not its loopback. WORKERS=auto: one worker per CPU when
# DATABASE_URL and REDIS_URL are set, one process on the embedded default (docs/operations.md).
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    UDP_PORT=5555 \
    DATA_DIR=/data \
    WORKERS=auto
EXPOSE 8080/tcp 5555/udp
USER node
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.PORT}/healthz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Node as PID 1 gets SIGTERM from `docker stop` and runs the graceful shutdown (docs/operations.md).
CMD ["node", "packages/server/dist/cli/main.js", "serve"]
