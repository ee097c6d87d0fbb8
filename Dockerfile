# fintech-reconciliation: the `recon` CLI as a container image (see docs/deploy/README.md).
#
#   docker build -t recon .
#   docker run --rm --env-file .env recon                   # = recon run (yesterday, RECON_PROCESSORS)
#   docker run --rm --env-file .env recon runs gaps --from 2025-09-01 --to 2025-09-30
#
# Two stages: `build` installs every dependency (dev ones included) and compiles TypeScript with
# the same `npm ci` / `npm run build` as CI; `runtime` holds production dependencies and dist/
# only. No native module is compiled (pg is pure JS, PGlite is WebAssembly, resvg ships prebuilt
# glibc binaries as optional packages), so neither stage needs build tools.

# Node 26 is the active Node.js LTS line the image runs on (LTS since October 2026; Node 20 reached end of life in April 2026);
# the package itself still supports Node >= 20.12 (package.json `engines`), which CI tests.

# ---- build --------------------------------------------------------------------------------------
FROM node:26-trixie-slim AS build
WORKDIR /src
# Dependencies first, in their own layer: rebuilt only when the lock file changes. `prepare`
# (= build) is skipped here because the sources are not copied yet; it runs explicitly below.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY scripts ./scripts
RUN npm run build

# ---- runtime ------------------------------------------------------------------------------------
FROM node:26-trixie-slim AS runtime
# recon is the container's only process: it receives SIGTERM from `docker stop` / Kubernetes /
# ECS itself and exits 143 after rolling back.
ENV NODE_ENV=production \
    RECON_REPORTS_DIR=/app/local_reports \
    RECON_PGLITE_DIR=/app/.recon/pgdata
WORKDIR /app

# The trend chart in the e-mail needs a font (resvg draws no text without one; the slim image has
# none): DejaVu Sans, the file src/delivery/trend-chart.ts looks for.
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*

# A fixed numeric uid/gid so that Kubernetes' runAsNonRoot can verify it without a passwd lookup.
RUN groupadd --system --gid 10001 recon \
    && useradd --system --uid 10001 --gid recon --home-dir /app --no-create-home --shell /usr/sbin/nologin recon

# Production dependencies only. --ignore-scripts: `prepare` would run `tsc`, which is a dev
# dependency (and dist/ is already built); no production dependency has an install script.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
    && npm cache clean --force \
    && rm -rf /root/.npm /tmp/*

COPY --from=build /src/dist ./dist
COPY bin ./bin
COPY setup.sql ./
RUN chmod 0755 /app/bin/recon \
    && ln -s /app/bin/recon /usr/local/bin/recon \
    && mkdir -p /app/local_reports /app/.recon /app/data \
    && chown recon:recon /app/local_reports /app/.recon

# Reports and the embedded database (only used when no PostgreSQL server is configured) are the
# only paths recon writes besides /tmp; the code under /app stays owned by root, read-only to recon.
# A named volume mounted there starts as a copy of these directories, owned by 10001; a bind mount
# keeps the host directory's owner: `chown 10001:10001` it first (docs/deploy/README.md).
VOLUME ["/app/local_reports", "/app/.recon"]

USER 10001:10001

# Liveness of what the container needs: `recon health --liveness` connects to the database and
# checks the schema; it calls no API, S3 or SMTP and records nothing (the full `recon health` is
# for operators). It exits 3 when the database is down; Docker expects 1 for "unhealthy".
HEALTHCHECK --interval=1m --timeout=15s --start-period=30s --retries=3 \
    CMD recon health --liveness || exit 1

ENTRYPOINT ["recon"]
CMD ["run"]
