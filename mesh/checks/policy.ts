/**
 * A small model of Linkerd's inbound authorization, enough to answer "may this client make this request
 * to this pod port?" from the manifests alone, the way a pod's proxy would under the namespace's
 * default-deny policy:
 * - a port with no Server answers nothing but the kubelet's HTTP probes;
 * - a Server with no routes answers what an AuthorizationPolicy on the Server allows (plus HTTP probes);
 * - a Server with routes answers a request only if it matches one of its routes and a policy on that route
 *   (or on the Server) allows the client.
 * It does not model: CEL rules, audit mode, policy on other namespaces, route precedence between
 * overlapping routes (the first match wins here; tourmesh's routes never overlap).
 */
import type { KubeObject } from "./kustomize.js";

export interface ContainerPort {
  name?: string;
  containerPort: number;
}

export interface Probe {
  grpc?: { port: number; service?: string };
  httpGet?: { port: number | string; path?: string };
  tcpSocket?: { port: number | string };
  exec?: { command: string[] };
}

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: { name: string; key: string };
    configMapKeyRef?: { name: string; key: string };
  };
}

export interface Container {
  name: string;
  image: string;
  args?: string[];
  ports?: ContainerPort[];
  env?: EnvVar[];
  envFrom?: Array<{ configMapRef?: { name: string }; secretRef?: { name: string } }>;
  resources?: { requests?: Record<string, string | number>; limits?: Record<string, string | number> };
  startupProbe?: Probe;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  securityContext?: {
    runAsNonRoot?: boolean;
    allowPrivilegeEscalation?: boolean;
    readOnlyRootFilesystem?: boolean;
    capabilities?: { drop?: string[] };
  };
  volumeMounts?: Array<{ name: string; mountPath: string; subPath?: string; readOnly?: boolean }>;
}

export interface PodSpec {
  serviceAccountName?: string;
  terminationGracePeriodSeconds?: number;
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
  containers: Container[];
  volumes?: Array<{ name: string; configMap?: { name: string }; secret?: { secretName: string } }>;
}

/** The pods a Deployment or StatefulSet makes, as the policy sees them. */
export interface PodTemplate {
  workload: KubeObject;
  /** The template's labels plus those the Linkerd injector adds. */
  labels: Record<string, string>;
  spec: PodSpec;
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>;
}

/** What the Linkerd proxy injector adds to every pod of the namespace: ports and labels. */
export interface Injection {
  ports: ContainerPort[];
  labels: Record<string, string>;
  /** HTTP probe paths of the proxy container itself, on its admin port. */
  proxyProbePaths: string[];
}

export const linkerdInjection: Injection = {
  ports: [{ name: "linkerd-admin", containerPort: 4191 }],
  labels: { "linkerd.io/control-plane-ns": "linkerd" },
  proxyProbePaths: ["/live", "/ready"],
};

export type Request =
  | { protocol: "grpc"; service: string; method: string }
  | { protocol: "http"; path: string; method: string }
  | { protocol: "tcp" };

/** A meshed client (by its full mesh identity) or an unmeshed one, such as the kubelet. */
export type Client = { identity: string } | { unauthenticated: true };

export const meshIdentity = (serviceAccount: string, namespace: string) =>
  `${serviceAccount}.${namespace}.serviceaccount.identity.linkerd.cluster.local`;

const workloadKinds = new Set(["Deployment", "StatefulSet"]);
const allNetworks = new Set(["0.0.0.0/0", "::/0"]);

export function matchesSelector(labels: Record<string, string>, selector: LabelSelector): boolean {
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (labels[key] !== value) return false;
  }
  for (const { key, operator, values = [] } of selector.matchExpressions ?? []) {
    const has = key in labels;
    const value = labels[key] ?? "";
    const holds =
      operator === "Exists"
        ? has
        : operator === "DoesNotExist"
          ? !has
          : operator === "In"
            ? has && values.includes(value)
            : operator === "NotIn"
              ? !has || !values.includes(value)
              : false;
    if (!holds) return false;
  }
  return true;
}

/** The manifests of one rendering, indexed for the questions the checks ask. */
export class Manifests {
  readonly namespace: string;

  constructor(
    readonly objects: KubeObject[],
    readonly injection: Injection = linkerdInjection,
  ) {
    const namespaces = objects.filter((object) => object.kind === "Namespace");
    this.namespace = namespaces[0]?.metadata.name ?? "default";
  }

  ofKind(kind: string): KubeObject[] {
    return this.objects.filter((object) => object.kind === kind);
  }

  find(kind: string, name: string): KubeObject | undefined {
    return this.objects.find((object) => object.kind === kind && object.metadata.name === name);
  }

  podTemplates(): PodTemplate[] {
    return this.objects
      .filter((object) => workloadKinds.has(object.kind))
      .map((workload) => {
        const template = (
          workload.spec as { template: { metadata?: { labels?: Record<string, string> }; spec: PodSpec } }
        ).template;
        return {
          workload,
          labels: { ...template.metadata?.labels, ...this.injection.labels },
          spec: template.spec,
        };
      });
  }

  /** A port (number or name) of a pod, resolved to its number, counting the proxy's injected ports. */
  resolvePort(pod: PodTemplate, port: number | string): number | undefined {
    const ports = [
      ...pod.spec.containers.flatMap((container) => container.ports ?? []),
      ...this.injection.ports,
    ];
    if (typeof port === "number") return ports.some((p) => p.containerPort === port) ? port : undefined;
    return ports.find((p) => p.name === port)?.containerPort;
  }

  /** The Servers that select this pod port (Linkerd allows at most one). */
  serversFor(pod: PodTemplate, port: number): KubeObject[] {
    return this.ofKind("Server").filter((server) => {
      const spec = server.spec as { podSelector: LabelSelector; port: number | string };
      return matchesSelector(pod.labels, spec.podSelector) && this.resolvePort(pod, spec.port) === port;
    });
  }

  /** The inbound routes attached to a Server. */
  routesOf(server: KubeObject): KubeObject[] {
    return this.objects.filter(
      (object) =>
        (object.kind === "GRPCRoute" || object.kind === "HTTPRoute") &&
        parentRefs(object).some((ref) => ref.kind === "Server" && ref.name === server.metadata.name),
    );
  }

  /** The AuthorizationPolicies that target `target` directly. */
  policiesOn(target: KubeObject): KubeObject[] {
    return this.ofKind("AuthorizationPolicy").filter((policy) => {
      const ref = targetRef(policy);
      return ref.kind === target.kind && ref.name === target.metadata.name;
    });
  }

  /** The authentications a policy requires (all must hold); a missing one is undefined. */
  authenticationsOf(
    policy: KubeObject,
  ): Array<{ kind: string; name: string; object: KubeObject | undefined }> {
    const refs = (policy.spec as { requiredAuthenticationRefs: Array<{ kind: string; name: string }> })
      .requiredAuthenticationRefs;
    return refs.map((ref) => ({ ...ref, object: this.find(ref.kind, ref.name) }));
  }

  /** Whether `policy` lets `client` in: every required authentication must hold. */
  admits(policy: KubeObject, client: Client): boolean {
    return this.authenticationsOf(policy).every(({ kind, name, object }) => {
      if (kind === "NetworkAuthentication") {
        // Clients are anywhere in the cluster (the kubelet on a node): only an all-networks rule surely holds.
        const networks = ((object?.spec as { networks?: Array<{ cidr: string; except?: string[] }> })
          ?.networks ?? []) as Array<{ cidr: string; except?: string[] }>;
        return networks.some((network) => allNetworks.has(network.cidr) && !network.except?.length);
      }
      if (!("identity" in client)) return false;
      if (kind === "ServiceAccount") return client.identity === meshIdentity(name, this.namespace);
      if (kind === "MeshTLSAuthentication")
        return meshTlsIdentities(object).some((id) => identityMatches(id, client.identity));
      return false;
    });
  }

  /**
   * Whether `client` may make `request` to `port` of the pods of `pod`, as the pod's proxy decides. `probe`
   * marks a kubelet HTTP probe, which Linkerd authorizes by itself unless the port's Server has routes.
   */
  allows(pod: PodTemplate, port: number, client: Client, request: Request, probe = false): boolean {
    const server = this.serversFor(pod, port)[0];
    if (!server) return probe && request.protocol === "http";
    if ((server.spec as { accessPolicy?: string }).accessPolicy === "all-unauthenticated") return true;
    const routes = this.routesOf(server);
    if (routes.length === 0) {
      return (
        (probe && request.protocol === "http") || this.policiesOn(server).some((p) => this.admits(p, client))
      );
    }
    const route = routes.find((candidate) => routeMatches(candidate, request));
    if (!route) return false;
    return [...this.policiesOn(route), ...this.policiesOn(server)].some((policy) =>
      this.admits(policy, client),
    );
  }
}

export function parentRefs(
  route: KubeObject,
): Array<{ group?: string; kind?: string; name: string; port?: number }> {
  return ((route.spec as { parentRefs?: unknown[] }).parentRefs ?? []) as Array<{
    group?: string;
    kind?: string;
    name: string;
    port?: number;
  }>;
}

/** What an AuthorizationPolicy or an HTTPLocalRateLimitPolicy applies to. */
export function targetRef(policy: KubeObject): { kind: string; name: string } {
  return (policy.spec as { targetRef: { kind: string; name: string } }).targetRef;
}

export function meshTlsIdentities(authentication: KubeObject | undefined): string[] {
  const spec = authentication?.spec as
    | { identities?: string[]; identityRefs?: Array<{ kind: string; name: string; namespace?: string }> }
    | undefined;
  const namespace = authentication?.metadata.namespace ?? "default";
  return [
    ...(spec?.identities ?? []),
    ...(spec?.identityRefs ?? []).map((ref) => meshIdentity(ref.name, ref.namespace ?? namespace)),
  ];
}

/** Linkerd identity patterns: exact, "*" (any meshed client) or "*.suffix". */
function identityMatches(pattern: string, identity: string): boolean {
  if (pattern === "*") return true;
  if (pattern.startsWith("*.")) return identity.endsWith(pattern.slice(1));
  return pattern === identity;
}

export interface GrpcRouteMatch {
  method?: { type?: string; service?: string; method?: string };
}
export interface HttpRouteMatch {
  path?: { type?: string; value?: string };
  method?: string;
}
export interface BackendRef {
  kind?: string;
  name: string;
  port?: number;
  /** Gateway API: 1 when absent. */
  weight?: number;
}
/** A rule of a GRPCRoute (its matches are GrpcRouteMatch) or of an HTTPRoute (HttpRouteMatch). */
export interface RouteRule<Match extends GrpcRouteMatch | HttpRouteMatch = GrpcRouteMatch | HttpRouteMatch> {
  matches?: Match[];
  backendRefs?: BackendRef[];
}

/** The rules of a route; name the kind of match for a route whose kind is known. */
export function routeRules<Match extends GrpcRouteMatch | HttpRouteMatch = GrpcRouteMatch | HttpRouteMatch>(
  route: KubeObject,
): RouteRule<Match>[] {
  return (route.spec as { rules?: RouteRule<Match>[] }).rules ?? [];
}

/** Whether a request matches any rule of an inbound route (a rule without matches matches everything). */
export function routeMatches(route: KubeObject, request: Request): boolean {
  if (route.kind === "GRPCRoute") {
    if (request.protocol !== "grpc") return false;
    return routeRules<GrpcRouteMatch>(route).some(
      (rule) =>
        !rule.matches?.length ||
        rule.matches.some(
          ({ method }) =>
            (method?.type ?? "Exact") === "Exact" &&
            (method?.service === undefined || method.service === request.service) &&
            (method?.method === undefined || method.method === request.method),
        ),
    );
  }
  if (request.protocol !== "http") return false;
  return routeRules<HttpRouteMatch>(route).some(
    (rule) =>
      !rule.matches?.length ||
      rule.matches.some(({ path, method }) => {
        const value = path?.value ?? "/";
        const pathHolds =
          (path?.type ?? "PathPrefix") === "Exact"
            ? request.path === value
            : request.path === value || request.path.startsWith(value.endsWith("/") ? value : `${value}/`);
        return pathHolds && (method === undefined || method === request.method);
      }),
  );
}

export interface ServicePort {
  name?: string;
  port: number;
  targetPort?: number | string;
  appProtocol?: string;
}

export function servicePorts(service: KubeObject): ServicePort[] {
  return (service.spec as { ports: ServicePort[] }).ports;
}

/** The pod templates a Service selects. */
export function selectedPods(manifests: Manifests, service: KubeObject): PodTemplate[] {
  const matchLabels = (service.spec as { selector?: Record<string, string> }).selector ?? {};
  return manifests.podTemplates().filter((pod) => matchesSelector(pod.labels, { matchLabels }));
}

/** The Service a host name means from inside `namespace`, if it is one of the namespace's. */
export function serviceNameOf(host: string, namespace: string): string | undefined {
  const parts = host.split(".");
  if (parts.length === 1) return parts[0];
  if (parts[1] === namespace && (parts.length === 2 || parts.slice(2).join(".") === "svc.cluster.local"))
    return parts[0];
  return undefined;
}
