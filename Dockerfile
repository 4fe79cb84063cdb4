# syntax=docker/dockerfile:1
# The image of any one service:  docker build --build-arg SERVICE=catalog -t tourmesh/catalog .
#
# One Dockerfile for all seven services, chosen by SERVICE, rather than one per service: they are all built
# the same way (the same runtime, the platform and gen workspaces, their own services/<name> folder), so
# seven copies would only drift apart. The dependency layer does not depend on SERVICE: all seven images
# share it, and it is built once.

# Node 20.20.2 on Debian 12, what CI tests with. For byte-for-byte reproducible builds also pin its digest,
# as shown by: docker buildx imagetools inspect node:20.20.2-bookworm-slim
ARG NODE_IMAGE=node:20.20.2-bookworm-slim

# Every package.json and the lockfile, alone, so that the dependency layer is rebuilt only when they change.
FROM ${NODE_IMAGE} AS manifests
WORKDIR /src
COPY . .
RUN mkdir /manifests \
 && cp package-lock.json /manifests/ \
 && find . -name package.json -not -path "*/node_modules/*" -exec cp --parents "{}" /manifests/ ";"

FROM ${NODE_IMAGE} AS dependencies
WORKDIR /app
COPY --from=manifests /manifests ./
# The production dependencies of every workspace: the services share nearly all of them. They include tsx,
# a dependency of the platform, which runs the TypeScript as it is (the services have no build step).
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --no-audit --no-fund

FROM ${NODE_IMAGE}
ARG SERVICE
RUN test -n "${SERVICE}" || (echo "build with --build-arg SERVICE=<name of a folder in services/>" >&2; exit 1)
WORKDIR /app
COPY --from=dependencies /app ./
# The code is owned by the app's user so that `tilt up` can sync edits into a running container; in the
# cluster the root filesystem is read-only, so the app cannot change it there.
COPY --chown=1000:1000 tsconfig.json tsconfig.base.json ./
COPY --chown=1000:1000 gen gen
COPY --chown=1000:1000 services/platform services/platform
COPY --chown=1000:1000 services/${SERVICE} services/${SERVICE}
# The image's `node` user, by number, so that Kubernetes can check runAsNonRoot.
USER 1000:1000
WORKDIR /app/services/${SERVICE}
# node itself as PID 1 (no npm, no tsx CLI wrapper): SIGTERM reaches the app, which drains and exits.
CMD ["node", "--import", "tsx", "src/main.ts"]
