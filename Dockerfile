# syntax=docker/dockerfile:1
# One image for every patchbay program; the command picks which:
#   node dist/gateway/index.js web|mobile
#   node dist/scripts/run-subgraph.js accounts|email|storage|analytics
# Node 22 LTS on Debian (glibc: the gateway's Rust query planner ships glibc binaries).
# test/full/deploy.test.ts replays these steps outside a container, in order.
ARG NODE_IMAGE=node:22-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# npm's cache is a build cache mount, never a layer of the image.
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY gateway ./gateway
COPY kit ./kit
COPY subgraphs ./subgraphs
COPY sandbox ./sandbox
COPY scripts ./scripts
COPY schema ./schema
COPY clients ./clients
RUN npm run build

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only; none needs an install script.
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --ignore-scripts --no-audit --no-fund
COPY --from=build /app/dist ./dist
# The image's user: uid 1000 ("node"), never root.
USER 1000:1000
# Containers listen on every interface; ports are each program's own (the table in README
# "Quick start"). The health check finds the port of the program the container runs.
ENV HOST=0.0.0.0
EXPOSE 4000 5000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 CMD ["node", "dist/scripts/healthcheck.js"]
ENTRYPOINT ["node", "--enable-source-maps"]
CMD ["dist/gateway/index.js", "web"]
