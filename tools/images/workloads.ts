/**
 * What the cluster manifests (mesh/base) say about running a workload's container, read from them so that a
 * container run elsewhere (the container test, compose.yaml) is held to the same: its user, read-only root,
 * dropped capabilities, no privilege escalation, CPU and memory limits, grace period, probes and settings.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { type KubeObject, readManifest } from "../../mesh/checks/kustomize.js";
import type { Container, PodSpec } from "../../mesh/checks/policy.js";

const baseDir = join(import.meta.dirname, "..", "..", "mesh", "base");

export interface Workload {
  name: string;
  /** The pod's one container. */
  container: Container;
  pod: PodSpec & { securityContext?: { runAsUser?: number; runAsGroup?: number } };
  /** The data of the ConfigMaps of the workload's folder, by name. */
  configMaps: ReadonlyMap<string, Record<string, string>>;
  /** The settings its container takes from ConfigMaps (`envFrom`), in order. */
  settings: Record<string, string>;
}

/** The Deployment or StatefulSet `name` of mesh/base/<folder>/ (default folder: the name). */
export function readWorkload(name: string, folder = name): Workload {
  const dir = join(baseDir, folder);
  const objects: KubeObject[] = readdirSync(dir)
    .filter((file) => file.endsWith(".yaml"))
    .flatMap((file) => readManifest(join(dir, file)));
  const workload = objects.find(
    (object) => ["Deployment", "StatefulSet"].includes(object.kind) && object.metadata.name === name,
  );
  if (!workload) throw new Error(`mesh/base/${folder} has no Deployment or StatefulSet ${name}`);
  const pod = (workload.spec as { template: { spec: Workload["pod"] } }).template.spec;
  const [container] = pod.containers;
  if (!container || pod.containers.length !== 1) throw new Error(`${name}: expected one container`);
  const configMaps = new Map(
    objects
      .filter((object) => object.kind === "ConfigMap")
      .map((object) => [object.metadata.name, (object.data ?? {}) as Record<string, string>]),
  );
  const settings: Record<string, string> = {};
  for (const source of container.envFrom ?? []) {
    const data = source.configMapRef && configMaps.get(source.configMapRef.name);
    if (source.configMapRef && !data) throw new Error(`${name}: no ConfigMap ${source.configMapRef.name}`);
    Object.assign(settings, data);
  }
  return { name, container, pod, configMaps, settings };
}

/** A Kubernetes memory quantity in bytes: 256Mi, 1Gi. */
export function memoryBytes(quantity: string | number): number {
  const match = /^(\d+)(Ki|Mi|Gi)?$/.exec(String(quantity));
  if (!match?.[1]) throw new Error(`unsupported memory quantity ${quantity}`);
  const unit = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30 }[match[2] ?? ""] ?? 1;
  return Number(match[1]) * unit;
}

/** A Kubernetes CPU quantity in CPUs: "1", 500m. */
export function cpus(quantity: string | number): number {
  const match = /^(\d+)(m)?$/.exec(String(quantity));
  if (!match?.[1]) throw new Error(`unsupported CPU quantity ${quantity}`);
  return Number(match[1]) / (match[2] ? 1000 : 1);
}

/** The restrictions the manifests put on the workload's container, as a container runtime takes them. */
export interface Restrictions {
  /** uid:gid, when the pod sets them. */
  user?: string;
  readOnlyRoot: boolean;
  dropCapabilities: string[];
  noNewPrivileges: boolean;
  memoryBytes?: number;
  cpus?: number;
  /** How long a stop may take before the container is killed. */
  gracePeriodSeconds?: number;
}

export function restrictionsOf(workload: Workload): Restrictions {
  const { container, pod } = workload;
  const { runAsUser, runAsGroup } = pod.securityContext ?? {};
  const limits = container.resources?.limits ?? {};
  return {
    ...(runAsUser !== undefined ? { user: `${runAsUser}:${runAsGroup ?? runAsUser}` } : {}),
    readOnlyRoot: container.securityContext?.readOnlyRootFilesystem === true,
    dropCapabilities: container.securityContext?.capabilities?.drop ?? [],
    noNewPrivileges: container.securityContext?.allowPrivilegeEscalation === false,
    ...(limits.memory !== undefined ? { memoryBytes: memoryBytes(limits.memory) } : {}),
    ...(limits.cpu !== undefined ? { cpus: cpus(limits.cpu) } : {}),
    ...(pod.terminationGracePeriodSeconds !== undefined
      ? { gracePeriodSeconds: pod.terminationGracePeriodSeconds }
      : {}),
  };
}

/** The restrictions as `docker run` / `podman run` flags. */
export function runFlags(restrictions: Restrictions): string[] {
  return [
    ...(restrictions.user ? ["--user", restrictions.user] : []),
    ...(restrictions.readOnlyRoot ? ["--read-only"] : []),
    ...restrictions.dropCapabilities.flatMap((capability) => ["--cap-drop", capability]),
    ...(restrictions.noNewPrivileges ? ["--security-opt", "no-new-privileges"] : []),
    ...(restrictions.memoryBytes !== undefined ? ["--memory", String(restrictions.memoryBytes)] : []),
    ...(restrictions.cpus !== undefined ? ["--cpus", String(restrictions.cpus)] : []),
    ...(restrictions.gracePeriodSeconds !== undefined
      ? ["--stop-timeout", String(restrictions.gracePeriodSeconds)]
      : []),
  ];
}
