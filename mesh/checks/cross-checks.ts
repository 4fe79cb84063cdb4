/**
 * Cross-checks of a rendered overlay that no schema can make: references resolve, probes reach served
 * ports and pass the mesh's default-deny policy, every authorization names real identities, the services'
 * configured peers are the ones allowed to call, route timeouts respect the app's deadlines and retries
 * touch only idempotent methods, the workloads are hardened, and they read the cluster's feature flags. Each check returns the problems it finds,
 * one readable line each; cross-checks.spec.ts breaks a manifest for every check to prove it can fail.
 */
import { services } from "@tourmesh/stack/topology";
import { deadlineSettings, longestAppDeadlineMs } from "./app-deadlines.js";
import {
  type ContractMethod,
  callableContracts,
  contractMethods,
  healthService,
  methodsByService,
  servedContracts,
} from "./contracts.js";
import { checkFeatureFlags } from "./feature-flags.js";
import { type KubeObject, nameOf } from "./kustomize.js";
import { checkObservability } from "./observability.js";
import {
  type Client,
  type Container,
  type GrpcRouteMatch,
  type HttpRouteMatch,
  type LabelSelector,
  Manifests,
  matchesSelector,
  meshIdentity,
  meshTlsIdentities,
  parentRefs,
  type Request,
  routeRules,
  selectedPods,
  serviceNameOf,
  servicePorts,
  targetRef,
} from "./policy.js";

/** Settings the topology gives only the local stack (e.g. seeding the demo users): never set in the cluster. */
const localOnlySettings = new Set(services.flatMap((service) => Object.keys(service.localOnly)));

export interface CheckOptions {
  /** Secrets created outside the manifests (by cluster-secrets.ts), which workloads may reference. */
  externalSecrets: KubeObject[];
  /** Mesh identities from outside the namespace that authorizations may name, e.g. viz's Prometheus. */
  externalIdentities: string[];
  /** Servers that take unauthenticated clients from anywhere on purpose (the edge). */
  publicServers: string[];
}

const sensitiveVariables = [
  /^DATABASE(_READ)?_URL$/,
  /^JWT_SIGNING_KEYS$/,
  /^POSTGRES_PASSWORD$/,
  /_DB_PASSWORD$/,
];
const kubelet: Client = { unauthenticated: true };

/** Runs every check; an empty list means the overlay passed. */
export function checkManifests(objects: KubeObject[], options: CheckOptions): string[] {
  const manifests = new Manifests(objects);
  return [
    ...checkReferences(manifests, options),
    ...checkProbes(manifests),
    ...checkZeroTrust(manifests, options),
    ...checkPeerWiring(manifests, options),
    ...checkOutboundRoutes(manifests),
    ...checkWorkloads(manifests, options),
    ...checkFeatureFlags(manifests, (container) =>
      resolvedEnv(manifests, container, readableSecrets(manifests, options)),
    ),
    ...checkObservability(manifests, (container) =>
      resolvedEnv(manifests, container, readableSecrets(manifests, options)),
    ),
  ];
}

/** The Secrets workloads may read: the rendering's own, then those made at deploy time. */
function readableSecrets(manifests: Manifests, options: CheckOptions): KubeObject[] {
  return [...manifests.ofKind("Secret"), ...options.externalSecrets];
}

/** The decoded values of the Secret `name` among `secrets`; undefined when there is none. */
function secretValues(secrets: KubeObject[], name: string): Record<string, string> | undefined {
  const secret = secrets.find((candidate) => candidate.metadata.name === name);
  if (!secret) return undefined;
  const data = Object.entries((secret.data ?? {}) as Record<string, string>).map(([key, encoded]) => [
    key,
    Buffer.from(encoded, "base64").toString(),
  ]);
  // The API server merges stringData into data, stringData winning.
  return { ...Object.fromEntries(data), ...(secret.stringData as Record<string, string> | undefined) };
}

/** Every name an object refers to exists, with the port or key it needs. */
export function checkReferences(manifests: Manifests, options: CheckOptions): string[] {
  const problems: string[] = [];
  const secrets = readableSecrets(manifests, options);
  const secretKeys = (name: string) => {
    const values = secretValues(secrets, name);
    return values && Object.keys(values);
  };
  const configMapKeys = (name: string) => {
    const configMap = manifests.find("ConfigMap", name);
    return configMap ? Object.keys((configMap.data as object) ?? {}) : undefined;
  };

  for (const route of [...manifests.ofKind("GRPCRoute"), ...manifests.ofKind("HTTPRoute")]) {
    for (const ref of parentRefs(route)) {
      if (ref.kind === "Server") {
        if (!manifests.find("Server", ref.name))
          problems.push(`${nameOf(route)}: parent Server ${ref.name} does not exist`);
      } else if (ref.kind === "Service" && (ref.group ?? "core") === "core") {
        const service = manifests.find("Service", ref.name);
        if (!service) problems.push(`${nameOf(route)}: parent Service ${ref.name} does not exist`);
        else if (ref.port !== undefined && !servicePorts(service).some((p) => p.port === ref.port))
          problems.push(`${nameOf(route)}: parent Service ${ref.name} has no port ${ref.port}`);
      } else problems.push(`${nameOf(route)}: parent ${ref.kind} ${ref.name} is not a Service or Server`);
    }
    for (const rule of routeRules(route)) {
      for (const backend of rule.backendRefs ?? []) {
        const service = manifests.find(backend.kind ?? "Service", backend.name);
        if (!service) problems.push(`${nameOf(route)}: backend ${backend.name} does not exist`);
        else if (!servicePorts(service).some((p) => p.port === backend.port))
          problems.push(`${nameOf(route)}: backend ${backend.name} has no port ${backend.port}`);
      }
    }
  }

  for (const policy of [
    ...manifests.ofKind("AuthorizationPolicy"),
    ...manifests.ofKind("HTTPLocalRateLimitPolicy"),
  ]) {
    const target = targetRef(policy);
    const exists =
      target.kind === "Namespace"
        ? target.name === manifests.namespace
        : manifests.find(target.kind, target.name);
    if (!exists) problems.push(`${nameOf(policy)}: target ${target.kind} ${target.name} does not exist`);
    if (policy.kind === "HTTPLocalRateLimitPolicy" && target.kind !== "Server")
      problems.push(`${nameOf(policy)}: a rate limit must target a Server`);
  }
  for (const policy of manifests.ofKind("AuthorizationPolicy")) {
    for (const { kind, name, object } of manifests.authenticationsOf(policy)) {
      if (!object) problems.push(`${nameOf(policy)}: ${kind} ${name} does not exist`);
    }
  }

  for (const hpa of manifests.ofKind("HorizontalPodAutoscaler")) {
    const target = (hpa.spec as { scaleTargetRef: { kind: string; name: string } }).scaleTargetRef;
    if (!manifests.find(target.kind, target.name))
      problems.push(`${nameOf(hpa)}: ${target.kind} ${target.name} does not exist`);
  }

  for (const pod of manifests.podTemplates()) {
    const where = nameOf(pod.workload);
    const account = pod.spec.serviceAccountName;
    if (!account || !manifests.find("ServiceAccount", account))
      problems.push(`${where}: ServiceAccount ${account ?? "(none)"} does not exist`);
    if (pod.workload.kind === "StatefulSet") {
      const governing = (pod.workload.spec as { serviceName: string }).serviceName;
      if (!manifests.find("Service", governing))
        problems.push(`${where}: serviceName ${governing} does not exist`);
    }
    for (const volume of pod.spec.volumes ?? []) {
      if (volume.configMap && !configMapKeys(volume.configMap.name))
        problems.push(`${where}: volume ${volume.name} names a missing ConfigMap ${volume.configMap.name}`);
      if (volume.secret && !secretKeys(volume.secret.secretName))
        problems.push(`${where}: volume ${volume.name} names a missing Secret ${volume.secret.secretName}`);
    }
    for (const container of pod.spec.containers) {
      for (const source of container.envFrom ?? []) {
        if (source.configMapRef && !configMapKeys(source.configMapRef.name))
          problems.push(`${where}: envFrom names a missing ConfigMap ${source.configMapRef.name}`);
        if (source.secretRef && !secretKeys(source.secretRef.name))
          problems.push(`${where}: envFrom names a missing Secret ${source.secretRef.name}`);
      }
      for (const variable of container.env ?? []) {
        const secretRef = variable.valueFrom?.secretKeyRef;
        if (secretRef && !secretKeys(secretRef.name)?.includes(secretRef.key))
          problems.push(
            `${where}: ${variable.name} reads ${secretRef.name}/${secretRef.key}, which does not exist`,
          );
        const configRef = variable.valueFrom?.configMapKeyRef;
        if (configRef && !configMapKeys(configRef.name)?.includes(configRef.key))
          problems.push(
            `${where}: ${variable.name} reads ${configRef.name}/${configRef.key}, which does not exist`,
          );
      }
    }
  }

  for (const service of manifests.ofKind("Service")) {
    const pods = selectedPods(manifests, service);
    if (pods.length === 0) problems.push(`${nameOf(service)}: its selector matches no pod`);
    for (const port of servicePorts(service)) {
      for (const pod of pods) {
        if (manifests.resolvePort(pod, port.targetPort ?? port.port) === undefined)
          problems.push(
            `${nameOf(service)}: port ${port.port} targets ${port.targetPort}, which ${nameOf(pod.workload)} does not serve`,
          );
      }
    }
  }

  for (const server of manifests.ofKind("Server")) {
    const spec = server.spec as { podSelector: LabelSelector; port: number | string; accessPolicy?: string };
    const pods = manifests.podTemplates().filter((pod) => matchesSelector(pod.labels, spec.podSelector));
    if (pods.length === 0) problems.push(`${nameOf(server)}: its podSelector matches no pod`);
    for (const pod of pods) {
      if (manifests.resolvePort(pod, spec.port) === undefined)
        problems.push(`${nameOf(server)}: ${nameOf(pod.workload)} has no port ${spec.port}`);
    }
  }
  return problems;
}

/**
 * Every probe targets a port its container serves and passes the mesh's policy: gRPC probes need a health
 * route authorized from all networks (Linkerd only authorizes HTTP probes by itself); HTTP probes need no
 * Server routes in the way. gRPC probes ask the right health service.
 */
export function checkProbes(manifests: Manifests): string[] {
  const problems: string[] = [];
  for (const pod of manifests.podTemplates()) {
    for (const container of pod.spec.containers) {
      const where = `${nameOf(pod.workload)} container ${container.name}`;
      const probes = {
        startup: container.startupProbe,
        liveness: container.livenessProbe,
        readiness: container.readinessProbe,
      };
      for (const [kind, probe] of Object.entries(probes)) {
        if (!probe) continue;
        const own = (port: number | string) =>
          (container.ports ?? []).find((p) =>
            typeof port === "number" ? p.containerPort === port : p.name === port,
          );
        if (probe.grpc) {
          if (!own(probe.grpc.port))
            problems.push(`${where}: ${kind} probe targets port ${probe.grpc.port}, which it does not serve`);
          const request: Request = { protocol: "grpc", service: healthService, method: "Check" };
          if (!manifests.allows(pod, probe.grpc.port, kubelet, request))
            problems.push(`${where}: the mesh refuses its ${kind} gRPC probe on port ${probe.grpc.port}`);
          const expected = kind === "readiness" ? "" : "liveness";
          if ((probe.grpc.service ?? "") !== expected)
            problems.push(
              `${where}: ${kind} probe asks for health of "${probe.grpc.service ?? ""}", expected "${expected}"`,
            );
        } else if (probe.httpGet) {
          const port = own(probe.httpGet.port);
          if (!port)
            problems.push(
              `${where}: ${kind} probe targets port ${probe.httpGet.port}, which it does not serve`,
            );
          const path = (probe.httpGet.path ?? "/").split("?")[0] as string;
          const request: Request = { protocol: "http", path, method: "GET" };
          if (port && !manifests.allows(pod, port.containerPort, kubelet, request, true))
            problems.push(`${where}: the mesh refuses its ${kind} HTTP probe on port ${probe.httpGet.port}`);
        } else if (probe.tcpSocket) {
          // The proxy accepts every TCP connection itself, so a TCP probe would pass even with the app down.
          problems.push(`${where}: ${kind} probe is a TCP probe, which a meshed pod always passes`);
        }
      }
    }
  }
  return problems;
}

/**
 * Default deny is on, nothing is open by accident: every app port has a Server, Servers do not overlap or
 * relax their access policy, only probe and edge targets take unauthenticated clients, and every identity
 * an authorization names has its ServiceAccount.
 */
export function checkZeroTrust(manifests: Manifests, options: CheckOptions): string[] {
  const problems: string[] = [];
  const namespace = manifests.find("Namespace", manifests.namespace);
  const annotations = namespace?.metadata.annotations ?? {};
  if (annotations["linkerd.io/inject"] !== "enabled")
    problems.push(`Namespace ${manifests.namespace}: linkerd.io/inject is not enabled`);
  if (annotations["config.linkerd.io/default-inbound-policy"] !== "deny")
    problems.push(`Namespace ${manifests.namespace}: default-inbound-policy is not deny`);

  for (const pod of manifests.podTemplates()) {
    for (const container of pod.spec.containers) {
      const httpProbePorts = [
        container.startupProbe,
        container.livenessProbe,
        container.readinessProbe,
      ].flatMap((probe) => (probe?.httpGet ? [probe.httpGet.port] : []));
      for (const port of container.ports ?? []) {
        const servers = manifests.serversFor(pod, port.containerPort);
        if (servers.length > 1)
          problems.push(
            `${nameOf(pod.workload)}: port ${port.containerPort} is selected by ${servers.length} Servers`,
          );
        const probeOnly =
          httpProbePorts.includes(port.containerPort) || httpProbePorts.includes(port.name ?? "");
        if (servers.length === 0 && !probeOnly)
          problems.push(
            `${nameOf(pod.workload)}: port ${port.name ?? port.containerPort} has no Server, so default deny closes it`,
          );
      }
    }
  }

  for (const server of manifests.ofKind("Server")) {
    const accessPolicy = (server.spec as { accessPolicy?: string }).accessPolicy ?? "deny";
    if (accessPolicy !== "deny")
      problems.push(`${nameOf(server)}: accessPolicy ${accessPolicy} bypasses its authorizations`);
  }

  for (const policy of manifests.ofKind("AuthorizationPolicy")) {
    const authentications = manifests.authenticationsOf(policy);
    if (!authentications.every(({ kind }) => kind === "NetworkAuthentication")) continue;
    const target = targetRef(policy);
    const object = manifests.find(target.kind, target.name);
    const isPublicServer = target.kind === "Server" && options.publicServers.includes(target.name);
    if (!isPublicServer && !(object && isProbeRoute(manifests, object)))
      problems.push(`${nameOf(policy)}: lets unauthenticated clients reach ${target.kind} ${target.name}`);
  }

  for (const authentication of manifests.ofKind("MeshTLSAuthentication")) {
    for (const identity of meshTlsIdentities(authentication)) {
      const match = /^([a-z0-9-]+)\.([a-z0-9-]+)\.serviceaccount\.identity\.linkerd\.cluster\.local$/.exec(
        identity,
      );
      if (!match) problems.push(`${nameOf(authentication)}: ${identity} is not a workload identity`);
      else if (match[2] === manifests.namespace && !manifests.find("ServiceAccount", match[1] as string))
        problems.push(`${nameOf(authentication)}: ${identity} has no ServiceAccount ${match[1]}`);
      else if (match[2] !== manifests.namespace && !options.externalIdentities.includes(identity))
        problems.push(
          `${nameOf(authentication)}: ${identity} is from another namespace and not a known external identity`,
        );
    }
  }
  return problems;
}

/**
 * An inbound route that only carries the kubelet's probes: gRPC health checks, or HTTP paths probed on its
 * Server's port (the proxies' /live and /ready on their admin port, a container's own HTTP probe paths).
 */
function isProbeRoute(manifests: Manifests, route: KubeObject): boolean {
  const rules = routeRules(route);
  // A rule without matches, or with an empty list of them, carries every call (as routeMatches has it).
  if (rules.length === 0 || rules.some((rule) => !rule.matches?.length)) return false;
  const matches = rules.flatMap((rule) => rule.matches ?? []);
  if (route.kind === "GRPCRoute")
    return (matches as GrpcRouteMatch[]).every((m) => m.method?.service === healthService);
  if (route.kind === "HTTPRoute") {
    const probed = new Set(
      parentRefs(route).flatMap((ref) => {
        const server = ref.kind === "Server" ? manifests.find("Server", ref.name) : undefined;
        return server ? probePathsOn(manifests, server) : [];
      }),
    );
    return (matches as HttpRouteMatch[]).every(
      (m) => m.path?.type === "Exact" && probed.has(m.path.value ?? ""),
    );
  }
  return false;
}

/** The HTTP paths the kubelet probes on the pods and port a Server selects. */
function probePathsOn(manifests: Manifests, server: KubeObject): string[] {
  const spec = server.spec as { podSelector: LabelSelector; port: number | string };
  return manifests
    .podTemplates()
    .filter((pod) => matchesSelector(pod.labels, spec.podSelector))
    .flatMap((pod) => {
      const port = manifests.resolvePort(pod, spec.port);
      const proxy = manifests.injection.ports.some((injected) => injected.containerPort === port)
        ? manifests.injection.proxyProbePaths
        : [];
      const own = pod.spec.containers
        .flatMap((container) => [container.startupProbe, container.livenessProbe, container.readinessProbe])
        .flatMap((probe) =>
          probe?.httpGet && manifests.resolvePort(pod, probe.httpGet.port) === port
            ? [(probe.httpGet.path ?? "/").split("?")[0] as string]
            : [],
        );
      return [...proxy, ...own];
    });
}

/** The value of every environment variable of a container, from literals, ConfigMaps and known Secrets. */
export function resolvedEnv(
  manifests: Manifests,
  container: Container,
  secrets: KubeObject[],
): Map<string, string> {
  const values = new Map<string, string>();
  for (const source of container.envFrom ?? []) {
    if (!source.configMapRef) continue;
    const data = (manifests.find("ConfigMap", source.configMapRef.name)?.data ?? {}) as Record<
      string,
      string
    >;
    for (const [key, value] of Object.entries(data)) values.set(key, value);
  }
  for (const variable of container.env ?? []) {
    const secretRef = variable.valueFrom?.secretKeyRef;
    const value = variable.value ?? (secretRef && secretValues(secrets, secretRef.name)?.[secretRef.key]);
    if (value !== undefined) values.set(variable.name, value);
  }
  return values;
}

/**
 * The peers each service is configured to call (X_ADDR, JWKS_URL, NATS_URL, REDIS_URL, DATABASE_URL,
 * DATABASE_READ_URL) exist and let
 * it in: a caller wired to a peer that would refuse it, or to a port nothing serves, fails here, before
 * it fails in a cluster.
 */
export function checkPeerWiring(manifests: Manifests, options: CheckOptions): string[] {
  const problems: string[] = [];
  const secrets = readableSecrets(manifests, options);
  for (const pod of manifests.podTemplates()) {
    const caller: Client = {
      identity: meshIdentity(pod.spec.serviceAccountName ?? "default", manifests.namespace),
    };
    for (const container of pod.spec.containers) {
      for (const [variable, value] of resolvedEnv(manifests, container, secrets)) {
        const target = peerTarget(variable, value);
        if (!target) continue;
        const where = `${nameOf(pod.workload)}: ${variable}=${target.host}:${target.port}`;
        const serviceName = serviceNameOf(target.host, manifests.namespace);
        const service = serviceName && manifests.find("Service", serviceName);
        if (!service) {
          problems.push(`${where} is not a Service of the namespace`);
          continue;
        }
        const port = servicePorts(service).find((p) => p.port === target.port);
        if (!port) {
          problems.push(`${where}: Service ${serviceName} has no port ${target.port}`);
          continue;
        }
        for (const peer of selectedPods(manifests, service)) {
          const podPort = manifests.resolvePort(peer, port.targetPort ?? port.port);
          if (podPort === undefined) continue;
          for (const request of target.requests) {
            if (!manifests.allows(peer, podPort, caller, request))
              problems.push(
                `${where}: ${nameOf(peer.workload)} does not authorize ${pod.spec.serviceAccountName}` +
                  (request.protocol === "grpc" ? ` to call ${request.service}` : ""),
              );
          }
        }
      }
    }
  }
  return problems;
}

/** Where a setting points, and the requests the caller makes there: a call of each contract a gRPC peer offers. */
function peerTarget(
  variable: string,
  value: string,
): { host: string; port: number; requests: Request[] } | undefined {
  const addressMatch = /^([A-Z]+)_ADDR$/.exec(variable);
  if (addressMatch) {
    const [host, port] = value.split(":");
    const contracts = callableContracts((addressMatch[1] as string).toLowerCase());
    if (contracts.length === 0) return undefined;
    return {
      host: host ?? "",
      port: Number(port),
      requests: contracts.map((contract) => ({
        protocol: "grpc",
        service: contract.typeName,
        method: contract.methods[0]?.name ?? "",
      })),
    };
  }
  if (!/^(JWKS_URL|NATS_URL|REDIS_URL|DATABASE_URL|DATABASE_READ_URL)$/.test(variable)) return undefined;
  const url = new URL(value);
  const defaultPorts: Record<string, number> = {
    "http:": 80,
    "nats:": 4222,
    "redis:": 6379,
    "postgres:": 5432,
  };
  const port = url.port ? Number(url.port) : (defaultPorts[url.protocol] ?? 0);
  const request: Request =
    url.protocol === "http:" ? { protocol: "http", path: url.pathname, method: "GET" } : { protocol: "tcp" };
  return { host: url.hostname, port, requests: [request] };
}

const durationUnits: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1_000, ms: 1 };

/** A Gateway API duration ("15s", "2500ms", "1m30s") in milliseconds; NaN when it is not one. */
export function parseDurationMs(text: string): number {
  if (!/^(\d+(h|m|s|ms))+$/.test(text)) return Number.NaN;
  let total = 0;
  for (const [, amount, unit] of text.matchAll(/(\d+)(ms|h|m|s)/g))
    total += Number(amount) * (durationUnits[unit as string] ?? 0);
  return total;
}

/**
 * The outbound GRPCRoutes (parent: a Service): their method matches name real contract methods; each has a
 * request timeout at least the longest deadline the app can give the methods it carries; retries are on
 * UNAVAILABLE only and only for idempotent methods; every idempotent method that meshed clients may call is
 * retried by some route, since the app's own retries are off in the mesh. No ServiceProfile overrides them.
 */
export function checkOutboundRoutes(manifests: Manifests): string[] {
  const problems: string[] = [];
  const methods = methodsByService();
  for (const profile of manifests.ofKind("ServiceProfile"))
    problems.push(`${nameOf(profile)}: a ServiceProfile turns off the routes' timeouts and retries`);

  const retried = new Set<string>();
  const outbound = manifests
    .ofKind("GRPCRoute")
    .filter((route) => parentRefs(route).some((ref) => ref.kind === "Service"));
  for (const route of outbound) {
    const where = nameOf(route);
    const annotations = route.metadata.annotations ?? {};
    const parent = manifests.find("Service", parentRefs(route)[0]?.name ?? "");
    const workload =
      parent && (parent.spec as { selector?: Record<string, string> }).selector?.["app.kubernetes.io/name"];
    const served = (workload && servedContracts[workload]) || [];
    const allMethods = [
      ...served.flatMap(contractMethods),
      { service: healthService, method: "Check", path: `/${healthService}/Check`, idempotent: true },
    ];
    const carried: ContractMethod[] = [];
    let catchAll = false;
    for (const rule of routeRules<GrpcRouteMatch>(route)) {
      if (!rule.matches?.length) {
        catchAll = true;
        carried.push(...allMethods);
        continue;
      }
      for (const { method: match } of rule.matches) {
        const known = methods.get(match?.service ?? "");
        if (!known) {
          problems.push(`${where}: matches unknown gRPC service ${match?.service}`);
          continue;
        }
        if (match?.method === undefined) {
          catchAll = true;
          carried.push(...known);
          continue;
        }
        const method = known.find((candidate) => candidate.method === match.method);
        if (!method) problems.push(`${where}: ${match.service} has no method ${match.method}`);
        else carried.push(method);
      }
    }

    const timeout = annotations["timeout.linkerd.io/request"];
    const timeoutMs = timeout === undefined ? Number.NaN : parseDurationMs(timeout);
    if (Number.isNaN(timeoutMs))
      problems.push(`${where}: timeout.linkerd.io/request is missing or not a duration`);
    for (const method of carried) {
      const deadline = longestAppDeadlineMs(method.path);
      if (timeoutMs < deadline)
        problems.push(
          `${where}: request timeout ${timeout} is shorter than the app's ${deadline} ms deadline for ${method.path}`,
        );
    }

    if (annotations["retry.linkerd.io/http"] !== undefined)
      problems.push(`${where}: retry.linkerd.io/http is for HTTPRoutes`);
    const retryOn = annotations["retry.linkerd.io/grpc"];
    if (retryOn !== undefined) {
      if (retryOn !== "unavailable")
        problems.push(`${where}: retries on "${retryOn}"; only "unavailable" is safe`);
      if (catchAll) problems.push(`${where}: retries every method, including any that is not idempotent`);
      for (const method of carried) {
        if (!method.idempotent) problems.push(`${where}: retries ${method.path}, which is not idempotent`);
        else retried.add(method.path);
      }
      if (!/^\d+$/.test(annotations["retry.linkerd.io/limit"] ?? ""))
        problems.push(`${where}: retry.linkerd.io/limit is not set`);
    }
  }

  // What meshed callers may call: the API routes of the services' inbound Servers.
  for (const route of manifests
    .ofKind("GRPCRoute")
    .filter((r) => parentRefs(r).some((ref) => ref.kind === "Server"))) {
    if (manifests.policiesOn(route).length === 0) continue;
    for (const rule of routeRules<GrpcRouteMatch>(route)) {
      for (const { method: match } of rule.matches ?? []) {
        for (const method of methods.get(match?.service ?? "") ?? []) {
          if (match?.method !== undefined && match.method !== method.method) continue;
          if (method.idempotent && !retried.has(method.path))
            problems.push(
              `GRPCRoute ${route.metadata.name}: no outbound route retries ${method.path}, which is idempotent`,
            );
        }
      }
    }
  }
  return problems;
}

/** Returns the routes with `label` (tourmesh.io/traffic-split) and the weight each gives each backend. */
export function trafficSplits(
  objects: KubeObject[],
  split: string,
): Array<{ route: string; weights: Record<string, number> }> {
  return objects
    .filter(
      (object) =>
        object.kind === "GRPCRoute" && object.metadata.labels?.["tourmesh.io/traffic-split"] === split,
    )
    .flatMap((route) =>
      routeRules(route).map((rule) => ({
        route: route.metadata.name,
        // A backendRef without a weight has weight 1 (Gateway API).
        weights: Object.fromEntries(
          (rule.backendRefs ?? []).map((backend) => [backend.name, backend.weight ?? 1]),
        ),
      })),
    );
}

/**
 * Who may reach what: for every authorization target (a Server, or an inbound route), the workloads whose
 * identities are authorized ("sa.namespace"), or "any client" where unauthenticated clients are let in.
 */
export function authorizationTable(objects: KubeObject[]): Record<string, string[]> {
  const manifests = new Manifests(objects);
  const table: Record<string, string[]> = {};
  for (const policy of manifests.ofKind("AuthorizationPolicy")) {
    const target = targetRef(policy);
    const key = `${target.kind}/${target.name}`;
    const entries = new Set(table[key] ?? []);
    for (const { kind, name, object } of manifests.authenticationsOf(policy)) {
      if (kind === "NetworkAuthentication") entries.add("any client");
      if (kind === "ServiceAccount") entries.add(`${name}.${manifests.namespace}`);
      if (kind === "MeshTLSAuthentication") {
        for (const identity of meshTlsIdentities(object))
          entries.add(identity.replace(/\.serviceaccount\.identity\.linkerd\.cluster\.local$/, ""));
      }
    }
    table[key] = [...entries].sort();
  }
  return table;
}

/**
 * The workloads are hardened and configured for the mesh: requests and limits, non-root, read-only root
 * filesystem, no privilege escalation, all capabilities dropped, pinned third-party images, a termination
 * grace longer than the app's drain, deadlines no longer than the route timeouts assume, MESH_MODE on, gRPC
 * ports declared h2c, secrets only from Secrets and no demo users.
 */
export function checkWorkloads(manifests: Manifests, options: CheckOptions): string[] {
  const problems: string[] = [];
  const secrets = readableSecrets(manifests, options);
  for (const pod of manifests.podTemplates()) {
    const podNonRoot = pod.spec.securityContext?.runAsNonRoot === true;
    for (const container of pod.spec.containers) {
      const where = `${nameOf(pod.workload)} container ${container.name}`;
      for (const section of ["requests", "limits"] as const) {
        for (const resource of ["cpu", "memory"]) {
          if (container.resources?.[section]?.[resource] === undefined)
            problems.push(`${where}: no ${resource} ${section}`);
        }
      }
      const security = container.securityContext ?? {};
      if (!podNonRoot && security.runAsNonRoot !== true) problems.push(`${where}: may run as root`);
      if (security.readOnlyRootFilesystem !== true) problems.push(`${where}: root filesystem is writable`);
      if (security.allowPrivilegeEscalation !== false) problems.push(`${where}: allows privilege escalation`);
      if (!security.capabilities?.drop?.includes("ALL")) problems.push(`${where}: keeps Linux capabilities`);

      const isOurs = container.image.startsWith("tourmesh/");
      if (!isOurs && !/:[^:]*\d[^:]*$/.test(container.image) && !container.image.includes("@sha256:"))
        problems.push(`${where}: image ${container.image} is not pinned to a version`);
      if (!isOurs) continue;

      const env = resolvedEnv(manifests, container, secrets);
      if (env.get("MESH_MODE") !== "true") problems.push(`${where}: MESH_MODE is not "true"`);
      // The platform's defaults when unset: no delay, a 10 s grace.
      const drainMs =
        Number(env.get("SHUTDOWN_DELAY_MS") ?? 0) + Number(env.get("SHUTDOWN_GRACE_MS") ?? 10_000);
      const terminationMs = (pod.spec.terminationGracePeriodSeconds ?? 30) * 1000;
      if (terminationMs <= drainMs)
        problems.push(
          `${where}: terminationGracePeriodSeconds ${terminationMs / 1000} does not exceed its ${drainMs} ms drain`,
        );
      for (const [setting, limitMs] of Object.entries(deadlineSettings)) {
        const valueMs = Number(env.get(setting) ?? 0);
        if (valueMs > limitMs)
          problems.push(
            `${where}: ${setting}=${valueMs} exceeds the ${limitMs} ms the route timeouts assume (mesh/checks/app-deadlines.ts)`,
          );
      }
      for (const probe of ["startupProbe", "livenessProbe", "readinessProbe"] as const) {
        if (!container[probe]?.grpc) problems.push(`${where}: no gRPC ${probe}`);
      }
    }
    for (const container of pod.spec.containers) {
      for (const variable of container.env ?? []) {
        if (
          sensitiveVariables.some((pattern) => pattern.test(variable.name)) &&
          !variable.valueFrom?.secretKeyRef
        )
          problems.push(`${nameOf(pod.workload)}: ${variable.name} must come from a Secret`);
        if (localOnlySettings.has(variable.name))
          problems.push(`${nameOf(pod.workload)}: sets ${variable.name}, a local-only setting`);
      }
    }
  }
  for (const configMap of manifests.ofKind("ConfigMap")) {
    for (const key of Object.keys((configMap.data ?? {}) as Record<string, string>)) {
      if (sensitiveVariables.some((pattern) => pattern.test(key)))
        problems.push(`${nameOf(configMap)}: ${key} belongs in a Secret`);
      if (localOnlySettings.has(key))
        problems.push(`${nameOf(configMap)}: sets ${key}, a local-only setting`);
    }
  }
  for (const service of manifests.ofKind("Service")) {
    for (const port of servicePorts(service)) {
      if (port.name === "grpc" && port.appProtocol !== "kubernetes.io/h2c")
        problems.push(`${nameOf(service)}: gRPC port ${port.port} is not declared kubernetes.io/h2c`);
    }
  }
  return problems;
}
