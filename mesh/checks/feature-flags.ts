/**
 * The cluster's feature flags: the feature-flags ConfigMap holds the same definitions as the repository's flag
 * file (flags/flags.json, what every local run and test reads), valid in flagd's format, and every tourmesh
 * container reads it: FLAGS_FILE names the file in a whole-directory mount of that ConfigMap. A subPath mount
 * would never see the ConfigMap change (the kubelet updates only directory mounts), so it is refused.
 */
import { readFileSync } from "node:fs";
import { join, posix } from "node:path";
import { flagFileProblem } from "@tourmesh/platform";
import { nameOf } from "./kustomize.js";
import type { Container, Manifests } from "./policy.js";
import { repoRoot } from "./repo-paths.js";

export const FLAGS_CONFIG_MAP = "feature-flags";
const FLAGS_KEY = "flags.json";
const repositoryFlags = () =>
  JSON.parse(readFileSync(join(repoRoot, "flags", "flags.json"), "utf8")) as unknown;

/** `envOf` gives a container's environment as it runs, from its ConfigMaps and Secrets. */
export function checkFeatureFlags(
  manifests: Manifests,
  envOf: (container: Container) => Map<string, string>,
): string[] {
  const problems: string[] = [];
  const configMap = manifests.find("ConfigMap", FLAGS_CONFIG_MAP);
  const text = (configMap?.data as Record<string, string> | undefined)?.[FLAGS_KEY];
  if (text === undefined) problems.push(`no ConfigMap ${FLAGS_CONFIG_MAP} with a ${FLAGS_KEY}`);
  else {
    const problem = flagFileProblem(text);
    if (problem)
      problems.push(`ConfigMap ${FLAGS_CONFIG_MAP}: ${FLAGS_KEY} is not a valid flag file: ${problem}`);
    else if (JSON.stringify(JSON.parse(text)) !== JSON.stringify(repositoryFlags()))
      problems.push(
        `ConfigMap ${FLAGS_CONFIG_MAP}: ${FLAGS_KEY} differs from flags/flags.json (copy it over)`,
      );
  }
  for (const pod of manifests.podTemplates()) {
    const flagVolumes = new Set(
      (pod.spec.volumes ?? [])
        .filter((volume) => volume.configMap?.name === FLAGS_CONFIG_MAP)
        .map((volume) => volume.name),
    );
    for (const container of pod.spec.containers) {
      if (!container.image.startsWith("tourmesh/")) continue;
      const where = `${nameOf(pod.workload)} container ${container.name}`;
      const file = envOf(container).get("FLAGS_FILE");
      const mounts = (container.volumeMounts ?? []).filter((mount) => flagVolumes.has(mount.name));
      if (file === undefined) {
        problems.push(`${where}: FLAGS_FILE is not set (it would read the image's copy of the flags)`);
        continue;
      }
      const mount = mounts.find(
        (candidate) => posix.join(candidate.mountPath, FLAGS_KEY) === posix.normalize(file),
      );
      if (!mount)
        problems.push(`${where}: FLAGS_FILE ${file} is not ${FLAGS_KEY} in a mount of ${FLAGS_CONFIG_MAP}`);
      else if (mount.subPath !== undefined)
        problems.push(
          `${where}: mounts ${FLAGS_CONFIG_MAP} with subPath, which never sees the ConfigMap change`,
        );
    }
  }
  return problems;
}
