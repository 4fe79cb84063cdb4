/** The deployable overlays of mesh/, rendered, and what the checks must know beyond the manifests. */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { generateClusterSecrets } from "./cluster-secrets.js";
import type { CheckOptions } from "./cross-checks.js";
import { type KubeObject, renderKustomization } from "./kustomize.js";
import { meshIdentity } from "./policy.js";
import { overlaysDir } from "./repo-paths.js";

/** Every folder of mesh/overlays, e.g. canary-90-10. */
export function overlayNames(): string[] {
  return readdirSync(overlaysDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
}

export function renderOverlay(name: string): KubeObject[] {
  return renderKustomization(join(overlaysDir, name));
}

/** What lies outside the manifests: the Secrets made at deploy time, viz's Prometheus, the public edge. */
export function clusterCheckOptions(): CheckOptions {
  return {
    externalSecrets: generateClusterSecrets(),
    externalIdentities: [meshIdentity("prometheus", "linkerd-viz")],
    publicServers: ["gateway-http"],
  };
}
