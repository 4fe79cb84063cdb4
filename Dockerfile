# syntax=docker/dockerfile:1
# The image of any one service:  docker build --build-arg SERVICE=catalog -t tourmesh/catalog .
# Its development variant (TypeScript run by tsx, for `tilt up`'s live update):  --target dev
#
# One Dockerfile for all seven services, chosen by SERVICE, rather than one per service: they are all built
# the same way (the same runtime, the platform and gen workspaces, their own services/<name> folder), so
# seven copies would only drift apart. The dependency layers do not depend on SERVICE: all seven images
# share them, and they are built once.

# Node 24.22.3 (LTS) on Debian 12, what CI tests with. For byte-for-byte reproducible builds also pin its
# digest, as shown by: docker buildx imagetools inspect node:24.22.3-bookworm-slim
ARG NODE_IMAGE=node:24.22.3-bookworm-slim

# Every package.json and the lockfile, alone, so that the dependency layers are rebuilt only when they change.
FROM ${NODE_IMAGE} AS manifests
WORKDIR /src
COPY . .
RUN mkdir /manifests \
 && cp package-lock.json /manifests/ \
 && find . -name package.json -not -path "*/node_modules/*" -exec cp --parents "{}" /manifests/ ";"

# The production dependencies of every workspace (the services share nearly all of them): what the
# bundles load at run time. No TypeScript tooling: the image runs JavaScript.
FROM ${NODE_IMAGE} AS dependencies
WORKDIR /app
COPY --from=manifests /manifests ./
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --no-audit --no-fund

# Every dependency, the development ones too: esbuild for the bundle, tsx for the dev image.
FROM ${NODE_IMAGE} AS development-dependencies
WORKDIR /app
COPY --from=manifests /manifests ./
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund

# The service's TypeScript and the workspaces it imports.
FROM development-dependencies AS sources
ARG SERVICE
RUN test -n "${SERVICE}" || (echo "build with --build-arg SERVICE=<name of a folder in services/>" >&2; exit 1)
# Owned by the app's user so that `tilt up` can sync edits into the running dev container.
COPY --chown=1000:1000 tsconfig.json tsconfig.base.json ./
COPY --chown=1000:1000 gen gen
COPY --chown=1000:1000 services/platform services/platform
COPY --chown=1000:1000 services/${SERVICE} services/${SERVICE}
# The repository's feature flags: what a service reads when FLAGS_FILE is not set (the cluster sets it).
COPY --chown=1000:1000 flags flags

# `npm run build` for this one service: dist/<service>/ holds the bundle, its source map and the files the
# code reads at run time (its migrations and the platform's), laid out as the production image's /app.
FROM sources AS build
ARG SERVICE
# The web app's sources: the gateway's bundle serves the app, which tools/build.ts builds into it with Vite.
COPY web web
COPY tools/build.ts tools/
COPY stack/src/topology.ts stack/src/
RUN node --import tsx tools/build.ts "${SERVICE}"

# Development: the TypeScript run by tsx, which `tilt up` (target 'dev') restarts as live update syncs edits.
FROM sources AS dev
ARG SERVICE
# The image's `node` user, by number, so that Kubernetes can check runAsNonRoot.
USER 1000:1000
WORKDIR /app/services/${SERVICE}
CMD ["node", "--import", "tsx", "src/main.ts"]

# What node needs at run time and nothing more: its binary, the shared libraries it loads (from ldd), the
# users, and name lookup through /etc/hosts first. No shell, no package manager, no npm: the production image
# is these files, the production dependencies and the bundle.
FROM ${NODE_IMAGE} AS runtime
RUN mkdir -p /runtime/etc \
 && cp --parents /usr/local/bin/node /runtime/ \
 && for library in $(ldd /usr/local/bin/node | grep -o '/[^ ]*'); do cp --parents --dereference "$library" /runtime/; done \
 && grep -E '^(root|node):' /etc/passwd > /runtime/etc/passwd \
 && grep -E '^(root|node):' /etc/group > /runtime/etc/group \
 && echo 'hosts: files dns' > /runtime/etc/nsswitch.conf

# Production, the default target: node, the production dependencies and the bundle, nothing else. Root owns
# the files, and in the cluster the root filesystem is read-only: nothing is written at run time. The layers
# before ARG SERVICE are the same for every service: the seven images share them.
FROM scratch AS production
COPY --from=runtime /runtime /
WORKDIR /app
COPY --from=dependencies /app ./
ARG SERVICE
COPY --from=build /app/dist/${SERVICE}/ ./
# Where `node` is found: by the CMD below, and by a health check run in the container (compose.yaml).
ENV PATH="/usr/local/bin"
# The environment every service runs in, sized for a service that is to stay under 150 MB resident (the
# pod's limit is 256 MiB). tools/build.ts (SHIPPED_ENV) has the same values for the benchmarks, which measure
# the result (npm run bench:memory); mesh/checks/tiltfile.spec.ts checks that the two agree.
# - V8's young generation: semi-spaces of 2 MB. Left to itself, Node 24's V8 grows its young generation to
#   128 MB under allocation (Node 20's stopped at 32). Scavenges run more often, each cheap, as most of a
#   request's objects die young: at 170/s, 2 MB instead of 4 kept the busiest service 10 MB lower for the
#   same CPU per booking.
# - V8's old generation: at most 128 MB. By default V8 lets it grow toward a limit sized from the machine's
#   memory before collecting hard; under the booking benchmark the busiest service (the gateway) reserved
#   at most 90 MB of heap, so 128 MB leaves room for bursts yet keeps the heap well inside the pod's limit.
# - glibc's malloc: blocks of 128 KiB and more always get their own mapping, returned to the system when
#   freed. Left to itself, malloc raises that threshold after the first such block is freed; identity's
#   scrypt (16 MiB per hash, on libuv's thread pool) then stays resident in every thread's arena, and
#   identity held 138-194 MB after a few sign-ins instead of 86-88 MB.
# Environment rather than arguments: they hold however node is started in the container.
ENV NODE_OPTIONS="--max-semi-space-size=2 --max-old-space-size=128"
ENV GLIBC_TUNABLES="glibc.malloc.mmap_threshold=131072"
USER 1000:1000
# node itself as PID 1 (there is no npm and no shell): SIGTERM reaches the app, which drains and exits.
CMD ["node", "main.mjs"]
