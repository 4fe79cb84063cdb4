/**
 * Cross-checks of the cluster's observability (mesh/base/observability/) against the rest of a rendering,
 * read from the configuration files the workloads mount:
 * - Prometheus's pod discovery and relabelings, evaluated against the pod templates, scrape every service of
 *   the topology as job="<service>" on a port its pods serve and whose policy lets Prometheus in; its rule
 *   files are mounted where rule_files looks;
 * - every service sends OTLP to the collector's Service, on the port the collector receives OTLP/HTTP on,
 *   and the collector lets it in; each exporter of the collector reaches a Service that lets the collector in;
 * - each Grafana datasource is a Service of the namespace that lets Grafana in, the default one Prometheus;
 * - the rules and dashboards the cluster mounts are observability/'s, under kustomize's content-hash names.
 * The workloads are found by their app.kubernetes.io/name: prometheus, grafana, otel-collector.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { serviceNames } from "@tourmesh/stack/topology";
import { parse as parseYaml } from "yaml";
import { dashboardFiles } from "../../observability/grafana/dashboards.js";
import { rulesDir } from "../../observability/prometheus/rules.js";
import { configMapHash, type KubeObject, nameOf } from "./kustomize.js";
import {
  type Client,
  type Container,
  type Manifests,
  meshIdentity,
  type PodTemplate,
  type Request,
  selectedPods,
  serviceNameOf,
  servicePorts,
} from "./policy.js";

/** Every problem of the observability's wiring, one readable line each. */
export function checkObservability(manifests: Manifests, env: EnvReader): string[] {
  return [
    ...checkScrapeTargets(manifests),
    ...checkOtlpEndpoints(manifests, env),
    ...checkCollectorExporters(manifests),
    ...checkGrafanaDatasources(manifests),
    ...checkObservabilitySources(manifests),
  ];
}

/** A container's environment, resolved (cross-checks.ts's resolvedEnv with the readable Secrets). */
export type EnvReader = (container: Container) => Map<string, string>;

const nameLabel = "app.kubernetes.io/name";

interface Workload {
  pod: PodTemplate;
  container: Container;
  client: Client;
}

/** The first container of the pods labelled `name`, or a problem saying there are none. */
function workload(manifests: Manifests, name: string, problems: string[]): Workload | undefined {
  const pod = manifests.podTemplates().find((candidate) => candidate.labels[nameLabel] === name);
  const container = pod?.spec.containers[0];
  if (!pod || !container) {
    problems.push(`no workload is labelled ${nameLabel}=${name}`);
    return undefined;
  }
  return { pod, container, client: clientOf(manifests, pod) };
}

function clientOf(manifests: Manifests, pod: PodTemplate): Client {
  return { identity: meshIdentity(pod.spec.serviceAccountName ?? "default", manifests.namespace) };
}

/** The ConfigMap mounted (whole, no subPath) at `dir` in a container. */
function mountedConfigMap(
  manifests: Manifests,
  { pod, container }: Workload,
  dir: string,
): KubeObject | undefined {
  const mount = container.volumeMounts?.find(
    (candidate) => candidate.mountPath === dir && !candidate.subPath,
  );
  const volume = pod.spec.volumes?.find((candidate) => candidate.name === mount?.name);
  return volume?.configMap && manifests.find("ConfigMap", volume.configMap.name);
}

/** The text of a file a container reads from a mounted ConfigMap, or a problem. */
function mountedFile(
  manifests: Manifests,
  owner: Workload,
  path: string,
  problems: string[],
): string | undefined {
  const configMap = mountedConfigMap(manifests, owner, dirname(path));
  const text = (configMap?.data as Record<string, string> | undefined)?.[
    path.slice(dirname(path).length + 1)
  ];
  if (text === undefined) problems.push(`${nameOf(owner.pod.workload)}: nothing is mounted at ${path}`);
  return text;
}

/** The value of a `--flag=value` (or `-flag=value`) argument. */
function argument(container: Container, flag: string): string | undefined {
  const prefix = `${flag}=`;
  return container.args?.find((arg) => arg.startsWith(prefix))?.slice(prefix.length);
}

/**
 * Whether `caller` reaches `url` with `request`: the host is a Service of the namespace with that port,
 * selecting pods (those labelled `expected`, when given) whose policy lets the caller in. Returns the pods
 * and the pod port it lands on.
 */
function reach(
  manifests: Manifests,
  where: string,
  caller: Client,
  url: string,
  request: Request,
  problems: string[],
  expected?: string,
): { pods: PodTemplate[]; port: number } | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    problems.push(`${where}: ${url} is not a URL`);
    return undefined;
  }
  const port = parsed.port ? Number(parsed.port) : parsed.protocol === "https:" ? 443 : 80;
  const serviceName = serviceNameOf(parsed.hostname, manifests.namespace);
  const service = serviceName && manifests.find("Service", serviceName);
  if (!service) {
    problems.push(`${where}: ${parsed.hostname} is not a Service of the namespace`);
    return undefined;
  }
  const servicePort = servicePorts(service).find((candidate) => candidate.port === port);
  if (!servicePort) {
    problems.push(`${where}: Service ${serviceName} has no port ${port}`);
    return undefined;
  }
  const pods = selectedPods(manifests, service);
  let podPort: number | undefined;
  for (const pod of pods) {
    if (expected && pod.labels[nameLabel] !== expected)
      problems.push(`${where}: Service ${serviceName} selects ${nameOf(pod.workload)}, not ${expected}`);
    podPort = manifests.resolvePort(pod, servicePort.targetPort ?? servicePort.port);
    if (podPort === undefined) continue;
    if (!manifests.allows(pod, podPort, caller, request))
      problems.push(`${where}: ${nameOf(pod.workload)} refuses ${describe(request)} on port ${podPort}`);
  }
  if (pods.length === 0) problems.push(`${where}: Service ${serviceName} selects no pod`);
  return podPort === undefined ? undefined : { pods, port: podPort };
}

const describe = (request: Request) =>
  request.protocol === "http" ? `${request.method} ${request.path}` : request.protocol;

interface RelabelConfig {
  source_labels?: string[];
  separator?: string;
  regex?: string;
  target_label?: string;
  replacement?: string;
  action?: string;
}

interface ScrapeConfig {
  job_name: string;
  metrics_path?: string;
  kubernetes_sd_configs?: Array<{ role: string; namespaces?: { names?: string[] } }>;
  relabel_configs?: RelabelConfig[];
  static_configs?: unknown;
}

interface PrometheusConfig {
  rule_files?: string[];
  scrape_configs?: ScrapeConfig[];
}

/** Prometheus's label name for a Kubernetes label: every character outside [a-zA-Z0-9_] becomes _. */
const labelName = (name: string) => name.replace(/[^a-zA-Z0-9_]/g, "_");

/**
 * The targets a kubernetes_sd `role: pod` discovery and its relabelings make of the pod templates: one per
 * container port (the proxy's injected ports included), with the labels left after relabeling.
 */
export function podTargets(
  manifests: Manifests,
  config: ScrapeConfig,
): Array<{ pod: PodTemplate; labels: Record<string, string> }> {
  const targets: Array<{ pod: PodTemplate; labels: Record<string, string> }> = [];
  for (const pod of manifests.podTemplates()) {
    const containers = [
      ...pod.spec.containers.map((container) => ({ name: container.name, ports: container.ports ?? [] })),
      { name: "linkerd-proxy", ports: manifests.injection.ports },
    ];
    for (const container of containers) {
      for (const port of container.ports) {
        const labels: Record<string, string> = {
          __address__: `${pod.workload.metadata.name}.pod:${port.containerPort}`,
          __metrics_path__: config.metrics_path ?? "/metrics",
          job: config.job_name,
          __meta_kubernetes_namespace: manifests.namespace,
          __meta_kubernetes_pod_name: `${pod.workload.metadata.name}-0`,
          __meta_kubernetes_pod_container_name: container.name,
          __meta_kubernetes_pod_container_port_name: port.name ?? "",
          __meta_kubernetes_pod_container_port_number: String(port.containerPort),
        };
        for (const [key, value] of Object.entries(pod.labels)) {
          labels[`__meta_kubernetes_pod_label_${labelName(key)}`] = value;
          labels[`__meta_kubernetes_pod_labelpresent_${labelName(key)}`] = "true";
        }
        const kept = relabel(labels, config.relabel_configs ?? []);
        if (kept) targets.push({ pod, labels: kept });
      }
    }
  }
  return targets;
}

/** Prometheus's relabeling for the actions keep, drop and replace; undefined when the target is dropped. */
export function relabel(
  input: Record<string, string>,
  configs: RelabelConfig[],
): Record<string, string> | undefined {
  const labels = { ...input };
  for (const config of configs) {
    const value = (config.source_labels ?? [])
      .map((name) => labels[name] ?? "")
      .join(config.separator ?? ";");
    const regex = new RegExp(`^(?:${config.regex ?? "(.*)"})$`);
    const action = config.action ?? "replace";
    if (action === "keep" && !regex.test(value)) return undefined;
    if (action === "drop" && regex.test(value)) return undefined;
    if (action === "replace") {
      const match = regex.exec(value);
      if (!match || !config.target_label) continue;
      const replaced = (config.replacement ?? "$1").replace(
        /\$\{?(\d+)\}?/g,
        (_, group) => match[Number(group)] ?? "",
      );
      if (replaced === "") delete labels[config.target_label];
      else labels[config.target_label] = replaced;
    } else if (action !== "keep" && action !== "drop")
      throw new Error(`relabel action ${action} is not modelled`);
  }
  return labels;
}

/**
 * Prometheus scrapes every service of the topology as job="<service>", on ports its pods serve and whose
 * policy lets Prometheus read /metrics; discovery looks in this namespace; the rule files are mounted where
 * rule_files looks, and hold a rule file or more.
 */
export function checkScrapeTargets(manifests: Manifests): string[] {
  const problems: string[] = [];
  const prometheus = workload(manifests, "prometheus", problems);
  if (!prometheus) return problems;
  const where = nameOf(prometheus.pod.workload);
  const configPath = argument(prometheus.container, "--config.file");
  if (!configPath) return [`${where}: no --config.file`];
  const text = mountedFile(manifests, prometheus, configPath, problems);
  if (text === undefined) return problems;
  const config = parseYaml(text) as PrometheusConfig;

  for (const pattern of config.rule_files ?? []) {
    const configMap = mountedConfigMap(manifests, prometheus, dirname(pattern));
    const glob = new RegExp(
      `^${pattern
        .slice(dirname(pattern).length + 1)
        .replace(/\./g, "\\.")
        .replace(/\*/g, "[^/]*")}$`,
    );
    const keys = Object.keys((configMap?.data ?? {}) as Record<string, string>).filter((key) =>
      glob.test(key),
    );
    if (keys.length === 0) problems.push(`${where}: rule_files ${pattern} matches no mounted file`);
  }
  if (!config.rule_files?.length) problems.push(`${where}: loads no rule files`);

  const jobs = new Set<string>();
  for (const scrape of config.scrape_configs ?? []) {
    const discovery = scrape.kubernetes_sd_configs;
    if (!discovery?.length || discovery.some((sd) => sd.role !== "pod") || scrape.static_configs) {
      problems.push(
        `${where}: scrape job ${scrape.job_name} is not a kubernetes_sd role: pod discovery, which the check models`,
      );
      continue;
    }
    if (!discovery.every((sd) => sd.namespaces?.names?.includes(manifests.namespace)))
      problems.push(
        `${where}: scrape job ${scrape.job_name} does not look in namespace ${manifests.namespace}`,
      );
    for (const { pod, labels } of podTargets(manifests, scrape)) {
      const job = labels.job ?? scrape.job_name;
      jobs.add(job);
      const port = Number(/:(\d+)$/.exec(labels.__address__ ?? "")?.[1]);
      const target = `${where}: target ${nameOf(pod.workload)}:${port} (job ${job})`;
      if (manifests.resolvePort(pod, port) === undefined) {
        problems.push(`${target}: the pod serves no port ${port}`);
        continue;
      }
      const request: Request = {
        protocol: "http",
        path: labels.__metrics_path__ ?? "/metrics",
        method: "GET",
      };
      if (!manifests.allows(pod, port, prometheus.client, request))
        problems.push(`${target}: the mesh refuses Prometheus's ${describe(request)}`);
    }
  }
  for (const service of serviceNames) {
    if (!jobs.has(service))
      problems.push(`${where}: no target has job="${service}", which the rules and dashboards select`);
  }
  return problems;
}

/**
 * Every tourmesh container exports to the collector: OTEL_EXPORTER_OTLP_ENDPOINT names the collector's
 * Service on a port that reaches the collector's OTLP/HTTP receiver, and the collector lets the service post
 * its traces and logs.
 */
export function checkOtlpEndpoints(manifests: Manifests, env: EnvReader): string[] {
  const problems: string[] = [];
  const collector = workload(manifests, "otel-collector", problems);
  if (!collector) return problems;
  const receiverPort = collectorConfig(manifests, collector, problems)
    ?.receivers?.otlp?.protocols?.http?.endpoint?.split(":")
    .at(-1);
  for (const pod of manifests.podTemplates()) {
    for (const container of pod.spec.containers.filter((candidate) =>
      candidate.image.startsWith("tourmesh/"),
    )) {
      const where = `${nameOf(pod.workload)} container ${container.name}`;
      const endpoint = env(container).get("OTEL_EXPORTER_OTLP_ENDPOINT");
      if (!endpoint) {
        problems.push(`${where}: no OTEL_EXPORTER_OTLP_ENDPOINT, so its traces and logs go nowhere`);
        continue;
      }
      for (const signal of ["traces", "logs"]) {
        const request: Request = {
          protocol: "http",
          path: `${new URL(endpoint).pathname.replace(/\/$/, "")}/v1/${signal}`,
          method: "POST",
        };
        const reached = reach(
          manifests,
          `${where}: OTEL_EXPORTER_OTLP_ENDPOINT=${endpoint}`,
          clientOf(manifests, pod),
          endpoint,
          request,
          problems,
          "otel-collector",
        );
        if (reached && String(reached.port) !== receiverPort)
          problems.push(
            `${where}: OTEL_EXPORTER_OTLP_ENDPOINT reaches port ${reached.port}, where the collector receives no OTLP/HTTP`,
          );
      }
    }
  }
  return [...new Set(problems)];
}

interface CollectorConfig {
  receivers?: { otlp?: { protocols?: { http?: { endpoint?: string } } } };
  exporters?: Record<string, { endpoint?: string } | null>;
  service?: { pipelines?: Record<string, { receivers?: string[]; exporters?: string[] }> };
}

function collectorConfig(
  manifests: Manifests,
  collector: Workload,
  problems: string[],
): CollectorConfig | undefined {
  const path = argument(collector.container, "--config");
  if (!path) {
    problems.push(`${nameOf(collector.pod.workload)}: no --config`);
    return undefined;
  }
  const text = mountedFile(manifests, collector, path, problems);
  return text === undefined ? undefined : (parseYaml(text) as CollectorConfig);
}

/**
 * The collector has a traces and a logs pipeline fed by its OTLP receiver, and each of their exporters
 * (OTLP/HTTP) posts to a Service of the namespace that lets the collector in.
 */
export function checkCollectorExporters(manifests: Manifests): string[] {
  const problems: string[] = [];
  const collector = workload(manifests, "otel-collector", problems);
  const config = collector && collectorConfig(manifests, collector, problems);
  if (!collector || !config) return problems;
  const where = nameOf(collector.pod.workload);
  for (const signal of ["traces", "logs"]) {
    const pipeline = config.service?.pipelines?.[signal];
    if (!pipeline?.receivers?.includes("otlp"))
      problems.push(`${where}: no ${signal} pipeline from the OTLP receiver`);
    if (!pipeline?.exporters?.length) problems.push(`${where}: the ${signal} pipeline exports nowhere`);
    for (const name of pipeline?.exporters ?? []) {
      const endpoint = config.exporters?.[name]?.endpoint;
      if (!name.startsWith("otlphttp") || !endpoint) {
        problems.push(
          `${where}: exporter ${name} is not an OTLP/HTTP exporter with an endpoint, which the check models`,
        );
        continue;
      }
      const request: Request = {
        protocol: "http",
        path: `${new URL(endpoint).pathname.replace(/\/$/, "")}/v1/${signal}`,
        method: "POST",
      };
      reach(
        manifests,
        `${where}: exporter ${name} (${endpoint})`,
        collector.client,
        endpoint,
        request,
        problems,
      );
    }
  }
  return problems;
}

/** What Grafana asks each kind of datasource it knows. */
const datasourceRequests: Record<string, Request> = {
  prometheus: { protocol: "http", path: "/api/v1/query", method: "GET" },
  loki: { protocol: "http", path: "/loki/api/v1/query_range", method: "GET" },
  jaeger: { protocol: "http", path: "/api/traces", method: "GET" },
};

const provisioning = "/etc/grafana/provisioning";

/**
 * Every provisioned datasource is a Service of the namespace that lets Grafana in; the default one is a
 * Prometheus whose Service selects the Prometheus pods (the dashboards read the default).
 */
export function checkGrafanaDatasources(manifests: Manifests): string[] {
  const problems: string[] = [];
  const grafana = workload(manifests, "grafana", problems);
  if (!grafana) return problems;
  const where = nameOf(grafana.pod.workload);
  const configMap = mountedConfigMap(manifests, grafana, `${provisioning}/datasources`);
  const datasources = Object.values((configMap?.data ?? {}) as Record<string, string>).flatMap(
    (text) =>
      (
        parseYaml(text) as {
          datasources?: Array<{ name: string; type: string; url: string; isDefault?: boolean }>;
        }
      ).datasources ?? [],
  );
  for (const datasource of datasources) {
    const request = datasourceRequests[datasource.type];
    if (!request) {
      problems.push(
        `${where}: datasource ${datasource.name} is of type ${datasource.type}, which the check does not know`,
      );
      continue;
    }
    const expected = datasource.isDefault ? "prometheus" : undefined;
    reach(
      manifests,
      `${where}: datasource ${datasource.name} (${datasource.url})`,
      grafana.client,
      datasource.url,
      request,
      problems,
      expected,
    );
  }
  const defaults = datasources.filter((datasource) => datasource.isDefault);
  if (defaults.length !== 1 || defaults[0]?.type !== "prometheus")
    problems.push(`${where}: the default datasource, which the dashboards read, is not one Prometheus`);
  return problems;
}

/** The generated dashboards, built once per process from observability/grafana/dashboards.ts. */
let dashboards: Map<string, string> | undefined;

/** The rule files of observability/prometheus/rules, by name. */
function ruleFiles(): Map<string, string> {
  const dir = rulesDir.pathname;
  return new Map(
    readdirSync(dir)
      .filter((name) => name.endsWith(".yaml"))
      .map((name) => [name, readFileSync(join(dir, name), "utf8")]),
  );
}

/**
 * The cluster's copies are the sources: the ConfigMap mounted where Grafana's dashboard provider reads holds
 * exactly the dashboards observability/grafana/dashboards.ts generates, the one mounted where Prometheus
 * reads its rules exactly observability/prometheus/rules/*.yaml; each is named by kustomize's hash of its
 * content, so that a change rolls the pods.
 */
export function checkObservabilitySources(manifests: Manifests): string[] {
  const problems: string[] = [];
  dashboards ??= dashboardFiles();
  const grafana = workload(manifests, "grafana", problems);
  const prometheus = workload(manifests, "prometheus", problems);
  if (!grafana || !prometheus) return problems;

  const providers = Object.values(
    (mountedConfigMap(manifests, grafana, `${provisioning}/dashboards`)?.data ?? {}) as Record<
      string,
      string
    >,
  ).flatMap(
    (text) => (parseYaml(text) as { providers?: Array<{ options?: { path?: string } }> }).providers ?? [],
  );
  const copies: Array<[string, KubeObject | undefined, Map<string, string>]> = [
    ...providers.map((provider): [string, KubeObject | undefined, Map<string, string>] => [
      `Grafana's dashboards at ${provider.options?.path}`,
      mountedConfigMap(manifests, grafana, provider.options?.path ?? ""),
      dashboards as Map<string, string>,
    ]),
    ...((
      parseYaml(
        mountedFile(manifests, prometheus, argument(prometheus.container, "--config.file") ?? "", problems) ??
          "{}",
      ) as PrometheusConfig
    ).rule_files?.map((pattern): [string, KubeObject | undefined, Map<string, string>] => [
      `Prometheus's rules at ${dirname(pattern)}`,
      mountedConfigMap(manifests, prometheus, dirname(pattern)),
      ruleFiles(),
    ]) ?? []),
  ];
  if (providers.length === 0) problems.push(`${nameOf(grafana.pod.workload)}: provisions no dashboards`);
  for (const [what, configMap, source] of copies) {
    if (!configMap) {
      problems.push(`${what}: no ConfigMap is mounted there`);
      continue;
    }
    const data = (configMap.data ?? {}) as Record<string, string>;
    for (const [file, text] of source) {
      if (data[file] === undefined) problems.push(`${what}: ${nameOf(configMap)} lacks ${file}`);
      else if (data[file] !== text)
        problems.push(`${what}: ${nameOf(configMap)} holds a ${file} that differs from the source`);
    }
    for (const key of Object.keys(data)) {
      if (!source.has(key))
        problems.push(`${what}: ${nameOf(configMap)} holds ${key}, which is not in the source`);
    }
    const hashed = /^(.+)-([a-z0-9]{10})$/.exec(configMap.metadata.name);
    if (!hashed || hashed[2] !== configMapHash(data))
      problems.push(
        `${what}: ${nameOf(configMap)} is not named by the hash of its content, so a change would not roll the pods`,
      );
  }
  return problems;
}
