/** Where the checks find what they read, from this folder's place in the repository (mesh/checks/). */
import { join } from "node:path";

export const repoRoot = join(import.meta.dirname, "..", "..");

/** The deployable overlays: one folder each, e.g. canary-90-10. */
export const overlaysDir = join(repoRoot, "mesh", "overlays");

/** The workspace's shared schemas, beside the repository (absent outside this workspace). */
export const sharedSchemasDir = join(repoRoot, "..", "shared", "schemas");
