// The gate on breaking changes: the contracts in proto/ against the last released ones, which stay in the
// repository as a buf image (a FileDescriptorSet that buf reads offline), so a fresh clone and CI check alike.
//   tsx tools/breaking-changes.ts check     fails on any change that breaks the released contracts
//   tsx tools/breaking-changes.ts release   makes the current contracts the released ones
import { spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

/** The last released contracts, relative to the repository's root. */
export const releasedContracts = "proto/released/contracts.binpb";
const buf = resolve("node_modules/.bin/buf");

export interface BreakingChange {
  path: string;
  start_line: number;
  /** The buf rule broken, e.g. FIELD_NO_DELETE. */
  type: string;
  message: string;
}

/** The changes in the buf workspace at `workspace` that break the released contracts; none when it is safe. */
export function breakingChanges(workspace = "."): BreakingChange[] {
  const run = spawnSync(
    buf,
    ["breaking", "--against", resolve(releasedContracts), "--error-format", "json"],
    {
      cwd: workspace,
      encoding: "utf8",
    },
  );
  if (run.status === 0) return [];
  const changes = run.stdout
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as BreakingChange);
  if (changes.length === 0) throw new Error(`buf breaking failed: ${run.stderr}${run.stdout}`);
  return changes;
}

function main(command: string | undefined): number {
  if (command === "release") {
    const run = spawnSync(buf, ["build", "--exclude-source-info", "-o", releasedContracts], {
      stdio: "inherit",
    });
    return run.status ?? 1;
  }
  if (command !== "check") {
    console.error("usage: tsx tools/breaking-changes.ts check|release");
    return 2;
  }
  const changes = breakingChanges();
  for (const change of changes)
    console.error(`${change.path}:${change.start_line}: ${change.message} (${change.type})`);
  if (changes.length > 0) {
    console.error(`${changes.length} breaking changes against ${releasedContracts}`);
    return 1;
  }
  console.log("contracts: no breaking change against the released v1");
  return 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) process.exit(main(process.argv[2]));
